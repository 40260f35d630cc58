# Least privilege: one service account per function and per caller, every grant on one resource.

resource "google_service_account" "fn" {
  for_each     = local.functions
  account_id   = "${var.name_prefix}-${each.value.slug}"
  display_name = "dbt-cloud-harvester ${each.key}"
  depends_on   = [google_project_service.apis]
}

# Cloud Scheduler calls dispatchHourly as this account.
resource "google_service_account" "scheduler" {
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "dbt-cloud-harvester Cloud Scheduler caller"
  depends_on   = [google_project_service.apis]
}

# Pub/Sub pushes to harvestRun as this account.
resource "google_service_account" "push" {
  account_id   = "${var.name_prefix}-push"
  display_name = "dbt-cloud-harvester Pub/Sub push caller"
  depends_on   = [google_project_service.apis]
}

# Each function reads the token secret, and nothing else in Secret Manager.
resource "google_secret_manager_secret_iam_member" "token_reader" {
  for_each  = local.functions
  secret_id = google_secret_manager_secret.token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# The dispatchers publish to the runs topic only.
resource "google_pubsub_topic_iam_member" "dispatch_publisher" {
  for_each = toset(["dispatchHourly", "backfill"])
  topic    = google_pubsub_topic.runs.id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.fn[each.value].email}"
}

# The harvester creates and reads objects in the artifacts bucket only. objectCreator has no
# storage.objects.delete, so it cannot overwrite (writes also carry ifGenerationMatch=0).
resource "google_storage_bucket_iam_member" "harvest_create" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.fn["harvestRun"].email}"
}

resource "google_storage_bucket_iam_member" "harvest_read" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.fn["harvestRun"].email}"
}

# run.invoker on each function's Cloud Run service (google_cloudfunctions2_function_iam_* rejects
# this role): the scheduler may call dispatchHourly, Pub/Sub may call harvestRun, and the
# configured people and tools may call backfill.
resource "google_cloud_run_v2_service_iam_member" "dispatch_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["dispatchHourly"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_v2_service_iam_member" "harvest_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["harvestRun"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

resource "google_cloud_run_v2_service_iam_member" "backfill_invoker" {
  for_each = toset(var.backfill_invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["backfill"].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

# The Pub/Sub service agent mints the push OIDC tokens, and dead-letters: it publishes to the
# dead-letter topic and acknowledges on the push subscription.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letters.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  subscription = google_pubsub_subscription.harvest.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
