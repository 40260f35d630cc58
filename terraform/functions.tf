# The four functions: Cloud Run functions built by the Cloud Functions API from the source object
# in storage.tf, so that each image exists before its function runs, by construction
# (https://registry.terraform.io/providers/hashicorp/google/6.50.0/docs/resources/cloudfunctions2_function).
# A google_cloud_run_v2_service with a build_config would not do: that block only records how a
# function was built, no build starts, and the revision fails with "Image not found"
# (hashicorp/terraform-provider-google#22263, #23057). Each function runs as its own service
# account, is built by the build account into this deployment's own Artifact Registry
# repository, and scales to zero.
resource "google_cloudfunctions2_function" "fn" {
  for_each    = local.functions
  name        = "${var.name_prefix}-${each.value.slug}"
  location    = var.region
  description = "dbt-cloud-harvester ${each.key}"
  labels      = var.labels

  build_config {
    runtime           = "nodejs22"
    entry_point       = each.key
    service_account   = "projects/${var.project_id}/serviceAccounts/${local.accounts.build}"
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = local.accounts[each.key]
    environment_variables            = each.value.env
  }

  lifecycle {
    precondition {
      condition     = var.requests_per_minute * local.dbt_cloud_callers <= 5000
      error_message = "requests_per_minute x (harvest_max_instances + 2 x dispatch_max_instances) = ${var.requests_per_minute * local.dbt_cloud_callers} exceeds dbt Cloud's 5,000 requests a minute per account: lower one of them."
    }
    precondition {
      condition     = each.value.concurrency == 1 || each.value.cpu == null || try(tonumber(each.value.cpu) >= 1, false)
      error_message = "Cloud Run functions serve more than one request per instance only with at least one vCPU: set harvest_cpu to 1 or more, or harvest_concurrency to 1."
    }
  }

  depends_on = [
    time_sleep.apis_ready,
    time_sleep.grants_ready,
    google_pubsub_topic.runs,
    google_pubsub_topic.runs_stored,
  ]
}

# The images of the functions' builds. Old ones are removed; the newest few stay for rollbacks.
resource "google_artifact_registry_repository" "functions" {
  repository_id = "${var.name_prefix}-functions"
  location      = var.region
  format        = "DOCKER"
  description   = "dbt-cloud-harvester function images"
  labels        = var.labels

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [time_sleep.apis_ready]
}
