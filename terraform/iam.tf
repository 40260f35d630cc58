# Least privilege: one service account per function and per caller, every grant on one resource.
#
# A user-managed service account's email follows from its id
# (https://cloud.google.com/iam/docs/service-accounts#user-managed), so every grant names its
# member outright: the plan shows each member and role before anything exists, and the grants wait
# for their accounts through depends_on.
locals {
  account_ids = merge(
    { for name, f in local.functions : name => "${var.name_prefix}-${f.slug}" },
    {
      receiveWebhook = "${var.name_prefix}-receive-webhook"
      scheduler      = "${var.name_prefix}-scheduler"
      push           = "${var.name_prefix}-push"
      build          = "${var.name_prefix}-build"
    },
  )
  accounts = { for key, id in local.account_ids : key => "${id}@${var.project_id}.iam.gserviceaccount.com" }
  # Topics and secrets by their full names, known before they exist.
  names = {
    runs_topic        = "${var.name_prefix}-runs"
    dead_letter_topic = "${var.name_prefix}-runs-dead-letter"
    token_secret      = "${var.name_prefix}-dbt-cloud-token"
    webhook_secret    = "${var.name_prefix}-dbt-cloud-webhook-secret"
  }
  runs_topic        = "projects/${var.project_id}/topics/${local.names.runs_topic}"
  dead_letter_topic = "projects/${var.project_id}/topics/${local.names.dead_letter_topic}"
  token_secret      = "projects/${var.project_id}/secrets/${local.names.token_secret}"
  webhook_secret    = "projects/${var.project_id}/secrets/${local.names.webhook_secret}"
}

resource "google_service_account" "fn" {
  for_each     = local.functions
  account_id   = local.account_ids[each.key]
  display_name = "dbt-cloud-harvester ${each.key}"
  depends_on   = [google_project_service.apis]
}

# Cloud Scheduler calls dispatchHourly as this account.
resource "google_service_account" "scheduler" {
  account_id   = local.account_ids.scheduler
  display_name = "dbt-cloud-harvester Cloud Scheduler caller"
  depends_on   = [google_project_service.apis]
}

# Pub/Sub pushes to harvestRun as this account.
resource "google_service_account" "push" {
  account_id   = local.account_ids.push
  display_name = "dbt-cloud-harvester Pub/Sub push caller"
  depends_on   = [google_project_service.apis]
}

# The functions' builds run as this account, not as the Compute Engine default account (which a
# secure-by-default project leaves without roles, and others make an Editor). It has what the
# Cloud Functions documentation lists for a custom build service account
# (https://cloud.google.com/functions/docs/securing/build-custom-sa): writing build logs, reading
# the source, pushing the image; the last two on this deployment's bucket and repository only.
resource "google_service_account" "build" {
  account_id   = local.account_ids.build
  display_name = "dbt-cloud-harvester function builds"
  depends_on   = [google_project_service.apis]
}

# Log writing cannot be granted on less than a project. The deployer may grant this role and no
# other (README: bootstrap).
resource "google_project_iam_member" "build_logs" {
  project    = var.project_id
  role       = "roles/logging.logWriter"
  member     = "serviceAccount:${local.accounts.build}"
  depends_on = [google_service_account.build]
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.repository_id
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${local.accounts.build}"
  depends_on = [google_service_account.build]
}

resource "google_storage_bucket_iam_member" "build_source_reader" {
  bucket     = google_storage_bucket.source.name
  role       = "roles/storage.objectViewer"
  member     = "serviceAccount:${local.accounts.build}"
  depends_on = [google_service_account.build]
}

# Each function reads the token secret at run time, and nothing else in Secret Manager.
resource "google_secret_manager_secret_iam_member" "token_reader" {
  for_each   = local.functions
  project    = var.project_id
  secret_id  = google_secret_manager_secret.token.secret_id
  role       = "roles/secretmanager.secretAccessor"
  member     = "serviceAccount:${local.accounts[each.key]}"
  depends_on = [google_service_account.fn]
}

# The dispatchers publish to the runs topic only.
resource "google_pubsub_topic_iam_member" "dispatch_publisher" {
  for_each   = toset(["dispatchHourly", "backfill"])
  project    = var.project_id
  topic      = google_pubsub_topic.runs.name
  role       = "roles/pubsub.publisher"
  member     = "serviceAccount:${local.accounts[each.value]}"
  depends_on = [google_service_account.fn]
}

# The harvester creates and reads objects in the artifacts bucket only. objectCreator has no
# storage.objects.delete, so it cannot overwrite (writes also carry ifGenerationMatch=0).
resource "google_storage_bucket_iam_member" "harvest_create" {
  bucket     = google_storage_bucket.artifacts.name
  role       = "roles/storage.objectCreator"
  member     = "serviceAccount:${local.accounts.harvestRun}"
  depends_on = [google_service_account.fn]
}

resource "google_storage_bucket_iam_member" "harvest_read" {
  bucket     = google_storage_bucket.artifacts.name
  role       = "roles/storage.objectViewer"
  member     = "serviceAccount:${local.accounts.harvestRun}"
  depends_on = [google_service_account.fn]
}

# run.invoker on each function's Cloud Run service (google_cloudfunctions2_function_iam_* rejects
# this role): the scheduler may call dispatchHourly, Pub/Sub may call harvestRun, and the
# configured people and tools may call backfill.
resource "google_cloud_run_v2_service_iam_member" "dispatch_invoker" {
  project    = var.project_id
  location   = var.region
  name       = google_cloudfunctions2_function.fn["dispatchHourly"].service_config[0].service
  role       = "roles/run.invoker"
  member     = "serviceAccount:${local.accounts.scheduler}"
  depends_on = [google_service_account.scheduler]
}

resource "google_cloud_run_v2_service_iam_member" "harvest_invoker" {
  project    = var.project_id
  location   = var.region
  name       = google_cloudfunctions2_function.fn["harvestRun"].service_config[0].service
  role       = "roles/run.invoker"
  member     = "serviceAccount:${local.accounts.push}"
  depends_on = [google_service_account.push]
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
  service_account_id = "projects/${var.project_id}/serviceAccounts/${local.accounts.push}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
  depends_on         = [google_service_account.push]
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letters.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.harvest.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
