/**
 * The table of functions: each one's name (its entry point), what calls it, what configuration it
 * needs, and its handler, loaded only by the instance that serves it. The entry file, the dev
 * pipeline, the tests and the Terraform test all read this table.
 * @module
 */
import type { ConfigFor, Need } from '../config/load.ts';
import type { Tuning } from '../config/runtime.ts';
import type { Logger } from '../log.ts';
import type { Handler } from './http.ts';

export interface CloudFunction<N extends Need = Need, Name extends string = string> {
  readonly name: Name;
  /** Who calls it, and how it authenticates (README, Terraform). */
  readonly caller: string;
  readonly needs: readonly N[];
  /** The largest request body it reads (default MAX_REQUEST_BYTES, raw-body.ts). */
  readonly maxBodyBytes?: number;
  /**
   * Reachable without a Google identity: it checks `precheck` on the headers before reading a
   * body, and its answers name nothing internal (the log has the details).
   */
  readonly public?: { precheck: (header: (name: string) => string | undefined) => string | null };
  load(): Promise<{ create(config: ConfigFor<N>, logger: Logger): Promise<Handler> }>;
  /** How V8 is tuned in the instance that serves it (config/runtime.ts; default `memory`). */
  readonly tuning?: Tuning;
}

const define = <N extends Need, const Name extends string>(fn: CloudFunction<N, Name>): CloudFunction<N, Name> => fn;

export const FUNCTIONS = [
  define({
    name: 'dispatchHourly',
    caller: 'Cloud Scheduler, OIDC',
    needs: ['dbtCloud', 'runsTopic'],
    load: () => import('./dispatch-hourly.ts'),
  }),
  define({
    name: 'backfill',
    caller: 'people and tools with roles/run.invoker',
    needs: ['dbtCloud', 'runsTopic'],
    load: () => import('./backfill.ts'),
  }),
  define({
    name: 'harvestRun',
    caller: 'Pub/Sub push, OIDC',
    needs: ['dbtCloud', 'destination'],
    load: () => import('./harvest-run.ts'),
    // It reads every artifact byte by byte (the facts): V8 tuned for that.
    tuning: 'reading',
  }),
  define({
    name: 'receiveWebhook',
    caller: 'dbt Cloud webhooks, signed with HMAC-SHA256; no Google identity (the signature is the gate)',
    needs: ['accountId', 'webhookSecret', 'runsTopic'],
    // dbt Cloud's events are a few kB (https://docs.getdbt.com/docs/deploy/webhooks): 64 KiB is a wide margin.
    maxBodyBytes: 64 * 1024,
    public: {
      // dbt Cloud signs every delivery: `Authorization` is a hex HMAC-SHA256 (64 hex digits).
      precheck: (header) =>
        /^(?:sha256=)?[0-9a-fA-F]{64}$/.test((header('authorization') ?? '').trim())
          ? null
          : 'a dbt Cloud webhook delivery carries its signature in Authorization (64 hex digits)',
    },
    load: () => import('./receive-webhook.ts'),
  }),
  define({
    name: 'alertRun',
    caller: 'Pub/Sub push of "run stored" messages, OIDC',
    needs: ['destination', 'alerts'],
    load: () => import('./alert-run.ts'),
  }),
] as const;

export type FunctionName = (typeof FUNCTIONS)[number]['name'];
