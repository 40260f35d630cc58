resource "google_pubsub_topic" "runs" {
  name       = local.names.runs_topic
  labels     = var.labels
  depends_on = [time_sleep.apis_ready]
}

resource "google_pubsub_topic" "dead_letters" {
  name       = local.names.dead_letter_topic
  labels     = var.labels
  depends_on = [time_sleep.apis_ready]
}

# Dead letters stay here for inspection (README: Operations).
resource "google_pubsub_subscription" "dead_letters" {
  name                       = "${var.name_prefix}-runs-dead-letter"
  topic                      = google_pubsub_topic.dead_letters.id
  message_retention_duration = var.dead_letter_retention
  ack_deadline_seconds       = 60
  labels                     = var.labels

  expiration_policy {
    ttl = ""
  }
}

# One push per run to harvestRun, authenticated with an OIDC token. The ack deadline covers the
# function's timeout; failures back off up to ten minutes and then dead-letter.
resource "google_pubsub_subscription" "harvest" {
  name                       = "${var.name_prefix}-harvest-push"
  topic                      = google_pubsub_topic.runs.id
  ack_deadline_seconds       = min(600, var.harvest_timeout_seconds + 30)
  message_retention_duration = "604800s"
  labels                     = var.labels

  push_config {
    push_endpoint = google_cloudfunctions2_function.fn["harvestRun"].service_config[0].uri
    oidc_token {
      service_account_email = local.accounts.push
      audience              = google_cloudfunctions2_function.fn["harvestRun"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = local.dead_letter_topic
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_pubsub_topic.dead_letters, google_cloud_run_v2_service_iam_member.harvest_invoker]
}
