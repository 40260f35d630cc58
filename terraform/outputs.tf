output "bucket" {
  description = "Where the artifacts are stored."
  value       = local.destination
}

output "runs_topic" {
  description = "The topic one message per run goes to."
  value       = google_pubsub_topic.runs.id
}

output "dead_letter_subscription" {
  description = "Where runs that could not be harvested wait for inspection."
  value       = google_pubsub_subscription.dead_letters.id
}

output "function_urls" {
  description = "The URL of each function."
  value       = { for k, f in google_cloudfunctions2_function.fn : k => f.service_config[0].uri }
}

output "token_secret" {
  description = "The Secret Manager secret that holds the dbt Cloud token (add its value with gcloud)."
  value       = google_secret_manager_secret.token.id
}

output "bigquery_dataset" {
  description = "The dataset with the runs and run_results external tables."
  value       = "${var.project_id}.${google_bigquery_dataset.artifacts.dataset_id}"
}

output "backfill_command" {
  description = "Backfills a window (as a member of backfill_invokers)."
  value       = "curl -sS -X POST '${google_cloudfunctions2_function.fn["backfill"].service_config[0].uri}' -H \"Authorization: Bearer $(gcloud auth print-identity-token)\" -H 'Content-Type: application/json' -d '{\"start\":\"2022-06-01T00:00:00Z\",\"end\":\"2022-06-02T00:00:00Z\",\"dryRun\":true}'"
}

output "webhook_url" {
  description = "receiveWebhook's URL, for dbt-harvester webhook register --url (null when webhook_enabled is false)."
  value       = var.webhook_enabled ? google_cloud_run_v2_service.webhook[0].uri : null
}

output "webhook_secret" {
  description = "The Secret Manager secret for the webhook subscription's secret (add its value with gcloud)."
  value       = var.webhook_enabled ? google_secret_manager_secret.webhook[0].id : null
}
