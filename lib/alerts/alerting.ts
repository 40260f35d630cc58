/**
 * Alerting, as the CLI and alertRun use it: the sinks of the settings, and the alerts of a window
 * of stored runs or of one run (rows read, evidence gathered, rules evaluated).
 * @module
 */
import type { AlertSettings, AlertSecret } from '../config/alert-settings.ts';
import { errorMessage } from '../core/errors.ts';
import type { HistoryRow } from '../core/history-row.ts';
import { historyRowPath } from '../core/paths.ts';
import type { Logger } from '../log.ts';
import type { secretFrom } from '../secrets/secret-manager.ts';
import { ObjectNotFoundError, type ObjectReader } from '../storage/index.ts';
import type { Evaluated } from './deliver.ts';
import { gatherEvidence, listRowsSince, readRow } from './evidence.ts';
import { evaluateRun } from './rules.ts';
import { pagerDutySink, slackSink, teamsSink, webhookSink, type AlertSink } from './sinks.ts';

type Kind = Parameters<typeof secretFrom>[1];

/**
 * A sink's secret: its value, or read from Secret Manager (its client, and Google's auth library,
 * loaded only then: the CLI given values never loads them).
 */
const reading = (source: AlertSecret, what: string, variable: string): (() => Promise<string>) => {
  if (typeof source === 'string') return async () => source;
  let secret: Promise<{ get(): Promise<string> }> | undefined;
  return async () => {
    secret ??= import('../secrets/secret-manager.ts').then((m) => {
      const kind: Kind = {
        what,
        variable,
        check: (value) => (/\s/.test(value) ? 'has spaces or line breaks, which it cannot have' : null),
        error: m.SecretUnavailableError,
      };
      return m.secretFrom(source, kind);
    });
    return (await secret).get();
  };
};

/** The configured sinks, in a fixed order; none when alerts are off. */
export function sinksOf(settings: AlertSettings, pagerDutyUrl?: string): AlertSink[] {
  const sinks: AlertSink[] = [];
  if (settings.slack)
    sinks.push(slackSink(reading(settings.slack, 'the Slack webhook URL', 'ALERTS_SLACK_WEBHOOK_URL')));
  if (settings.teams)
    sinks.push(teamsSink(reading(settings.teams, 'the Teams webhook URL', 'ALERTS_TEAMS_WEBHOOK_URL')));
  if (settings.webhook)
    sinks.push(
      webhookSink(
        settings.webhook.url,
        reading(settings.webhook.secret, 'the alert webhook key', 'ALERTS_WEBHOOK_SECRET'),
      ),
    );
  if (settings.pagerduty)
    sinks.push(
      pagerDutySink(
        reading(settings.pagerduty, 'the PagerDuty routing key', 'ALERTS_PAGERDUTY_ROUTING_KEY'),
        pagerDutyUrl,
      ),
    );
  return sinks;
}

/** The alerts of runs whose rows are given. */
export async function evaluateRows(
  reader: ObjectReader,
  rows: readonly HistoryRow[],
  settings: AlertSettings,
  logger: Logger,
): Promise<Evaluated[]> {
  const evidence = await gatherEvidence(reader, rows, logger);
  return evidence.map((e) => ({ evidence: e, alerts: evaluateRun(e, settings) }));
}

export interface WindowRead {
  evaluated: Evaluated[];
  /** Rows that could not be read, and why. */
  skipped: { path: string; reason: string }[];
}

/** Every stored run from `since` to `until` (by their history rows), evaluated, oldest first. */
export async function evaluateWindow(
  reader: ObjectReader,
  since: Date,
  until: Date,
  settings: AlertSettings,
  logger: Logger,
): Promise<WindowRead> {
  const refs = await listRowsSince(reader, since, until);
  const rows: HistoryRow[] = [];
  const skipped: WindowRead['skipped'] = [];
  for (const ref of refs) {
    try {
      const row = await readRow(reader, ref.path);
      if (row.finishedAt >= since.toISOString() && row.finishedAt < until.toISOString()) rows.push(row);
    } catch (err) {
      skipped.push({ path: ref.path, reason: errorMessage(err) });
    }
  }
  const evaluated = await evaluateRows(reader, rows, settings, logger);
  evaluated.sort((a, b) =>
    a.evidence.row.finishedAt < b.evidence.row.finishedAt
      ? -1
      : a.evidence.row.finishedAt > b.evidence.row.finishedAt
        ? 1
        : a.evidence.row.runId - b.evidence.row.runId,
  );
  return { evaluated, skipped };
}

/** One stored run, evaluated; null when its history row is not stored (the harvest made none). */
export async function evaluateStoredRun(
  reader: ObjectReader,
  run: { runId: number; jobId: number; finishedAt: Date },
  settings: AlertSettings,
  logger: Logger,
): Promise<Evaluated | null> {
  let row: HistoryRow;
  try {
    row = await readRow(reader, historyRowPath(run));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
  const [evaluated] = await evaluateRows(reader, [row], settings, logger);
  return evaluated ?? null;
}
