/**
 * retrieve-artifacts-time-interval: every run that finished in [start, end), with its artifacts,
 * into a folder or a bucket.
 * @module
 */
import { tuneForSmallInstances } from '../../config/runtime.ts';
import { InputError } from '../../core/errors.ts';
import { anyText, timeText } from '../../config/text-values.ts';
import type { WindowSummary } from '../../harvest/window.ts';
import { openStore } from '../../storage/index.ts';
import {
  arg,
  dbtCloud,
  clientOptions,
  cliLogger,
  commandConfig,
  defineCommand,
  pathProblem,
  resolvePath,
} from '../command.ts';

export const retrieveArtifactsTimeInterval = defineCommand({
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
    'start-time': arg.text(timeText, 'ISO-8601; no offset means UTC (2022-06-01T00:00:00)', {
      placeholder: 'T',
      required: '--start-time is required (for example 2022-06-01T00:00:00, UTC when no offset is given)',
    }),
    'end-time': arg.text(timeText, 'the end, excluded', {
      placeholder: 'T',
      required: '--end-time is required (for example 2022-06-01T01:00:00, UTC when no offset is given)',
    }),
    'output-folder': arg.text(anyText, 'a local folder, or the object prefix with --gcs-bucket-name', {
      placeholder: 'DIR',
    }),
    'gcs-bucket-name': arg.text(anyText, 'store in gs://BUCKET instead (application default credentials)', {
      placeholder: 'BUCKET',
    }),
  },
  async run(ctx) {
    const { io, args, problems } = ctx;
    const { 'start-time': start, 'end-time': end, 'output-folder': folder, 'gcs-bucket-name': bucket } = args;
    if (start && end && start.getTime() >= end.getTime())
      problems.push(`--start-time (${start.toISOString()}) must be before --end-time (${end.toISOString()})`);
    const now = Date.now();
    if (start && start.getTime() > now)
      problems.push(
        `--start-time (${start.toISOString()}) is in the future: no run has finished in that window yet (times without an offset are UTC)`,
      );
    else if (end && end.getTime() > now)
      io.stderr(
        `note: --end-time (${end.toISOString()}) is in the future; runs finishing after now are harvested by a later run of this command\n`,
      );
    let destination: string | undefined;
    if (bucket !== undefined) destination = `gs://${bucket}${folder ? `/${folder.replace(/^\/+/, '')}` : ''}`;
    else if (folder !== undefined) {
      destination = resolvePath(io, folder);
      const problem = folder.trim() === '' ? 'must not be empty' : await pathProblem(destination, 'folder-to-write');
      if (problem) problems.push(`--output-folder ${folder.trim() === '' ? '' : `${destination} `}${problem}`);
    }
    const config = commandConfig(ctx, {
      values: destination
        ? { destination: { text: destination, label: bucket ? '--gcs-bucket-name' : '--output-folder' } }
        : {},
      needs: ['dbtCloud', 'destination'],
      missing: {
        destination: 'say where to store: --output-folder DIR, or --gcs-bucket-name BUCKET [--output-folder PREFIX]',
      },
    });
    const logger = cliLogger(io, config);
    // Artifacts read byte by byte, several runs at once: V8 tuned as harvestRun is (config/runtime.ts).
    tuneForSmallInstances('reading');
    const store = await openStore(config.destination, { storageApiEndpoint: config.storageApiEndpoint });
    // The destination, once, before any run: a bucket that cannot serve stops here with one message.
    const unusable = await store.problem?.();
    if (unusable) throw new InputError(`Cannot store into ${store.description}`, [unusable]);
    const client = await dbtCloud(config.dbtCloud, { ...clientOptions(io, config), logger });
    const progress = io.isTTY
      ? (done: number, total: number, s: WindowSummary) =>
          io.stderr(
            `\r${done}/${total} runs: ${s.stored} stored, ${s.skipped} skipped, ${s.notReady} not ready, ${s.failed} failed, ${(s.bytes / 1048576).toFixed(1)} MiB `,
          )
      : undefined;
    try {
      // Loaded with the client it drives, as the command runs.
      const { harvestWindow } = await import('../../harvest/window.ts');
      const summary = await harvestWindow(
        { start: start!, end: end! },
        { client, store, artifacts: config.artifacts, coverage: config.coverage, logger, scope: config.scope },
        { concurrency: config.concurrency, onProgress: progress },
      );
      if (io.isTTY) io.stderr('\n');
      const { failures, notReadyRuns, invalidRowDetails, listingError, ...counts } = summary;
      const { requests, retries } = client.transport.stats;
      io.stdout(`${JSON.stringify({ destination: store.description, ...counts, requests, retries })}\n`);
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
});
