data "google_project" "this" {
  project_id = var.project_id
}

locals {
  bucket_name     = var.bucket_name != "" ? var.bucket_name : "${var.project_id}-dbt-artifacts"
  bucket_location = var.bucket_location != "" ? var.bucket_location : var.region
  destination     = var.artifacts_prefix != "" ? "gs://${local.bucket_name}/${var.artifacts_prefix}" : "gs://${local.bucket_name}"
  pubsub_agent    = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Every function reads the same configuration (lib/config.ts); each adds what it alone needs.
  common_env = merge(
    {
      DBT_CLOUD_ACCOUNT_ID          = tostring(var.dbt_cloud_account_id)
      DBT_CLOUD_HOST                = var.dbt_cloud_host
      HARVEST_ARTIFACTS             = join(",", var.harvest_artifacts)
      HARVEST_INCLUDE_CANCELLED     = tostring(var.include_cancelled)
      DBT_CLOUD_REQUESTS_PER_MINUTE = tostring(var.requests_per_minute)
      LOG_LEVEL                     = "INFO"
    },
    var.dbt_cloud_project_id == null ? {} : { DBT_CLOUD_PROJECT_ID = tostring(var.dbt_cloud_project_id) },
    var.dbt_cloud_environment_id == null ? {} : { DBT_CLOUD_ENVIRONMENT_ID = tostring(var.dbt_cloud_environment_id) },
  )

  functions = {
    dispatchHourly = {
      slug          = "dispatch-hourly"
      memory        = var.dispatch_memory
      timeout       = var.dispatch_timeout_seconds
      max_instances = var.dispatch_max_instances
      env           = { RUNS_TOPIC = google_pubsub_topic.runs.id }
    }
    backfill = {
      slug          = "backfill"
      memory        = var.dispatch_memory
      timeout       = var.dispatch_timeout_seconds
      max_instances = var.dispatch_max_instances
      env           = { RUNS_TOPIC = google_pubsub_topic.runs.id, BACKFILL_MAX_DAYS = tostring(var.backfill_max_days) }
    }
    harvestRun = {
      slug          = "harvest-run"
      memory        = var.harvest_memory
      timeout       = var.harvest_timeout_seconds
      max_instances = var.harvest_max_instances
      env           = { ARTIFACTS_DESTINATION = local.destination }
    }
  }
}
