# The artifact history: private, uniform access, append-only for the harvester. Manifests and
# catalogs, most of the bytes and read only by tools, grow colder with age; the small objects the
# BigQuery tables read (_run.json, run results) stay in STANDARD, so queries never pay cold-class
# retrieval and operation prices.
resource "google_storage_bucket" "artifacts" {
  name                        = local.bucket_name
  location                    = local.bucket_location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  dynamic "lifecycle_rule" {
    for_each = { for k, v in { NEARLINE = var.nearline_after_days, COLDLINE = var.coldline_after_days, ARCHIVE = var.archive_after_days } : k => v if v > 0 }
    content {
      condition {
        age            = lifecycle_rule.value
        matches_suffix = ["/manifest.json", "/catalog.json"]
      }
      action {
        type          = "SetStorageClass"
        storage_class = lifecycle_rule.key
      }
    }
  }

  depends_on = [time_sleep.apis_ready]
}

# The functions' source: one object, named after the zip's hash. A new hash makes a new object,
# which redeploys the functions, and Terraform deletes the previous object as it replaces it, so
# the bucket keeps the current source only. (No age-based delete rule: it would delete the current
# object too, and every later plan would upload it again.)
resource "google_storage_bucket" "source" {
  name                        = "${local.bucket_name}-source"
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  depends_on = [time_sleep.apis_ready]
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/${var.function_source_dir}"
  output_path = "${path.module}/build/function-source.zip"
}

resource "google_storage_bucket_object" "source" {
  name   = "function-source-${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
