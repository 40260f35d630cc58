data "google_project" "this" {
  project_id = var.project_id
}

locals {
  bucket_name     = var.bucket_name != "" ? var.bucket_name : "${var.project_id}-dbt-artifacts"
  bucket_location = var.bucket_location != "" ? var.bucket_location : var.region
  destination     = var.artifacts_prefix != "" ? "gs://${local.bucket_name}/${var.artifacts_prefix}" : "gs://${local.bucket_name}"
  pubsub_agent    = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Every function reads the same configuration (lib/config/options.ts); each adds what it alone
  # needs. The scope (account, project, environment, jobs, statuses) is every function's; the rest
  # is for those that call dbt Cloud. The token is read from Secret Manager at run time, so no
  # version has to exist to deploy.
  scope_env = merge(
    {
      DBT_CLOUD_ACCOUNT_ID      = tostring(var.dbt_cloud_account_id)
      HARVEST_INCLUDE_CANCELLED = tostring(var.include_cancelled)
      LOG_LEVEL                 = "INFO"
    },
    var.dbt_cloud_project_id == null ? {} : { DBT_CLOUD_PROJECT_ID = tostring(var.dbt_cloud_project_id) },
    var.dbt_cloud_environment_id == null ? {} : { DBT_CLOUD_ENVIRONMENT_ID = tostring(var.dbt_cloud_environment_id) },
    length(var.dbt_cloud_job_ids) == 0 ? {} : { HARVEST_JOB_IDS = join(",", [for id in var.dbt_cloud_job_ids : tostring(id)]) },
  )
  common_env = merge(local.scope_env, {
    DBT_CLOUD_HOST                = var.dbt_cloud_host
    DBT_CLOUD_TOKEN_SECRET        = "${local.token_secret}/versions/latest"
    HARVEST_ARTIFACTS             = join(",", var.harvest_artifacts)
    DBT_CLOUD_REQUESTS_PER_MINUTE = tostring(var.requests_per_minute)
  })

  # One entry per function of lib/cloud/functions.ts but receiveWebhook (webhook.tf; a test checks
  # they agree). Ingress: Cloud
  # Scheduler and Pub/Sub push of the same project count as internal traffic, so only backfill,
  # which people call, is reachable from outside (https://cloud.google.com/run/docs/securing/ingress).
  functions = {
    dispatchHourly = {
      slug          = "dispatch-hourly"
      memory        = var.dispatch_memory
      cpu           = null
      timeout       = var.dispatch_timeout_seconds
      max_instances = var.dispatch_max_instances
      concurrency   = 1
      ingress       = "ALLOW_INTERNAL_ONLY"
      env           = { RUNS_TOPIC = local.runs_topic }
    }
    backfill = {
      slug          = "backfill"
      memory        = var.dispatch_memory
      cpu           = null
      timeout       = var.dispatch_timeout_seconds
      max_instances = var.dispatch_max_instances
      concurrency   = 1
      ingress       = "ALLOW_ALL"
      env           = { RUNS_TOPIC = local.runs_topic, BACKFILL_MAX_DAYS = tostring(var.backfill_max_days) }
    }
    harvestRun = {
      slug          = "harvest-run"
      memory        = var.harvest_memory
      cpu           = var.harvest_cpu
      timeout       = var.harvest_timeout_seconds
      max_instances = var.harvest_max_instances
      concurrency   = var.harvest_concurrency
      ingress       = "ALLOW_INTERNAL_ONLY"
      env           = { ARTIFACTS_DESTINATION = local.destination }
    }
  }

  # Every instance that may call dbt Cloud, each limited to requests_per_minute.
  dbt_cloud_callers = var.harvest_max_instances + 2 * var.dispatch_max_instances
}
