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
      scheduler = "${var.name_prefix}-scheduler"
      push      = "${var.name_prefix}-push"
      build     = "${var.name_prefix}-build"
    },
  )
  accounts = { for key, id in local.account_ids : key => "${id}@${var.project_id}.iam.gserviceaccount.com" }
  # The account every apply runs as (deploy/bootstrap.sh creates it, named after the same prefix).
  deployer = var.deployer_service_account != "" ? var.deployer_service_account : "${var.name_prefix}-deployer@${var.project_id}.iam.gserviceaccount.com"
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
  # Cloud Run functions copy the source into this Google-managed bucket, and the build reads it
  # there (the build fails with "Access to bucket gcf-v2-sources-<number>-<region> denied. You must
  # grant Storage Object Viewer permission to <build account>" otherwise: hashicorp/terraform-provider-google#20571).
  function_sources_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

resource "google_service_account" "fn" {
  for_each     = local.functions
  account_id   = local.account_ids[each.key]
  display_name = "dbt-cloud-harvester ${each.key}"
  depends_on   = [time_sleep.apis_ready]
}

# Cloud Scheduler calls dispatchHourly as this account.
resource "google_service_account" "scheduler" {
  account_id   = local.account_ids.scheduler
  display_name = "dbt-cloud-harvester Cloud Scheduler caller"
  depends_on   = [time_sleep.apis_ready]
}

# Pub/Sub pushes to harvestRun as this account.
resource "google_service_account" "push" {
  account_id   = local.account_ids.push
  display_name = "dbt-cloud-harvester Pub/Sub push caller"
  depends_on   = [time_sleep.apis_ready]
}

# The functions' builds run as this account, not as the Compute Engine default account (which a
# secure-by-default project leaves without roles, and others make an Editor). It has what the
# Cloud Run functions documentation lists for a build service account
# (https://cloud.google.com/run/docs/configuring/services/build-service-account): writing build
# logs, pushing the image, reading the source; the last two narrowed to this deployment's
# repository and to the buckets the source is read from.
resource "google_service_account" "build" {
  account_id   = local.account_ids.build
  display_name = "dbt-cloud-harvester function builds"
  depends_on   = [time_sleep.apis_ready]
}

# Log writing cannot be granted on less than a project. The deployer may grant this role and the
# source read below, and no other, on the project (deploy/bootstrap.sh).
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

# The build reads the source from the Google-managed gcf-v2-sources bucket, which Cloud Run
# functions create with the first function, so it cannot be granted on before it exists: the grant
# is on the project, with an IAM condition on that bucket's resource name
# (https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name: Cloud Storage
# names buckets projects/_/buckets/B and objects projects/_/buckets/B/objects/O). With
# build_source_access = "project" the condition is left out, as the provider's build-account
# example grants it (cloudfunctions2_basic_builder), for projects where the condition should not
# match.
resource "google_project_iam_member" "build_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${local.accounts.build}"

  dynamic "condition" {
    for_each = var.build_source_access == "function-sources-bucket" ? [local.function_sources_bucket] : []
    content {
      title       = "function-sources-only"
      description = "Only the bucket Cloud Run functions copy the source into"
      expression  = "resource.name == \"projects/_/buckets/${condition.value}\" || resource.name.startsWith(\"projects/_/buckets/${condition.value}/\")"
    }
  }

  depends_on = [google_service_account.build]
}

# Deploying a resource that runs as a service account needs iam.serviceAccounts.actAs on that
# account (https://cloud.google.com/iam/docs/service-accounts-actas): the deployer holds it on the
# accounts of this deployment only, never on the project's other accounts.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each           = local.account_ids
  service_account_id = "projects/${var.project_id}/serviceAccounts/${local.accounts[each.key]}"
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${local.deployer}"
  depends_on         = [google_service_account.fn, google_service_account.scheduler, google_service_account.push, google_service_account.build]
}

# Each function that calls dbt Cloud reads the token secret at run time, and nothing else in
# Secret Manager.
resource "google_secret_manager_secret_iam_member" "token_reader" {
  for_each   = local.dbt_cloud_functions
  project    = var.project_id
  secret_id  = google_secret_manager_secret.token.secret_id
  role       = "roles/secretmanager.secretAccessor"
  member     = "serviceAccount:${local.accounts[each.value]}"
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

# IAM changes take effect within seconds to minutes
# (https://cloud.google.com/iam/docs/access-change-propagation): a build that starts before the
# build account's grants have propagated fails to read its source. The provider's build-account
# example waits 60 s (cloudfunctions2_basic_builder), which fails about half the time in its own
# tests (hashicorp/terraform-provider-google#20571); Google's fix for the same flake in the gen1
# test doubled it (GoogleCloudPlatform/magic-modules#11909), hence 120 s by default. The functions
# wait for every grant their build and their first start need.
resource "time_sleep" "grants_ready" {
  create_duration = var.propagation_wait
  depends_on = [
    google_project_iam_member.build_logs,
    google_project_iam_member.build_function_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_source_reader,
    google_service_account_iam_member.deployer_acts_as,
    google_secret_manager_secret_iam_member.token_reader,
    google_secret_manager_secret_iam_member.webhook_reader,
    google_pubsub_topic_iam_member.dispatch_publisher,
    google_pubsub_topic_iam_member.webhook_publisher,
    google_storage_bucket_iam_member.harvest_create,
    google_storage_bucket_iam_member.harvest_read,
    google_storage_bucket_iam_member.alert_read,
    google_storage_bucket_iam_member.alert_records,
    google_secret_manager_secret_iam_member.alert_reader,
    google_pubsub_topic_iam_member.harvest_stored_publisher,
  ]
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

# Pub/Sub mints the push OIDC tokens as the push account. Projects that enabled Pub/Sub on or
# before April 8, 2021 must let its service agent create tokens for that account; later projects
# need no grant (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
resource "google_service_account_iam_member" "pubsub_token_creator" {
  count              = var.pubsub_legacy_token_creator ? 1 : 0
  service_account_id = "projects/${var.project_id}/serviceAccounts/${local.accounts.push}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
  depends_on         = [google_service_account.push, google_pubsub_subscription.harvest]
}

# Dead-lettering: Pub/Sub's service agent publishes to the dead-letter topic and acknowledges on
# the push subscription (https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions).
# The agent is made by Pub/Sub for the project; these grants follow the subscription, by which
# time Pub/Sub has been used in the project.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project    = var.project_id
  topic      = google_pubsub_topic.dead_letters.name
  role       = "roles/pubsub.publisher"
  member     = local.pubsub_agent
  depends_on = [google_pubsub_subscription.harvest]
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.harvest.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
