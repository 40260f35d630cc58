# Alerts (docs/alerts.md): off until alert_sinks names a sink. Then harvestRun publishes each run
# stored to the runs-stored topic, which pushes to alertRun (OIDC, retry backoff, dead letters);
# alertRun reads the bucket and writes only its own records under _alerts/; each sink's secret is
# created here, its value added outside Terraform (never in the state), read at run time.
locals {
  alerts_enabled = length(var.alert_sinks) > 0
  alert_secret_ids = {
    slack     = "${var.name_prefix}-alerts-slack-webhook-url"
    teams     = "${var.name_prefix}-alerts-teams-webhook-url"
    webhook   = "${var.name_prefix}-alerts-webhook-secret"
    pagerduty = "${var.name_prefix}-alerts-pagerduty-routing-key"
  }
  alert_secret      = { for s, id in local.alert_secret_ids : s => "projects/${var.project_id}/secrets/${id}/versions/latest" }
  runs_stored_topic = "projects/${var.project_id}/topics/${var.name_prefix}-runs-stored"
  alert_env = merge(
    { ARTIFACTS_DESTINATION = local.destination, LOG_LEVEL = "INFO" },
    contains(var.alert_sinks, "slack") ? { ALERTS_SLACK_WEBHOOK_URL_SECRET = local.alert_secret.slack } : {},
    contains(var.alert_sinks, "teams") ? { ALERTS_TEAMS_WEBHOOK_URL_SECRET = local.alert_secret.teams } : {},
    contains(var.alert_sinks, "webhook") ? { ALERTS_WEBHOOK_URL = var.alert_webhook_url, ALERTS_WEBHOOK_SECRET_NAME = local.alert_secret.webhook } : {},
    contains(var.alert_sinks, "pagerduty") ? { ALERTS_PAGERDUTY_ROUTING_KEY_SECRET = local.alert_secret.pagerduty } : {},
    var.alert_settings,
  )
  # The records alertRun writes: _alerts/ under the destination's prefix.
  alerts_records = "projects/_/buckets/${local.bucket_name}/objects/${var.artifacts_prefix != "" ? "${var.artifacts_prefix}/" : ""}_alerts/"
}

resource "google_pubsub_topic" "runs_stored" {
  count      = local.alerts_enabled ? 1 : 0
  name       = "${var.name_prefix}-runs-stored"
  labels     = var.labels
  depends_on = [time_sleep.apis_ready]
}

resource "google_pubsub_topic" "runs_stored_dead_letters" {
  count      = local.alerts_enabled ? 1 : 0
  name       = "${var.name_prefix}-runs-stored-dead-letter"
  labels     = var.labels
  depends_on = [time_sleep.apis_ready]
}

resource "google_pubsub_subscription" "runs_stored_dead_letters" {
  count                      = local.alerts_enabled ? 1 : 0
  name                       = "${var.name_prefix}-runs-stored-dead-letter"
  topic                      = google_pubsub_topic.runs_stored_dead_letters[0].id
  message_retention_duration = var.dead_letter_retention
  ack_deadline_seconds       = 60
  labels                     = var.labels

  expiration_policy {
    ttl = ""
  }
}

# One push per run stored to alertRun. A sink that keeps failing (503) is retried with backoff up
# to ten minutes, then dead-lettered; `alerts send` delivers what was not.
resource "google_pubsub_subscription" "alert" {
  count                      = local.alerts_enabled ? 1 : 0
  name                       = "${var.name_prefix}-alert-push"
  topic                      = google_pubsub_topic.runs_stored[0].id
  ack_deadline_seconds       = 330
  message_retention_duration = "604800s"
  labels                     = var.labels

  push_config {
    push_endpoint = google_cloudfunctions2_function.fn["alertRun"].service_config[0].uri
    oidc_token {
      service_account_email = local.accounts.push
      audience              = google_cloudfunctions2_function.fn["alertRun"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = "projects/${var.project_id}/topics/${var.name_prefix}-runs-stored-dead-letter"
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_pubsub_topic.runs_stored_dead_letters, google_cloud_run_v2_service_iam_member.alert_invoker]
}

resource "google_secret_manager_secret" "alerts" {
  for_each  = toset(var.alert_sinks)
  secret_id = local.alert_secret_ids[each.value]
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [time_sleep.apis_ready]
}

resource "google_secret_manager_secret_iam_member" "alert_reader" {
  for_each   = toset(var.alert_sinks)
  project    = var.project_id
  secret_id  = google_secret_manager_secret.alerts[each.value].secret_id
  role       = "roles/secretmanager.secretAccessor"
  member     = "serviceAccount:${local.accounts.alertRun}"
  depends_on = [google_service_account.fn]
}

# alertRun reads the runs and their history rows, and creates objects only under _alerts/ (an IAM
# condition on the object's name; objectCreator cannot delete, so records are never overwritten).
resource "google_storage_bucket_iam_member" "alert_read" {
  count      = local.alerts_enabled ? 1 : 0
  bucket     = google_storage_bucket.artifacts.name
  role       = "roles/storage.objectViewer"
  member     = "serviceAccount:${local.accounts.alertRun}"
  depends_on = [google_service_account.fn]
}

resource "google_storage_bucket_iam_member" "alert_records" {
  count  = local.alerts_enabled ? 1 : 0
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${local.accounts.alertRun}"

  condition {
    title       = "alert-records-only"
    description = "Only alertRun's own records, under _alerts/"
    expression  = "resource.name.startsWith(\"${local.alerts_records}\")"
  }

  depends_on = [google_service_account.fn]
}

# harvestRun tells alertRun of each run stored.
resource "google_pubsub_topic_iam_member" "harvest_stored_publisher" {
  count      = local.alerts_enabled ? 1 : 0
  project    = var.project_id
  topic      = google_pubsub_topic.runs_stored[0].name
  role       = "roles/pubsub.publisher"
  member     = "serviceAccount:${local.accounts.harvestRun}"
  depends_on = [google_service_account.fn]
}

resource "google_cloud_run_v2_service_iam_member" "alert_invoker" {
  count      = local.alerts_enabled ? 1 : 0
  project    = var.project_id
  location   = var.region
  name       = google_cloudfunctions2_function.fn["alertRun"].service_config[0].service
  role       = "roles/run.invoker"
  member     = "serviceAccount:${local.accounts.push}"
  depends_on = [google_service_account.push]
}

# Pub/Sub's agent dead-letters alertRun's messages, as it does harvestRun's.
resource "google_pubsub_topic_iam_member" "alert_dead_letter_publisher" {
  count      = local.alerts_enabled ? 1 : 0
  project    = var.project_id
  topic      = google_pubsub_topic.runs_stored_dead_letters[0].name
  role       = "roles/pubsub.publisher"
  member     = local.pubsub_agent
  depends_on = [google_pubsub_subscription.alert]
}

resource "google_pubsub_subscription_iam_member" "alert_dead_letter_subscriber" {
  count        = local.alerts_enabled ? 1 : 0
  project      = var.project_id
  subscription = google_pubsub_subscription.alert[0].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
