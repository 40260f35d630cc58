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
  dbt_cloud_env = merge(local.scope_env, {
    DBT_CLOUD_HOST                = var.dbt_cloud_host
    DBT_CLOUD_TOKEN_SECRET        = "${local.token_secret}/versions/latest"
    HARVEST_ARTIFACTS             = join(",", var.harvest_artifacts)
    DBT_CLOUD_REQUESTS_PER_MINUTE = tostring(var.requests_per_minute)
  })

  # One entry per function of lib/cloud/functions.ts (a test checks they agree), all four Cloud
  # Run functions built from the same source (functions.tf). Ingress: Cloud Scheduler and Pub/Sub
  # push of the same project count as internal traffic, so only backfill, which people call, and
  # receiveWebhook, which dbt Cloud calls, are reachable from outside
  # (https://cloud.google.com/run/docs/securing/ingress).
  functions = merge(
    {
      dispatchHourly = {
        slug          = "dispatch-hourly"
        memory        = var.dispatch_memory
        cpu           = null
        timeout       = var.dispatch_timeout_seconds
        max_instances = var.dispatch_max_instances
        concurrency   = 1
        ingress       = "ALLOW_INTERNAL_ONLY"
        env           = merge(local.dbt_cloud_env, { RUNS_TOPIC = local.runs_topic })
        dbt_cloud     = true
      }
      backfill = {
        slug          = "backfill"
        memory        = var.dispatch_memory
        cpu           = null
        timeout       = var.dispatch_timeout_seconds
        max_instances = var.dispatch_max_instances
        concurrency   = 1
        ingress       = "ALLOW_ALL"
        env           = merge(local.dbt_cloud_env, { RUNS_TOPIC = local.runs_topic, BACKFILL_MAX_DAYS = tostring(var.backfill_max_days) })
        dbt_cloud     = true
      }
      harvestRun = {
        slug          = "harvest-run"
        memory        = var.harvest_memory
        cpu           = var.harvest_cpu
        timeout       = var.harvest_timeout_seconds
        max_instances = var.harvest_max_instances
        concurrency   = var.harvest_concurrency
        ingress       = "ALLOW_INTERNAL_ONLY"
        env           = merge(local.dbt_cloud_env, { ARTIFACTS_DESTINATION = local.destination }, local.alerts_enabled ? { RUN_STORED_TOPIC = local.runs_stored_topic } : {})
        dbt_cloud     = true
      }
    },
    # alerts.tf: only with a sink. It reads the bucket and sends; it never calls dbt Cloud.
    local.alerts_enabled ? {
      alertRun = {
        slug          = "alert-run"
        memory        = "512Mi"
        cpu           = null
        timeout       = 300
        max_instances = 5
        concurrency   = 1
        ingress       = "ALLOW_INTERNAL_ONLY"
        env           = local.alert_env
        dbt_cloud     = false
      }
    } : {},
    # It never calls dbt Cloud: no token, no host. dbt Cloud gives up on slow answers, and the
    # function answers as soon as the message is published.
    var.webhook_enabled ? {
      receiveWebhook = {
        slug          = "receive-webhook"
        memory        = "256Mi"
        cpu           = "1"
        timeout       = 30
        max_instances = var.webhook_max_instances
        concurrency   = 80
        ingress       = "ALLOW_ALL"
        env = merge(local.scope_env, {
          RUNS_TOPIC                    = local.runs_topic
          DBT_CLOUD_WEBHOOK_SECRET_NAME = "${local.webhook_secret}/versions/latest"
        })
        dbt_cloud = false
      }
    } : {},
  )
  # The functions that call dbt Cloud, and so read the token.
  dbt_cloud_functions = toset([for name, f in local.functions : name if f.dbt_cloud])

  # Every instance that may call dbt Cloud, each limited to requests_per_minute.
  dbt_cloud_callers = var.harvest_max_instances + 2 * var.dispatch_max_instances
}

# A getdbt.com host still works for now, but dbt deprecated the shared getdbt.com region URLs on
# 1 November 2026 ("may be degraded or inoperable" after; dbt docs: account-url-migration): every
# plan warns until the account's own access URL is set.
check "dbt_cloud_host_not_legacy" {
  assert {
    condition     = !can(regex("(^|[./])getdbt\\.com(:[0-9]+)?/?$", lower(var.dbt_cloud_host)))
    error_message = "dbt_cloud_host ${var.dbt_cloud_host} is a shared getdbt.com URL, deprecated since 1 November 2026: set your account's access URL, such as ab123.us1.dbt.com (in dbt: Account settings > Account information > Access URLs)."
  }
}
