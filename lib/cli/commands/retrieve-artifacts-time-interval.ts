/**
 * retrieve-artifacts-time-interval: every run that finished in [start, end), with its artifacts,
 * into a folder or a bucket.
 * @module
 */
import { resolve } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { connectDbtCloud } from '../../harvest/connect.ts';
import { scopeOf } from '../../core/select.ts';
import { harvestWindow, type WindowSummary } from '../../harvest/window.ts';
import { openSink } from '../../sinks/index.ts';
import { Usage, cliLogger, type Command } from '../command.ts';

export const retrieveArtifactsTimeInterval: Command = {
  name: 'retrieve-artifacts-time-interval',
  summary: 'store every run that finished in a window, with its artifacts',
  usage: `--start-time T --end-time T
         (--output-folder DIR | --gcs-bucket-name BUCKET [--output-folder PREFIX])
         [--concurrency N] [--include-cancelled] [--job-ids J,J]`,
  description: `Stores every run that finished in [start, end) with its artifacts, one folder per run:
  date=YYYY-MM-DD/hour=HH/job_id=J/run_id=R/_run.json and .../step=N/<file>
Runs already stored are skipped, so the command can be repeated safely.
Exit status: 0 all stored or already stored; 1 some runs failed or were not ready (named on stderr); 2 bad usage.`,
  dbtCloud: true,
  settings: ['concurrency', 'includeCancelled', 'jobIds'],
  args: {
    'start-time': { type: 'string', placeholder: 'T', describe: 'ISO-8601; no offset means UTC (2022-06-01T00:00:00)' },
    'end-time': { type: 'string', placeholder: 'T', describe: 'the end, excluded' },
    'output-folder': {
      type: 'string',
      placeholder: 'DIR',
      describe: 'a local folder, or the object prefix with --gcs-bucket-name',
    },
    'gcs-bucket-name': {
      type: 'string',
      placeholder: 'BUCKET',
      describe: 'store in gs://BUCKET instead (application default credentials)',
    },
  },
  positionals: false,
  async run({ io, flags }) {
    const usage = new Usage();
    const start = usage.time('start-time', flags['start-time']);
    const end = usage.time('end-time', flags['end-time']);
    if (start && end)
      usage.check(
        start.getTime() < end.getTime(),
        `--start-time (${start.toISOString()}) must be before --end-time (${end.toISOString()})`,
      );
    const folder = typeof flags['output-folder'] === 'string' ? flags['output-folder'] : undefined;
    const bucket = typeof flags['gcs-bucket-name'] === 'string' ? flags['gcs-bucket-name'] : undefined;
    const destination = bucket
      ? `gs://${bucket}${folder ? `/${folder.replace(/^\/+/, '')}` : ''}`
      : folder
        ? resolve(folder)
        : undefined;
    const config = loadConfig({
      env: io.env,
      flags,
      values: destination
        ? { destination: { text: destination, label: bucket ? '--gcs-bucket-name' : '--output-folder' } }
        : {},
      needs: ['dbtCloud', 'destination'],
      missing: {
        destination: 'say where to store: --output-folder DIR, or --gcs-bucket-name BUCKET [--output-folder PREFIX]',
      },
      problems: usage.problems,
    });
    const logger = cliLogger(io, config);
    const sink = await openSink(config.destination, { storageApiEndpoint: config.storageApiEndpoint });
    const client = connectDbtCloud(config.dbtCloud, { logger, userAgent: 'dbt-cloud-harvester-cli' });
    const progress = io.isTTY
      ? (done: number, total: number, s: WindowSummary) =>
          io.stderr(
            `\r${done}/${total} runs: ${s.stored} stored, ${s.skipped} skipped, ${s.notReady} not ready, ${s.failed} failed, ${(s.bytes / 1048576).toFixed(1)} MiB `,
          )
      : undefined;
    try {
      const summary = await harvestWindow(
        { start: start!, end: end! },
        { client, sink, artifacts: config.artifacts, coverage: config.coverage, logger, filter: scopeOf(config) },
        { concurrency: config.concurrency, onProgress: progress },
      );
      if (io.isTTY) io.stderr('\n');
      const { failures, notReadyRuns, invalidRowDetails, listingError, ...counts } = summary;
      io.stdout(
        `${JSON.stringify({
          destination: sink.description,
          ...counts,
          requests: client.transport.stats.requests,
          retries: client.transport.stats.retries,
        })}\n`,
      );
      for (const f of failures) io.stderr(`run ${f.runId}${f.jobId ? ` (job ${f.jobId})` : ''} failed: ${f.error}\n`);
      for (const n of notReadyRuns) io.stderr(`run ${n.runId} not harvested yet: ${n.reason}\n`);
      for (const r of invalidRowDetails)
        io.stderr(
          `a listed run${r.id !== undefined ? ` (id ${r.id})` : ''} at offset ${r.offset} does not have the documented shape, so it was skipped: ${r.issues.slice(0, 3).join('; ')}\n`,
        );
      if (summary.invalidRows > invalidRowDetails.length)
        io.stderr(`... and ${summary.invalidRows - invalidRowDetails.length} more listed runs skipped\n`);
      if (listingError)
        io.stderr(`the listing of the window stopped, so later runs were not harvested: ${listingError}\n`);
      return failures.length > 0 || notReadyRuns.length > 0 || summary.invalidRows > 0 || listingError ? 1 : 0;
    } finally {
      client.close();
    }
  },
};
