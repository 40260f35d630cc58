/**
 * Telling alertRun of each run stored: harvestRun publishes `{runId, jobId, finishedAt}` to
 * RUN_STORED_TOPIC after the run's `_run.json` is written (when the topic is set: alerts on). A
 * failed publish fails the delivery (503), so Pub/Sub redelivers it; the redelivery finds the run
 * already stored and publishes again. A run found already stored is published again only when it
 * finished within REPUBLISH_MS (a redelivery, or the hourly dispatch after the webhook stored it),
 * so that a backfill over stored months does not wake alerts for each of their runs; alertRun's
 * sent records make a repeat harmless.
 * @module
 */
import type { TopicName } from '../config/options.ts';
import type { RunStoredMessage } from '../core/alert.ts';
import { PubSubRunPublisher } from './publisher.ts';

export const REPUBLISH_MS = 24 * 3_600_000;

export interface RunStoredNotifier {
  notify(message: RunStoredMessage): Promise<void>;
}

export function runStoredNotifier(topic: TopicName): RunStoredNotifier {
  const publisher = new PubSubRunPublisher(topic);
  return {
    notify: async (m) => {
      await publisher.publishJson([
        { data: m, attributes: { run_id: String(m.runId), job_id: String(m.jobId), event: 'run.stored' } },
      ]);
    },
  };
}

/** The message to publish for a harvest's outcome, or null: nothing new stored, or too old to alert on. */
export function runStoredMessage(
  outcome: { status: string; runId: number; jobId?: number; finishedAt?: string; reason?: string },
  now: number,
): RunStoredMessage | null {
  if (outcome.jobId === undefined || outcome.finishedAt === undefined) return null;
  const fresh = outcome.status === 'stored';
  const again =
    outcome.status === 'skipped' &&
    outcome.reason === 'already stored' &&
    now - Date.parse(outcome.finishedAt) < REPUBLISH_MS;
  return fresh || again ? { runId: outcome.runId, jobId: outcome.jobId, finishedAt: outcome.finishedAt } : null;
}
