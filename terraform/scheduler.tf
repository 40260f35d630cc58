# Every hour at minute 10 (UTC), dispatchHourly harvests the previous full hour of the schedule
# time it is sent, so a retried attempt harvests the same hour.
resource "google_cloud_scheduler_job" "hourly" {
  name        = "${var.name_prefix}-hourly"
  region      = var.region
  description = "Fan out the previous hour's dbt Cloud runs to the harvester"
  schedule    = var.schedule
  time_zone   = "Etc/UTC"
  # Longer than the function's timeout, so that Scheduler never gives up on an attempt that is still
  # running and retries it on top (https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs).
  attempt_deadline = "${var.dispatch_timeout_seconds + 30}s"

  retry_config {
    retry_count          = 5
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
    max_doublings        = 4
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.fn["dispatchHourly"].service_config[0].uri

    oidc_token {
      service_account_email = local.accounts.scheduler
      audience              = google_cloudfunctions2_function.fn["dispatchHourly"].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.dispatch_invoker]
}
