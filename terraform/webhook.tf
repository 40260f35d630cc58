# receiveWebhook: dbt Cloud's signed webhooks turn a run that ended into a run message within seconds;
# the hourly dispatch stays the safety net. webhook_enabled = false leaves all of this out. The
# function itself is one of local.functions (main.tf), built and run like the other three.
#
# dbt Cloud calls without a Google identity, so the function's Cloud Run service must accept
# unauthenticated requests. The HMAC-SHA256 signature over each body is the gate: nothing is read,
# logged or published before it matches (README: Webhooks). How the service is opened
# (webhook_access):
# - "allUsers" (default): roles/run.invoker for allUsers on the function's Cloud Run service, as
#   `gcloud functions deploy --allow-unauthenticated` does and Cloud Run functions document
#   (https://cloud.google.com/functions/docs/securing/managing-access-iam#allowing_unauthenticated_http_function_invocation).
# - "no-invoker-check": for organisations that enforce domain restricted sharing
#   (iam.allowedPolicyMemberDomains), which refuses allUsers. Terraform grants nothing; the service's
#   invoker IAM check is disabled instead, which that policy allows and Cloud Run recommends
#   (https://cloud.google.com/run/docs/authenticating/public#invoker_check), with
#   `gcloud run services update SERVICE --no-invoker-iam-check` after each apply: Cloud Build's
#   webhook-access step runs it (cloudbuild.yaml), and the output webhook_access_command prints it.
#   Functions of the Cloud Functions v2 API are Cloud Run services, and Cloud Run's access guides
#   apply to them (https://cloud.google.com/functions/docs/securing/authenticating).
locals {
  webhook_count = var.webhook_enabled ? 1 : 0
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

  depends_on = [time_sleep.apis_ready]
}

# It publishes run messages and reads its secret; it never calls dbt Cloud, so it cannot read the token.
resource "google_pubsub_topic_iam_member" "webhook_publisher" {
  count      = local.webhook_count
  project    = var.project_id
  topic      = google_pubsub_topic.runs.name
  role       = "roles/pubsub.publisher"
  member     = "serviceAccount:${local.accounts.receiveWebhook}"
  depends_on = [google_service_account.fn]
}

resource "google_secret_manager_secret_iam_member" "webhook_reader" {
  count      = local.webhook_count
  project    = var.project_id
  secret_id  = google_secret_manager_secret.webhook[0].secret_id
  role       = "roles/secretmanager.secretAccessor"
  member     = "serviceAccount:${local.accounts.receiveWebhook}"
  depends_on = [google_service_account.fn]
}

resource "google_cloud_run_v2_service_iam_member" "webhook_public" {
  count    = var.webhook_enabled && var.webhook_access == "allUsers" ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["receiveWebhook"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
