/**
 * An alert: what a rule found about one stored run (lib/alerts/ evaluates the rules). The object
 * `alerts preview --format json` prints and a generic webhook receives, in `{"alerts": [...]}`.
 * Every alert names its rule, its run and job, a severity (PagerDuty's words), a one-line summary
 * and the rule's details; `key` identifies the finding within its run.
 * @module
 */
import { z } from 'zod';
import { dbtId } from './run-model.ts';

export const ALERT_RULES = ['run-failed', 'test-failing', 'source-stale', 'model-slower'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type AlertSeverity = (typeof SEVERITIES)[number];

/** The longest summary: one line, in every sink. */
export const SUMMARY_CHARS = 300;

export const AlertSchema = z.object({
  rule: z.enum(ALERT_RULES),
  runId: dbtId,
  jobId: dbtId,
  jobName: z.string().nullable(),
  severity: z.enum(SEVERITIES),
  summary: z.string().max(SUMMARY_CHARS),
  /** When the run finished (ISO 8601, UTC) and its page in dbt Cloud (https only). */
  finishedAt: z.iso.datetime(),
  href: z.string().nullable(),
  /** What the alert is about within its run: the run, a test, a source or a model. */
  key: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type Alert = z.infer<typeof AlertSchema>;

/** The summary line, cut to one line of SUMMARY_CHARS. */
export const oneLine = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= SUMMARY_CHARS ? flat : `${flat.slice(0, SUMMARY_CHARS - 1)}…`;
};

/**
 * The "run stored" message harvestRun publishes after a run's `_run.json` (RUN_STORED_TOPIC), for
 * alertRun: enough to find the run's history row.
 */
export const RunStoredMessageSchema = z.object({
  runId: dbtId,
  jobId: dbtId,
  /** ISO 8601, UTC: the run's finished_at, which places its folder and its row. */
  finishedAt: z.iso.datetime(),
});
export type RunStoredMessage = z.infer<typeof RunStoredMessageSchema>;
