/**
 * Events sent to Dataplex's Data Lineage API with the caller's Google credentials
 * (`POST https://datalineage.googleapis.com/v1/projects/P/locations/L:processOpenLineageRunEvent`,
 * the body the event: https://cloud.google.com/dataplex/docs/open-lineage), within its documented
 * limits: a message of at most 5 MB (an event over it is sent without its SQL, then without its
 * dataset facets; one still over it is left out and counted), names of at most 4,000 characters
 * (a longer one is left out of the event), and links (an input to an output) sent at most 100 to an
 * event, so an event with more is sent as several of the same run. Each carries a `requestId`
 * derived from the event (36 characters), so a retried or repeated request is not a second event.
 * 429, 5xx and unanswered requests are retried with backoff; another 4xx stops the export.
 * @module
 */
import { drain } from '../core/pool.ts';
import { realClock, type Clock } from '../dbt-cloud/rate-limit.ts';
import { GoogleCredentialsError, type GoogleApis } from '../google/apis.ts';
import { LineageSinkError, type LineageSink } from './lineage-sink.ts';
import type { Facets, RunEvent } from './openlineage.ts';
import { eventKey } from './run-ids.ts';

export const MAX_EVENT_BYTES = 5 * 1024 * 1024;
export const MAX_NAME_CHARS = 4_000;
export const MAX_LINKS = 100;

/** An event as Dataplex takes it: in parts of at most MAX_LINKS links, each within MAX_EVENT_BYTES (or null). */
export function dataplexParts(event: RunEvent): (RunEvent | null)[] {
  const named = <T extends { name: string }>(list: T[]): T[] => list.filter((d) => d.name.length <= MAX_NAME_CHARS);
  const outputs = named(event.outputs);
  const inputs = named(event.inputs);
  const perPart = outputs.length === 0 ? inputs.length || 1 : Math.max(1, Math.floor(MAX_LINKS / outputs.length));
  const parts: RunEvent[] = [];
  for (let i = 0; i === 0 || i < inputs.length; i += perPart)
    parts.push({ ...event, inputs: inputs.slice(i, i + perPart), outputs });
  return parts.map(fitted);
}

const size = (e: RunEvent): number => Buffer.byteLength(JSON.stringify(e));
const without = (facets: Facets | undefined, keys: string[]): Facets =>
  Object.fromEntries(Object.entries(facets ?? {}).filter(([k]) => !keys.includes(k)));

/** The event within the size limit: whole, without its SQL, then without its dataset facets; else null. */
function fitted(e: RunEvent): RunEvent | null {
  if (size(e) <= MAX_EVENT_BYTES) return e;
  const noSql = { ...e, job: { ...e.job, facets: without(e.job.facets, ['sql']) } };
  if (size(noSql) <= MAX_EVENT_BYTES) return noSql;
  const bare = {
    ...noSql,
    inputs: noSql.inputs.map(({ namespace, name, inputFacets }) => ({
      namespace,
      name,
      ...(inputFacets ? { inputFacets } : {}),
    })),
    outputs: noSql.outputs.map(({ namespace, name }) => ({ namespace, name })),
  };
  return size(bare) <= MAX_EVENT_BYTES ? bare : null;
}

export interface DataplexSinkOptions {
  /** `projects/P/locations/L`. */
  parent: string;
  concurrency?: number;
  attempts?: number;
  batchSize?: number;
  clock?: Clock;
}

export class DataplexLineageSink implements LineageSink {
  readonly description: string;
  private readonly api: GoogleApis;
  private readonly options: DataplexSinkOptions;
  private readonly clock: Clock;
  private batch: RunEvent[] = [];
  requests = 0;
  delivered = 0;
  /** Events left out: over the size limit even without their facets. */
  tooLarge = 0;

  constructor(api: GoogleApis, options: DataplexSinkOptions) {
    this.api = api;
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.description = `Dataplex (${options.parent})`;
  }

  async send(event: RunEvent): Promise<void> {
    this.batch.push(event);
    if (this.batch.length >= (this.options.batchSize ?? 50)) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    const parts = this.batch.flatMap((event) =>
      dataplexParts(event).map((part, i) => ({ part, key: eventKey(event.run.runId, event.eventType, i) })),
    );
    this.batch = [];
    await drain(parts.values(), this.options.concurrency ?? 4, async ({ part, key }) => {
      if (part === null) {
        this.tooLarge++;
        return;
      }
      await this.post(part, key);
    });
  }

  private async post(event: RunEvent, requestId: string): Promise<void> {
    const path = `/v1/${this.options.parent}:processOpenLineageRunEvent?requestId=${requestId}`;
    const attempts = this.options.attempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      let why: string;
      try {
        const answer = await this.api.read('datalineage', path, { method: 'POST', body: event });
        if (answer.status >= 200 && answer.status < 300) {
          this.delivered++;
          return;
        }
        why = `${answer.status} ${answer.text.slice(0, 300)}`;
        if (answer.status !== 429 && answer.status < 500)
          throw new LineageSinkError(
            this.description,
            `${why} for the ${event.eventType} event of ${event.job.name}`,
            answer.status === 403 || answer.status === 404 ? 2 : undefined,
          );
      } catch (err) {
        if (err instanceof LineageSinkError || err instanceof GoogleCredentialsError) throw err;
        why = `no answer (${err instanceof Error ? err.message : String(err)})`;
      }
      if (attempt >= attempts)
        throw new LineageSinkError(this.description, `not accepted after ${attempts} attempts (last: ${why})`);
      await this.clock.sleep(Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
    }
  }
}
