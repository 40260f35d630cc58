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

locals {
  # The partitioned external tables: the same configuration, their own objects, layout and schema.
  step_partitions = "${local.destination}/{date:DATE}/{hour:INTEGER}/{job_id:INTEGER}/{run_id:INTEGER}/{step:INTEGER}"
  # BigQuery refuses to create a Hive-partitioned table while no object matches its layout ("Cannot
  # query hive partitioned data for table ... without any associated files"), and on a first apply
  # the bucket is empty. As Google's own sample seeds an object before its partitioned table
  # (terraform-docs-samples, bigquery/biglake/bigquery_create_partitioned_biglake_table/main.tf) and
  # the provider's acceptance test uploads one first (testAccBigQueryTableHivePartitioning), each
  # table gets one: in the partition date=1970-01-01, job 0, run 0, step 0, which no run has, and
  # holding `{}`, a row of nulls. No reader of the bucket takes it for a run: the harvester's readers
  # find runs by their _run.json and rows by their run_id=<id>.json name, which the seeds lack; the
  # views unnest lists the seeds do not have. (tested: test/integration/bigquery-tables.test.ts)
  seed_step = "date=1970-01-01/hour=00/job_id=0/run_id=0/step=0"
  partitioned_tables = {
    # One row per dbt command of a run; run_results.json has no field named like a partition key.
    run_results = {
      description = "One row per dbt command of a run: the <command>_run_results.json objects (dbt writes each on one line)."
      source_uri  = "${local.destination}/*_run_results.json"
      partitions  = local.step_partitions
      seed        = "${local.seed_step}/seed_run_results.json"
      schema = [
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
      ]
    }
    # Each dbt step's coverage.json (lib/core/coverage.ts).
    coverage = {
      description = "One row per dbt step with a manifest: the coverage.json summaries (documentation, test and unit-test coverage, per table where the step has a catalog)."
      source_uri  = "${local.destination}/*/coverage.json"
      partitions  = local.step_partitions
      seed        = "${local.seed_step}/coverage.json"
      schema = [
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
      ]
    }
    # The history's rows (one per run, written as the run is stored; lib/core/history-row.ts): run
    # health in one SELECT. Partitioned by the row's path (_history/rows/date=/job_id=/); a row's own
    # fields are camelCase (jobId), so none overlaps a partition key.
    run_history = {
      description = "One row per harvested run: status, duration, queue time, test, model and freshness counts, coverage (the history rollup's rows)."
      source_uri  = "${local.destination}/_history/rows/*.json"
      partitions  = "${local.destination}/_history/rows/{date:DATE}/{job_id:INTEGER}"
      seed        = "_history/rows/date=1970-01-01/job_id=0/seed.json"
      schema = [
        { name = "runId", type = "INTEGER" },
        { name = "jobId", type = "INTEGER" },
        { name = "jobName", type = "STRING" },
        { name = "projectId", type = "INTEGER" },
        { name = "environmentId", type = "INTEGER" },
        { name = "finishedAt", type = "TIMESTAMP" },
        { name = "status", type = "STRING" },
        { name = "durationSeconds", type = "FLOAT" },
        { name = "queuedSeconds", type = "FLOAT" },
        { name = "href", type = "STRING" },
        { name = "trigger", type = "STRING" },
        { name = "gitBranch", type = "STRING" },
        { name = "failedStep", type = "RECORD", fields = [{ name = "index", type = "INTEGER" }, { name = "name", type = "STRING" }] },
        { name = "tests", type = "RECORD", fields = [{ name = "pass", type = "INTEGER" }, { name = "fail", type = "INTEGER" }, { name = "warn", type = "INTEGER" }, { name = "error", type = "INTEGER" }, { name = "skipped", type = "INTEGER" }] },
        { name = "unitTests", type = "RECORD", fields = [{ name = "pass", type = "INTEGER" }, { name = "fail", type = "INTEGER" }, { name = "warn", type = "INTEGER" }, { name = "error", type = "INTEGER" }, { name = "skipped", type = "INTEGER" }] },
        { name = "models", type = "RECORD", fields = [{ name = "success", type = "INTEGER" }, { name = "error", type = "INTEGER" }, { name = "skipped", type = "INTEGER" }] },
        { name = "freshness", type = "RECORD", fields = [{ name = "pass", type = "INTEGER" }, { name = "warn", type = "INTEGER" }, { name = "error", type = "INTEGER" }] },
        { name = "cost", type = "RECORD", fields = [{ name = "bytesProcessed", type = "FLOAT" }, { name = "slotMs", type = "FLOAT" }] },
        { name = "modelCount", type = "INTEGER" },
      ]
    }
    # Each dbt step's summary.json (lib/core/run-facts.ts): every model's result and timing, the tests
    # that did not pass, every source's freshness. The views below flatten them.
    step_summaries = {
      description = "One row per dbt step with run results or freshness: the summary.json objects."
      source_uri  = "${local.destination}/*/summary.json"
      partitions  = local.step_partitions
      seed        = "${local.seed_step}/summary.json"
      schema = [
        { name = "schema_version", type = "INTEGER" },
        { name = "command", type = "STRING" },
        { name = "generated_at", type = "TIMESTAMP" },
        { name = "elapsed_seconds", type = "FLOAT" },
        { name = "models", type = "RECORD", mode = "REPEATED", fields = [
          { name = "id", type = "STRING" },
          { name = "status", type = "STRING" },
          { name = "seconds", type = "FLOAT" },
          { name = "bytes_processed", type = "FLOAT" },
          { name = "slot_ms", type = "FLOAT" },
        ] },
        { name = "tests", type = "RECORD", mode = "REPEATED", fields = [{ name = "id", type = "STRING" }, { name = "status", type = "STRING" }, { name = "message", type = "STRING" }] },
        { name = "sources", type = "RECORD", mode = "REPEATED", fields = [
          { name = "id", type = "STRING" },
          { name = "status", type = "STRING" },
          { name = "lag_seconds", type = "FLOAT" },
          { name = "max_loaded_at", type = "TIMESTAMP" },
        ] },
      ]
    }
  }

  # Views: one SELECT per question over step_summaries, one row per element of one of its arrays.
  step_summary_views = {
    # No-op and reused nodes did no work: their times are not model timings.
    model_timings = {
      description = "One row per model per dbt step that ran it: status, execution time, bytes processed and slot milliseconds (no-op, reused and skipped nodes left out)."
      query       = "SELECT s.date, s.hour, s.job_id, s.run_id, s.step, s.command, m.id AS model, m.status, m.seconds, m.bytes_processed, m.slot_ms FROM `${var.project_id}.${google_bigquery_dataset.artifacts.dataset_id}.${google_bigquery_table.partitioned["step_summaries"].table_id}` AS s, UNNEST(s.models) AS m WHERE m.status NOT IN ('no-op', 'reused', 'skipped')"
    }
    test_failures = {
      description = "One row per test or unit test that did not pass in a dbt step, with dbt's message."
      query       = "SELECT s.date, s.hour, s.job_id, s.run_id, s.step, s.command, t.id AS test, t.status, t.message FROM `${var.project_id}.${google_bigquery_dataset.artifacts.dataset_id}.${google_bigquery_table.partitioned["step_summaries"].table_id}` AS s, UNNEST(s.tests) AS t"
    }
    source_freshness = {
      description = "One row per source (and, from dbt freshness, model) per freshness check: status (pass, warn, error, runtime error) and lag in seconds."
      query       = "SELECT s.date, s.hour, s.job_id, s.run_id, s.step, f.id AS source, f.status, f.lag_seconds, f.max_loaded_at FROM `${var.project_id}.${google_bigquery_dataset.artifacts.dataset_id}.${google_bigquery_table.partitioned["step_summaries"].table_id}` AS s, UNNEST(s.sources) AS f"
    }
  }
}

# One object a partitioned table's layout matches, so that BigQuery can create the table on an
# empty bucket (above: seed_step).
resource "google_storage_bucket_object" "bigquery_seed" {
  for_each     = local.partitioned_tables
  bucket       = google_storage_bucket.artifacts.name
  name         = var.artifacts_prefix != "" ? "${var.artifacts_prefix}/${each.value.seed}" : each.value.seed
  content      = "{}\n"
  content_type = "application/json"
}

# Partitioned by the object path: a query must filter on a partition key (date, say), so that no
# query reads years of results by accident.
resource "google_bigquery_table" "partitioned" {
  for_each            = local.partitioned_tables
  dataset_id          = google_bigquery_dataset.artifacts.dataset_id
  table_id            = each.key
  description         = each.value.description
  deletion_protection = false
  labels              = var.labels

  external_data_configuration {
    source_format         = "NEWLINE_DELIMITED_JSON"
    autodetect            = false
    ignore_unknown_values = true
    max_bad_records       = 0
    source_uris           = [each.value.source_uri]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = each.value.partitions
      require_partition_filter = true
    }

    schema = jsonencode(each.value.schema)
  }

  depends_on = [google_storage_bucket_object.bigquery_seed]
}

# Each view reads a partitioned table, so a query on a view filters on `date` (the filter reaches
# the table through the view).
resource "google_bigquery_table" "step_summary_view" {
  for_each            = local.step_summary_views
  dataset_id          = google_bigquery_dataset.artifacts.dataset_id
  table_id            = each.key
  description         = each.value.description
  deletion_protection = false
  labels              = var.labels
  view {
    use_legacy_sql = false
    query          = each.value.query
  }
}

# Addresses before the tables shared one declaration.
moved {
  from = google_bigquery_table.run_results
  to   = google_bigquery_table.partitioned["run_results"]
}

moved {
  from = google_bigquery_table.coverage
  to   = google_bigquery_table.partitioned["coverage"]
}

moved {
  from = google_bigquery_table.run_history
  to   = google_bigquery_table.partitioned["run_history"]
}

moved {
  from = google_bigquery_table.step_summaries
  to   = google_bigquery_table.partitioned["step_summaries"]
}

moved {
  from = google_bigquery_table.model_timings
  to   = google_bigquery_table.step_summary_view["model_timings"]
}

moved {
  from = google_bigquery_table.test_failures
  to   = google_bigquery_table.step_summary_view["test_failures"]
}

moved {
  from = google_bigquery_table.source_freshness
  to   = google_bigquery_table.step_summary_view["source_freshness"]
}

# Fusion's per-step telemetry (metadata/telemetry-<step>-otel.parquet, stored under each step's
# folder): node outcomes, test outcomes and timings. Parquet describes itself, so BigQuery takes the
# columns from the files when it creates the table (https://cloud.google.com/bigquery/docs/external-data-cloud-storage):
# a seed of our own would fix the columns to a guess, so the table is made once real files exist
# (telemetry_table = true, after the first Fusion run with telemetry is stored).
resource "google_bigquery_table" "fusion_telemetry" {
  count               = var.telemetry_table ? 1 : 0
  dataset_id          = google_bigquery_dataset.artifacts.dataset_id
  table_id            = "fusion_telemetry"
  description         = "One row per OpenTelemetry record of a Fusion run's dbt step (the telemetry-<step>-otel.parquet files)."
  deletion_protection = false
  labels              = var.labels

  external_data_configuration {
    source_format = "PARQUET"
    autodetect    = true
    source_uris   = ["${local.destination}/*-otel.parquet"]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = local.step_partitions
      require_partition_filter = true
    }
  }
}
