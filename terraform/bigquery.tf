# The history, queryable with no pipeline: external tables over the bucket. Analysts query with
# their own identity, so their own read access to the bucket applies.
#
# Hive partition keys may not also be fields of the files (BigQuery refuses the overlap:
# https://cloud.google.com/bigquery/docs/hive-partitioned-queries#limitations), and _run.json, the
# run object as dbt Cloud describes it, has a top-level job_id. So the runs table is not
# partitioned: it reads one small object per run, kept in STANDARD storage (storage.tf); filter on
# finished_at. The run results have no such field and are partitioned by their path; a query must
# filter on a partition key (date, say), so that no query reads years of results by accident.
resource "google_bigquery_dataset" "artifacts" {
  dataset_id  = var.bigquery_dataset_id
  location    = local.bucket_location
  description = "dbt Cloud run history harvested by dbt-cloud-harvester (external tables over ${local.destination})"
  labels      = var.labels
  depends_on  = [time_sleep.apis_ready]
}

resource "google_bigquery_table" "runs" {
  dataset_id          = google_bigquery_dataset.artifacts.dataset_id
  table_id            = "runs"
  description         = "One row per harvested run: the _run.json objects."
  deletion_protection = false
  labels              = var.labels

  external_data_configuration {
    source_format         = "NEWLINE_DELIMITED_JSON"
    autodetect            = false
    ignore_unknown_values = true
    source_uris           = ["${local.destination}/*/_run.json"]

    schema = jsonencode([
      { name = "id", type = "INTEGER" },
      { name = "account_id", type = "INTEGER" },
      { name = "project_id", type = "INTEGER" },
      { name = "environment_id", type = "INTEGER" },
      { name = "job_definition_id", type = "INTEGER" },
      { name = "trigger_id", type = "INTEGER" },
      { name = "status", type = "INTEGER" },
      { name = "status_humanized", type = "STRING" },
      { name = "status_message", type = "STRING" },
      { name = "dbt_version", type = "STRING" },
      { name = "git_sha", type = "STRING" },
      { name = "git_branch", type = "STRING" },
      { name = "is_success", type = "BOOLEAN" },
      { name = "is_error", type = "BOOLEAN" },
      { name = "is_cancelled", type = "BOOLEAN" },
      { name = "artifacts_saved", type = "BOOLEAN" },
      { name = "has_docs_generated", type = "BOOLEAN" },
      { name = "has_sources_generated", type = "BOOLEAN" },
      { name = "created_at", type = "TIMESTAMP" },
      { name = "started_at", type = "TIMESTAMP" },
      { name = "finished_at", type = "TIMESTAMP" },
      { name = "duration", type = "STRING" },
      { name = "href", type = "STRING" },
      { name = "trigger", type = "RECORD", fields = [{ name = "cause", type = "STRING" }, { name = "git_sha", type = "STRING" }, { name = "git_branch", type = "STRING" }] },
      { name = "job", type = "RECORD", fields = [{ name = "id", type = "INTEGER" }, { name = "name", type = "STRING" }, { name = "execute_steps", type = "STRING", mode = "REPEATED" }, { name = "generate_docs", type = "BOOLEAN" }, { name = "run_generate_sources", type = "BOOLEAN" }] },
      { name = "environment", type = "RECORD", fields = [{ name = "id", type = "INTEGER" }, { name = "name", type = "STRING" }, { name = "deployment_type", type = "STRING" }, { name = "dbt_version", type = "STRING" }] },
      { name = "run_steps", type = "RECORD", mode = "REPEATED", fields = [{ name = "index", type = "INTEGER" }, { name = "name", type = "STRING" }, { name = "status", type = "INTEGER" }, { name = "status_humanized", type = "STRING" }, { name = "started_at", type = "TIMESTAMP" }, { name = "finished_at", type = "TIMESTAMP" }] },
    ])
  }
}

resource "google_bigquery_table" "run_results" {
  dataset_id          = google_bigquery_dataset.artifacts.dataset_id
  table_id            = "run_results"
  description         = "One row per dbt command of a run: the <command>_run_results.json objects (dbt writes each on one line)."
  deletion_protection = false
  labels              = var.labels

  external_data_configuration {
    source_format         = "NEWLINE_DELIMITED_JSON"
    autodetect            = false
    ignore_unknown_values = true
    max_bad_records       = 0
    source_uris           = ["${local.destination}/*_run_results.json"]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = "${local.destination}/{date:DATE}/{hour:INTEGER}/{job_id:INTEGER}/{run_id:INTEGER}/{step:INTEGER}"
      require_partition_filter = true
    }

    schema = jsonencode([
      { name = "metadata", type = "RECORD", fields = [
        { name = "dbt_schema_version", type = "STRING" },
        { name = "dbt_version", type = "STRING" },
        { name = "generated_at", type = "TIMESTAMP" },
        { name = "invocation_id", type = "STRING" },
      ] },
      { name = "args", type = "RECORD", fields = [{ name = "which", type = "STRING" }, { name = "invocation_command", type = "STRING" }] },
      { name = "elapsed_time", type = "FLOAT" },
      { name = "results", type = "RECORD", mode = "REPEATED", fields = [
        { name = "unique_id", type = "STRING" },
        { name = "status", type = "STRING" },
        { name = "execution_time", type = "FLOAT" },
        { name = "failures", type = "INTEGER" },
        { name = "message", type = "STRING" },
        { name = "thread_id", type = "STRING" },
      ] },
    ])
  }
}

resource "google_bigquery_table" "coverage" {
  dataset_id          = google_bigquery_dataset.artifacts.dataset_id
  table_id            = "coverage"
  description         = "One row per dbt step with a manifest: the coverage.json summaries (documentation, test and unit-test coverage, per table where the step has a catalog)."
  deletion_protection = false
  labels              = var.labels

  external_data_configuration {
    source_format         = "NEWLINE_DELIMITED_JSON"
    autodetect            = false
    ignore_unknown_values = true
    max_bad_records       = 0
    source_uris           = ["${local.destination}/*/coverage.json"]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = "${local.destination}/{date:DATE}/{hour:INTEGER}/{job_id:INTEGER}/{run_id:INTEGER}/{step:INTEGER}"
      require_partition_filter = true
    }

    schema = jsonencode([
      { name = "schema_version", type = "INTEGER" },
      { name = "finished_at", type = "TIMESTAMP" },
      { name = "job_name", type = "STRING" },
      { name = "dbt_version", type = "STRING" },
      { name = "manifest_schema_version", type = "STRING" },
      { name = "project_name", type = "STRING" },
      { name = "generated_at", type = "TIMESTAMP" },
      { name = "models", type = "RECORD", fields = [
        { name = "total", type = "INTEGER" },
        { name = "documented", type = "INTEGER" },
        { name = "tested", type = "INTEGER" },
        { name = "tests", type = "INTEGER" },
        { name = "unit_tests", type = "INTEGER" },
        { name = "unit_tested", type = "INTEGER" },
      ] },
      { name = "doc", type = "RECORD", fields = [{ name = "covered", type = "INTEGER" }, { name = "total", type = "INTEGER" }, { name = "coverage", type = "FLOAT" }] },
      { name = "test", type = "RECORD", fields = [{ name = "covered", type = "INTEGER" }, { name = "total", type = "INTEGER" }, { name = "coverage", type = "FLOAT" }, { name = "hits", type = "INTEGER" }] },
      { name = "unit_test", type = "RECORD", fields = [{ name = "covered", type = "INTEGER" }, { name = "total", type = "INTEGER" }, { name = "coverage", type = "FLOAT" }, { name = "hits", type = "INTEGER" }] },
      { name = "tables", type = "RECORD", mode = "REPEATED", fields = [
        { name = "name", type = "STRING" },
        { name = "unique_id", type = "STRING" },
        { name = "resource_type", type = "STRING" },
        { name = "columns", type = "INTEGER" },
        { name = "documented", type = "INTEGER" },
        { name = "tested", type = "INTEGER" },
        { name = "tests", type = "INTEGER" },
        { name = "unit_tests", type = "INTEGER" },
      ] },
      { name = "unmatched_tables", type = "STRING", mode = "REPEATED" },
    ])
  }
}
