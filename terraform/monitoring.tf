# A message on the dead-letter subscription is a run that could not be harvested.
resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "${var.name_prefix}: dbt runs dead-lettered"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "Undelivered messages on ${google_pubsub_subscription.dead_letters.name}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letters.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Runs could not be harvested after ${var.max_delivery_attempts} deliveries. Read them with `gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letters.name} --limit 10` and see the harvestRun logs for their runId (README: Operations)."
  }

  depends_on = [time_sleep.apis_ready]
}

# The dispatchers answer 5xx when dbt Cloud or Pub/Sub fail; harvestRun answers 5xx while it retries.
resource "google_monitoring_alert_policy" "function_errors" {
  display_name          = "${var.name_prefix}: function errors"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "5xx answers of the dispatchers"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = one_of(\"${google_cloudfunctions2_function.fn["dispatchHourly"].name}\", \"${google_cloudfunctions2_function.fn["backfill"].name}\") AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  conditions {
    display_name = "Sustained 5xx answers of harvestRun"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.fn["harvestRun"].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 20
      duration        = "900s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  # receiveWebhook answers 503 while its secret has no version or Pub/Sub fails, and 401 when the
  # secret does not match the subscription's (a rotation half done). dbt Cloud gives up after five
  # retries; the hourly dispatch still harvests those runs, an hour later.
  dynamic "conditions" {
    for_each = var.webhook_enabled ? { "5xx" = "5xx answers of receiveWebhook (its secret unreadable, or Pub/Sub failing)", "4xx" = "4xx answers of receiveWebhook (signatures refused: is the secret the subscription's?)" } : {}
    content {
      display_name = conditions.value
      condition_threshold {
        filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.name_prefix}-receive-webhook\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"${conditions.key}\""
        comparison      = "COMPARISON_GT"
        threshold_value = 5
        duration        = "600s"
        aggregations {
          alignment_period   = "300s"
          per_series_aligner = "ALIGN_SUM"
        }
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "dbt Cloud, Pub/Sub or Cloud Storage is failing, or receiveWebhook refuses deliveries. See the functions' logs (severity>=WARNING) and README: Operations."
  }

  depends_on = [time_sleep.apis_ready]
}
