variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6 to 30 lowercase letters, digits and hyphens)."
  }
}

variable "region" {
  description = "Region of the functions, the scheduler job and the artifacts bucket (when bucket_location is empty)."
  type        = string
  default     = "europe-west1"
  validation {
    # Every region Google lists has this shape, two-digit ones included (europe-west10, europe-west12).
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]{1,2}$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or europe-west12 (not a zone or a multi-region)."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name. Service account ids are \"<prefix>-dispatch-hourly\" and the like, at most 30 characters, so the prefix has at most 14."
  type        = string
  default     = "dbt-harvester"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,12}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2 to 14 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (service account ids are at most 30 characters)."
  }
}

variable "labels" {
  description = "Labels put on every resource that takes them."
  type        = map(string)
  default     = { app = "dbt-cloud-harvester" }
}

# ---- dbt Cloud -----------------------------------------------------------------------------------

variable "dbt_cloud_account_id" {
  description = "dbt Cloud account id."
  type        = number
  validation {
    condition     = var.dbt_cloud_account_id > 0 && floor(var.dbt_cloud_account_id) == var.dbt_cloud_account_id
    error_message = "dbt_cloud_account_id must be a positive whole number."
  }
}

variable "dbt_cloud_host" {
  description = "The account's access URL, e.g. ab123.us1.dbt.com (in dbt: Account settings > Account information > Access URLs). Required: the shared getdbt.com region URLs were deprecated on 1 November 2026."
  type        = string
  validation {
    condition     = can(regex("^(https?://)?[A-Za-z0-9.-]+(:[0-9]+)?/?$", var.dbt_cloud_host))
    error_message = "dbt_cloud_host must be a host name or an http(s) base URL."
  }
}

variable "dbt_cloud_project_id" {
  description = "Harvest only this dbt Cloud project (null: every project)."
  type        = number
  default     = null
}

variable "dbt_cloud_environment_id" {
  description = "Harvest only this dbt Cloud environment (null: every environment)."
  type        = number
  default     = null
}

variable "dbt_cloud_job_ids" {
  description = "Harvest only these dbt Cloud jobs (empty: every job)."
  type        = list(number)
  default     = []
  validation {
    condition     = alltrue([for id in var.dbt_cloud_job_ids : id > 0 && floor(id) == id])
    error_message = "dbt_cloud_job_ids must be positive whole numbers."
  }
}

variable "harvest_artifacts" {
  description = "Artifacts harvested from every dbt step: [\"all\"] (every top-level JSON artifact a step writes, freshness.json and semantic_manifest.json included, and Fusion runs' telemetry), or an allow-list of file names in target/ and \"telemetry\"."
  type        = list(string)
  default     = ["all"]
  validation {
    condition     = join(",", var.harvest_artifacts) == "all" || (length(var.harvest_artifacts) > 0 && alltrue([for f in var.harvest_artifacts : can(regex("^([A-Za-z0-9_.-]+\\.json|telemetry)$", f))]))
    error_message = "harvest_artifacts must be [\"all\"], or list file names in target/ ending in .json, and telemetry."
  }
}

variable "include_cancelled" {
  description = "Also store cancelled runs."
  type        = bool
  default     = false
}

variable "requests_per_minute" {
  description = "Client-side dbt Cloud rate limit of each function instance. The account allows 5,000 a minute in all: this times every instance that may call dbt Cloud (harvest_max_instances + 2 x dispatch_max_instances) must stay under it, which the plan checks."
  type        = number
  default     = 400
  validation {
    condition     = var.requests_per_minute >= 10 && var.requests_per_minute <= 5000
    error_message = "requests_per_minute must be between 10 and 5000."
  }
}

# ---- storage -------------------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the artifacts bucket (empty: <project_id>-dbt-artifacts). The functions' source goes to <bucket_name>-source, so at most 56 characters."
  type        = string
  default     = ""
  validation {
    condition     = var.bucket_name == "" || can(regex("^[a-z0-9][a-z0-9_-]{1,54}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3 to 56 lowercase letters, digits, hyphens or underscores (without dots), so that <bucket_name>-source is a valid bucket name too."
  }
}

variable "bucket_location" {
  description = "Location of the artifacts bucket and the BigQuery dataset (empty: the region)."
  type        = string
  default     = ""
}

variable "artifacts_prefix" {
  description = "Object prefix inside the bucket (empty: the bucket root)."
  type        = string
  default     = "dbt"
  validation {
    condition     = can(regex("^([A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*)?$", var.artifacts_prefix))
    error_message = "artifacts_prefix must be path segments of letters, digits, _ and -, without leading or trailing slashes."
  }
}

variable "nearline_after_days" {
  description = "Move objects to NEARLINE after this many days (0: never)."
  type        = number
  default     = 30
  validation {
    condition     = var.nearline_after_days >= 0
    error_message = "nearline_after_days must be 0 or more."
  }
}

variable "coldline_after_days" {
  description = "Move objects to COLDLINE after this many days (0: never)."
  type        = number
  default     = 90
  validation {
    condition     = var.coldline_after_days >= 0
    error_message = "coldline_after_days must be 0 or more."
  }
}

variable "archive_after_days" {
  description = "Move objects to ARCHIVE after this many days (0: never)."
  type        = number
  default     = 365
  validation {
    condition     = var.archive_after_days >= 0
    error_message = "archive_after_days must be 0 or more."
  }
}

variable "function_source_dir" {
  description = "Folder with the packaged function source (npm run package:function writes build/function-source)."
  type        = string
  default     = "../build/function-source"
}

# ---- functions -----------------------------------------------------------------------------------

variable "harvest_memory" {
  description = "Memory of harvestRun. Artifacts are streamed, so memory does not grow with their size."
  type        = string
  default     = "512Mi"
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.harvest_memory))
    error_message = "harvest_memory must look like 512Mi or 1Gi."
  }
}

variable "dispatch_memory" {
  description = "Memory of dispatchHourly and backfill."
  type        = string
  default     = "256Mi"
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.dispatch_memory))
    error_message = "dispatch_memory must look like 256Mi or 1Gi."
  }
}

variable "harvest_concurrency" {
  description = "Runs one harvestRun instance harvests at once. Artifacts stream, so memory does not grow with their size; above 1, Cloud Run functions need at least one vCPU (harvest_cpu)."
  type        = number
  default     = 4
  validation {
    condition     = var.harvest_concurrency >= 1 && var.harvest_concurrency <= 16
    error_message = "harvest_concurrency must be between 1 and 16."
  }
}

variable "harvest_cpu" {
  description = "vCPUs of a harvestRun instance (at least 1 when harvest_concurrency is above 1)."
  type        = string
  default     = "1"
  validation {
    condition     = contains(["0.333", "0.5", "1", "2", "4"], var.harvest_cpu)
    error_message = "harvest_cpu must be one of 0.333, 0.5, 1, 2, 4."
  }
}

variable "harvest_timeout_seconds" {
  description = "Timeout of harvestRun. The push subscription's ack deadline covers it, so it is at most 600."
  type        = number
  default     = 540
  validation {
    condition     = var.harvest_timeout_seconds >= 60 && var.harvest_timeout_seconds <= 600
    error_message = "harvest_timeout_seconds must be between 60 and 600 (Pub/Sub's longest ack deadline)."
  }
}

variable "dispatch_timeout_seconds" {
  description = "Timeout of dispatchHourly and backfill. Cloud Scheduler waits 30 s longer, and at most 1800 s."
  type        = number
  default     = 300
  validation {
    condition     = var.dispatch_timeout_seconds >= 30 && var.dispatch_timeout_seconds <= 1770
    error_message = "dispatch_timeout_seconds must be between 30 and 1770: Cloud Scheduler's attempt deadline (at most 1800 s) must exceed it."
  }
}

variable "harvest_max_instances" {
  description = "Maximum harvestRun instances (each handles one run at a time)."
  type        = number
  default     = 10
  validation {
    condition     = var.harvest_max_instances >= 1 && var.harvest_max_instances <= 1000
    error_message = "harvest_max_instances must be between 1 and 1000."
  }
}

variable "dispatch_max_instances" {
  description = "Maximum instances of each dispatcher."
  type        = number
  default     = 1
  validation {
    condition     = var.dispatch_max_instances >= 1 && var.dispatch_max_instances <= 100
    error_message = "dispatch_max_instances must be between 1 and 100."
  }
}

variable "backfill_max_days" {
  description = "The longest window one backfill request accepts."
  type        = number
  default     = 31
  validation {
    condition     = var.backfill_max_days >= 1 && var.backfill_max_days <= 366
    error_message = "backfill_max_days must be between 1 and 366."
  }
}

variable "backfill_invokers" {
  description = "Members allowed to call backfill, e.g. [\"group:data-platform@example.com\", \"serviceAccount:ci@p.iam.gserviceaccount.com\"]."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for m in var.backfill_invokers : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):", m))])
    error_message = "backfill_invokers must be IAM members such as group:x@example.com; allUsers and allAuthenticatedUsers are not allowed."
  }
}

variable "webhook_enabled" {
  description = "Deploy receiveWebhook, which harvests each run seconds after it ends from dbt Cloud's signed webhooks (README: Webhooks). Off: runs arrive with the hourly dispatch only."
  type        = bool
  default     = true
}

variable "webhook_access" {
  description = "How receiveWebhook, which dbt Cloud calls without a Google identity, is opened (its HMAC signature is the gate): \"allUsers\" grants roles/run.invoker to allUsers on its Cloud Run service; \"no-invoker-check\", for organisations enforcing domain restricted sharing (which refuses allUsers), grants nothing and has the service's invoker IAM check disabled after each apply (README: Webhooks)."
  type        = string
  default     = "allUsers"
  validation {
    condition     = contains(["allUsers", "no-invoker-check"], var.webhook_access)
    error_message = "webhook_access must be \"allUsers\" or \"no-invoker-check\"."
  }
}

variable "webhook_max_instances" {
  description = "Maximum receiveWebhook instances (each answers up to 80 deliveries at once)."
  type        = number
  default     = 5
  validation {
    condition     = var.webhook_max_instances >= 1 && var.webhook_max_instances <= 100
    error_message = "webhook_max_instances must be between 1 and 100."
  }
}

# ---- scheduling and delivery ---------------------------------------------------------------------

variable "schedule" {
  description = "Cron of the hourly dispatcher, in UTC. Minute 10 leaves runs that finished just before the hour time to save their artifacts."
  type        = string
  default     = "10 * * * *"
}

variable "max_delivery_attempts" {
  description = "Deliveries of a run message before it goes to the dead-letter topic. Cloud Run's 429s while saturated count as attempts too: with the retry backoff (10 s doubling to 600 s), 100 attempts span about 16 hours, several times what a 31-day backfill takes to drain (README: capacity)."
  type        = number
  default     = 100
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "dead_letter_retention" {
  description = "How long dead letters are kept for inspection: Pub/Sub accepts 10 minutes to 31 days."
  type        = string
  default     = "1209600s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_retention)) && try(tonumber(trimsuffix(var.dead_letter_retention, "s")) >= 600 && tonumber(trimsuffix(var.dead_letter_retention, "s")) <= 2678400, false)
    error_message = "dead_letter_retention must be seconds between 600s and 2678400s (31 days), such as 1209600s."
  }
}

# ---- analysis and alerting -----------------------------------------------------------------------

variable "bigquery_dataset_id" {
  description = "BigQuery dataset with the external tables over the bucket."
  type        = string
  default     = "dbt_artifacts"
  validation {
    # Terraform's regular expressions allow at most 1000 repetitions: the length is checked apart.
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.bigquery_dataset_id)) && length(var.bigquery_dataset_id) <= 1024
    error_message = "bigquery_dataset_id must be 1 to 1024 letters, digits and underscores, not starting with a digit."
  }
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) for the alerts."
  type        = list(string)
  default     = []
}

# ---- deployment ----------------------------------------------------------------------------------

variable "deployer_service_account" {
  description = "The service account every apply runs as (empty: \"<name_prefix>-deployer@<project_id>.iam.gserviceaccount.com\", which deploy/bootstrap.sh creates). It is granted roles/iam.serviceAccountUser on this deployment's accounts only."
  type        = string
  default     = ""
  validation {
    condition     = var.deployer_service_account == "" || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", var.deployer_service_account))
    error_message = "deployer_service_account must be a service account email such as dbt-harvester-deployer@my-project.iam.gserviceaccount.com."
  }
}

variable "build_source_access" {
  description = "How the build account reads the function source Cloud Run functions copy into gcf-v2-sources-<project number>-<region>: \"function-sources-bucket\" (a project grant conditioned on that bucket) or \"project\" (unconditioned, as the provider's build-account example grants it)."
  type        = string
  default     = "function-sources-bucket"
  validation {
    condition     = contains(["function-sources-bucket", "project"], var.build_source_access)
    error_message = "build_source_access must be \"function-sources-bucket\" or \"project\"."
  }
}

variable "pubsub_legacy_token_creator" {
  description = "Grant Pub/Sub's service agent roles/iam.serviceAccountTokenCreator on the push account: needed only in projects that enabled Pub/Sub on or before April 8, 2021."
  type        = bool
  default     = false
}

variable "propagation_wait" {
  description = "How long the apply waits after enabling APIs and after granting roles before using them (they take effect seconds to minutes later). 60s fails about half the time in the provider's own build-account example (hashicorp/terraform-provider-google#20571); Google doubled it to 120s for the same flake (GoogleCloudPlatform/magic-modules#11909)."
  type        = string
  default     = "120s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.propagation_wait))
    error_message = "propagation_wait must be seconds, such as 120s."
  }
}

variable "telemetry_table" {
  description = "Create the BigQuery external table fusion_telemetry over Fusion runs' telemetry Parquet files. Leave false until a Fusion run with telemetry has been stored: BigQuery takes a Parquet table's columns from its files when it creates it, and cannot create a partitioned one over none (README: Querying the history)."
  type        = bool
  default     = false
}

# ---- alerts (docs/alerts.md) ----------------------------------------------------------------------

variable "alert_sinks" {
  description = "Where alerts go: any of slack, teams, webhook, pagerduty (each gets a secret to add its URL or key to). Empty, the default: alerts off, no alertRun."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for s in var.alert_sinks : contains(["slack", "teams", "webhook", "pagerduty"], s)])
    error_message = "alert_sinks takes slack, teams, webhook and pagerduty."
  }
}

variable "alert_webhook_url" {
  description = "The generic webhook's https URL, when alert_sinks has webhook (its signing key goes in the secret <name_prefix>-alerts-webhook-secret)."
  type        = string
  default     = ""
  validation {
    condition     = var.alert_webhook_url == "" || startswith(var.alert_webhook_url, "https://")
    error_message = "alert_webhook_url must be an https URL."
  }
}

variable "alert_settings" {
  description = "Other ALERTS_* settings of alertRun (docs/alerts.md), such as { ALERTS_SLOWER_RATIO = \"2\" }."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.alert_settings) : contains(["ALERTS_RULES", "ALERTS_INCLUDE_WARN", "ALERTS_SLOWER_RATIO", "ALERTS_SLOWER_SECONDS", "ALERTS_MAX_MESSAGES"], k)])
    error_message = "alert_settings takes ALERTS_RULES, ALERTS_INCLUDE_WARN, ALERTS_SLOWER_RATIO, ALERTS_SLOWER_SECONDS and ALERTS_MAX_MESSAGES."
  }
}
