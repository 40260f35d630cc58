# receiveWebhook: dbt Cloud's signed webhooks turn a run that ended into a run message within seconds;
# the hourly dispatch stays the safety net. webhook_enabled = false leaves all of this out.
#
# dbt Cloud calls without a Google identity, so the service must accept unauthenticated requests.
# Granting run.invoker to allUsers fails under the "domain restricted sharing" organisation policy
# (iam.allowedPolicyMemberDomains), which most companies set; disabling the invoker IAM check of
# this one service works under it (https://cloud.google.com/run/docs/securing/managing-access#invoker_check,
# https://cloud.google.com/run/docs/authenticating/public#domain-restricted-sharing). A Cloud Run
# functions resource cannot disable the check, so the function is a Cloud Run service built from
# the same source (the provider's example "cloudrunv2_service_function",
# https://registry.terraform.io/providers/hashicorp/google/6.50.0/docs/resources/cloud_run_v2_service). The HMAC-SHA256
# signature over each body is the gate: nothing is read, logged or published before it matches.
# An organisation that also enforces run.managed.requireInvokerIam must exempt this service or set
# webhook_enabled = false.
locals {
  webhook_count = var.webhook_enabled ? 1 : 0
  webhook_image = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.functions.repository_id}/receive-webhook"
  # Cloud Run's Node.js 22 base image of the region (https://cloud.google.com/run/docs/configuring/services/runtime-base-images).
  webhook_base_image = "${var.region}-docker.pkg.dev/serverless-runtimes/google-22-full/runtimes/nodejs22"
  webhook_env = merge(local.scope_env, {
    RUNS_TOPIC                    = local.runs_topic
    DBT_CLOUD_WEBHOOK_SECRET_NAME = "${local.webhook_secret}/versions/latest"
  })
}

# The secret dbt Cloud signs deliveries with. Its value comes from `dbt-harvester webhook register`
# and is added by hand (README: Webhooks), so it never enters the state; until then the function
# answers 503 and dbt Cloud retries.
resource "google_secret_manager_secret" "webhook" {
  count     = local.webhook_count
  secret_id = local.names.webhook_secret
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "webhook" {
  count        = local.webhook_count
  account_id   = local.account_ids.receiveWebhook
  display_name = "dbt-cloud-harvester receiveWebhook"
  depends_on   = [google_project_service.apis]
}

# It publishes run messages and reads its secret; it never calls dbt Cloud, so it cannot read the token.
resource "google_pubsub_topic_iam_member" "webhook_publisher" {
  count      = local.webhook_count
  project    = var.project_id
  topic      = google_pubsub_topic.runs.name
  role       = "roles/pubsub.publisher"
  member     = "serviceAccount:${local.accounts.receiveWebhook}"
  depends_on = [google_service_account.webhook]
}

resource "google_secret_manager_secret_iam_member" "webhook_reader" {
  count      = local.webhook_count
  project    = var.project_id
  secret_id  = google_secret_manager_secret.webhook[0].secret_id
  role       = "roles/secretmanager.secretAccessor"
  member     = "serviceAccount:${local.accounts.receiveWebhook}"
  depends_on = [google_service_account.webhook]
}

resource "google_cloud_run_v2_service" "webhook" {
  count                = local.webhook_count
  name                 = "${var.name_prefix}-receive-webhook"
  location             = var.region
  description          = "dbt-cloud-harvester receiveWebhook"
  labels               = var.labels
  ingress              = "INGRESS_TRAFFIC_ALL"
  invoker_iam_disabled = true
  deletion_protection  = false

  # Built from the functions' source like the other three, by the same build account, into the same
  # repository; a new source object (its name carries the zip's hash) rebuilds it.
  build_config {
    source_location          = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
    function_target          = "receiveWebhook"
    image_uri                = local.webhook_image
    base_image               = local.webhook_base_image
    enable_automatic_updates = true
    service_account          = "projects/${var.project_id}/serviceAccounts/${local.accounts.build}"
  }

  template {
    service_account                  = local.accounts.receiveWebhook
    max_instance_request_concurrency = 80
    # dbt Cloud gives up on slow answers: the function answers as soon as the message is published.
    timeout = "30s"

    scaling {
      min_instance_count = 0
      max_instance_count = var.webhook_max_instances
    }

    containers {
      image          = local.webhook_image
      base_image_uri = local.webhook_base_image

      resources {
        limits   = { cpu = "1", memory = "256Mi" }
        cpu_idle = true
      }

      dynamic "env" {
        for_each = local.webhook_env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  depends_on = [
    google_project_service.apis,
    google_service_account.webhook,
    google_pubsub_topic.runs,
    google_pubsub_topic_iam_member.webhook_publisher,
    google_secret_manager_secret_iam_member.webhook_reader,
    google_project_iam_member.build_logs,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_source_reader,
  ]
}
