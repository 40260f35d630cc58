/**
 * lineage export: every stored run (or those since a day, of some jobs) as OpenLineage RunEvents
 * (lib/lineage/), to a JSON Lines file, an OpenLineage HTTP endpoint, or Dataplex with the caller's
 * Google credentials. The sinks, and Google's auth library, load only when asked for.
 * @module
 */
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { nonEmptyText, positiveInt } from '../../config/text-values.ts';
import { tuneForSmallInstances } from '../../config/runtime.ts';
import { exportLineage } from '../../lineage/lineage-export.ts';
import { DATAPLEX_PARENT, type LineageSink } from '../../lineage/lineage-sink.ts';
import { openStore } from '../../storage/index.ts';
import { arg, cliLogger, commandConfig, defineCommand, sourceFrom, storedRunsArgs } from '../command.ts';
import { packageVersion } from '../version.ts';

const httpUrl = z
  .string()
  .trim()
  .refine((t) => URL.canParse(t) && /^https?:$/.test(new URL(t).protocol), 'must be an http(s) URL');

const lineageArgs = {
  ...storedRunsArgs,
  out: arg.path('file-to-write', 'write the events to this file, one per line (JSON Lines)', { placeholder: 'FILE' }),
  url: arg.text(httpUrl, 'POST the events to this OpenLineage endpoint (http://localhost:5000: /api/v1/lineage)', {
    placeholder: 'URL',
  }),
  dataplex: arg.text(
    z.string().trim().regex(DATAPLEX_PARENT, 'must be projects/PROJECT/locations/LOCATION'),
    "send the events to Dataplex's lineage in this project and location, with your Google credentials",
    { placeholder: 'projects/P/locations/L' },
  ),
  'requests-per-second': arg.text(positiveInt(10_000), 'with --url: the most requests a second (default 50)', {
    placeholder: 'N',
  }),
  'dataset-namespace': arg.text(
    nonEmptyText,
    "the warehouse's OpenLineage namespace (default: bigquery for BigQuery, else the adapter's name)",
    { placeholder: 'NS' },
  ),
};

export const lineageExport = defineCommand({
  name: 'lineage export',
  summary: 'every stored run as OpenLineage events: to a file, an OpenLineage endpoint, or Dataplex',
  usage:
    '--from DIR|gs://BUCKET[/PREFIX] [--since DATE] [--job-id J ...] (--out FILE.jsonl | --url URL | --dataplex projects/P/locations/L)',
  description: `Reads the stored runs, one at a time, and makes of each dbt step that ran models, seeds, snapshots
or tests the OpenLineage RunEvents the OpenLineage dbt integration would have sent (spec 2-0-2): a
START and a COMPLETE or FAIL per node, its table as output and its parents as inputs, a TEST job per
tested table, each with a parent facet naming the dbt Cloud run. Run ids are derived from the account,
run, step and node, so exporting again gives the same events. --url POSTs one event per request
(OPENLINEAGE_API_KEY, when set, as a bearer token), retrying what failed; --dataplex uses Google's
application default credentials (gcloud auth application-default login).
Exit status: 0 exported; 1 no run found, or events not delivered; 2 bad usage.`,
  dbtCloud: false,
  settings: [],
  args: lineageArgs,
  async run(ctx) {
    const { io, args, problems } = ctx;
    const targets = [args.out, args.url, args.dataplex].filter((t) => t !== undefined);
    if (targets.length !== 1)
      problems.push('give exactly one of --out FILE.jsonl, --url URL or --dataplex projects/P/locations/L');
    const from = await sourceFrom(io, problems, args.from);
    const config = commandConfig(ctx);
    tuneForSmallInstances('memory');
    const store = await openStore(from!, { storageApiEndpoint: config.storageApiEndpoint });
    const unusable = await store.problem?.();
    if (unusable) throw new InputError(`Cannot read ${store.description}`, [unusable]);
    let sink: LineageSink;
    if (args.out !== undefined) {
      const { JsonLinesFile } = await import('../../lineage/lineage-sink.ts');
      sink = new JsonLinesFile(args.out);
    } else if (args.url !== undefined) {
      const { HttpLineageSink } = await import('../../lineage/http-sink.ts');
      sink = new HttpLineageSink({
        url: args.url,
        apiKey: config.openLineageApiKey,
        perSecond: args['requests-per-second'] ?? 50,
      });
    } else {
      // Google's auth library is loaded by this choice alone.
      const { connectGoogle } = await import('../../google/apis.ts');
      const { DataplexLineageSink } = await import('../../lineage/dataplex-sink.ts');
      const api = await connectGoogle({ endpoint: config.googleApisEndpoint });
      sink = new DataplexLineageSink(api, { parent: args.dataplex! });
    }
    const summary = await exportLineage(store, sink, {
      producer: `https://www.npmjs.com/package/dbt-cloud-harvester/v/${packageVersion()}`,
      datasetNamespace: args['dataset-namespace'],
      since: args.since,
      jobIds: args['job-id'],
      logger: cliLogger(io, config),
    });
    await sink.close();
    for (const s of summary.skipped.slice(0, 20)) io.stderr(`${s.path} left out: ${s.reason}\n`);
    if (summary.skippedCount > 20) io.stderr(`... and ${summary.skippedCount - 20} more left out\n`);
    io.stderr(`${summary.events} events of ${summary.steps} steps of ${summary.runs} runs -> ${sink.description}\n`);
    return summary.runs === 0 ? 1 : 0;
  },
});
