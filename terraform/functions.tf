# The three gen2 functions, each with its own service account, scaling to zero.
resource "google_cloudfunctions2_function" "fn" {
  for_each    = local.functions
  name        = "${var.name_prefix}-${each.value.slug}"
  location    = var.region
  description = "dbt-cloud-harvester ${each.key}"
  labels      = var.labels

  build_config {
    runtime     = "nodejs22"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    timeout_seconds                  = each.value.timeout
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.fn[each.key].email
    environment_variables            = merge(local.common_env, each.value.env)

    secret_environment_variables {
      key        = "DBT_CLOUD_TOKEN"
      project_id = var.project_id
      secret     = google_secret_manager_secret.token.secret_id
      version    = "latest"
    }
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.token_reader,
  ]
}
