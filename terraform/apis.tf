locals {
  apis = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# An API answers "has not been used in project ... or it is disabled" for a while after it was
# enabled (https://cloud.google.com/service-usage/docs/enable-disable): everything that uses one
# waits on this rather than on the enablement itself, as the provider's examples for a fresh
# project do (time_sleep after google_project_service, e.g. in
# https://registry.terraform.io/providers/hashicorp/google/6.50.0/docs/resources/cloudfunctions2_function).
resource "time_sleep" "apis_ready" {
  create_duration = var.propagation_wait
  depends_on      = [google_project_service.apis]
}
