# Terraform creates the secret only. Its value is added outside Terraform so that the token never
# enters the state (README: gcloud secrets versions add).
resource "google_secret_manager_secret" "token" {
  secret_id = local.names.token_secret
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [time_sleep.apis_ready]
}
