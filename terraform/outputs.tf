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
  value       = var.webhook_enabled ? google_cloudfunctions2_function.fn["receiveWebhook"].service_config[0].uri : null
}

output "webhook_secret" {
  description = "The Secret Manager secret for the webhook subscription's secret (add its value with gcloud)."
  value       = var.webhook_enabled ? google_secret_manager_secret.webhook[0].id : null
}

output "webhook_access" {
  description = "How receiveWebhook accepts dbt Cloud's unauthenticated calls: allUsers, or no-invoker-check (null when webhook_enabled is false)."
  value       = var.webhook_enabled ? var.webhook_access : null
}

output "webhook_service" {
  description = "receiveWebhook's Cloud Run service (null when webhook_enabled is false)."
  value       = var.webhook_enabled ? google_cloudfunctions2_function.fn["receiveWebhook"].service_config[0].service : null
}

output "name_prefix" {
  description = "The prefix of every resource name, for dbt-harvester deploy verify --name-prefix."
  value       = var.name_prefix
}

output "bigquery_dataset_id" {
  description = "The BigQuery dataset's id, for dbt-harvester deploy verify --dataset."
  value       = google_bigquery_dataset.artifacts.dataset_id
}

output "region" {
  description = "The region of the functions and the scheduler job."
  value       = var.region
}

output "webhook_access_command" {
  description = "With webhook_access = no-invoker-check: the command that disables receiveWebhook's invoker check, to run after each apply (Cloud Build runs it). Null otherwise."
  value       = var.webhook_enabled && var.webhook_access == "no-invoker-check" ? "gcloud run services update ${google_cloudfunctions2_function.fn["receiveWebhook"].service_config[0].service} --project=${var.project_id} --region=${var.region} --no-invoker-iam-check" : null
}
