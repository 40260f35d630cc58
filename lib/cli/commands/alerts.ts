/**
 * alerts preview: what the alert rules find in the stored runs of a window, sent nowhere.
 * alerts send: the same, delivered to every configured sink, each message once (the sent records
 * are written in the destination, beside the runs).
 * @module
 */
import { hasSink } from '../../config/alert-settings.ts';
import { dayText, fromParser, oneOf } from '../../config/text-values.ts';
import { parseDestination } from '../../core/destination.ts';
import { InputError } from '../../core/errors.ts';
import { deliver } from '../../alerts/deliver.ts';
import { evaluateWindow, sinksOf } from '../../alerts/alerting.ts';
import { SentLedger } from '../../alerts/ledger.ts';
import { openStore, type Store } from '../../storage/index.ts';
import { arg, cliLogger, commandConfig, defineCommand, sourceFrom, type CommandContext } from '../command.ts';

const alertArgs = {
  from: arg.text(fromParser(parseDestination), 'a folder or gs://BUCKET[/PREFIX] the harvester stored into', {
    placeholder: 'WHERE',
    required: '--from DIR|gs://BUCKET[/PREFIX] is required: where the harvester stored',
  }),
  since: arg.text(dayText, 'runs finished on or after this day (UTC; default yesterday)', { placeholder: 'DATE' }),
};
const previewArgs = {
  ...alertArgs,
  format: arg.text(oneOf(['text', 'json'] as const), 'text (default) or json ({"alerts": [...]})', {
    placeholder: 'FORMAT',
  }),
};

type Ctx = CommandContext<typeof alertArgs>;

/** The store to read, checked; the window's start (default: yesterday, UTC). */
async function open(ctx: Ctx, needs: 'alerts' | null) {
  const { io, args, problems } = ctx;
  const from = await sourceFrom(io, problems, args.from);
  const config = commandConfig(ctx, needs ? { needs: [needs] } : {});
  const store: Store = await openStore(from!, { storageApiEndpoint: config.storageApiEndpoint });
  const unusable = await store.problem?.();
  if (unusable) throw new InputError(`Cannot read ${store.description}`, [unusable]);
  const now = new Date();
  const since = args.since ?? new Date(Date.parse(now.toISOString().slice(0, 10)) - 86_400_000);
  const logger = cliLogger(io, config);
  const read = await evaluateWindow(store, since, now, config.alerts, logger);
  for (const s of read.skipped.slice(0, 20)) io.stderr(`${s.path} left out: ${s.reason}\n`);
  return { config, store, since, read, logger };
}

export const alertsPreview = defineCommand({
  name: 'alerts preview',
  summary: 'what the alert rules find in the stored runs of a window; sends nothing',
  usage: '--from DIR|gs://BUCKET[/PREFIX] [--since DATE] [--format text|json]',
  description: `Reads the history rows the harvester stored (and, for runs that failed, their steps' summaries and run
results), evaluates the rules (ALERTS_RULES: run-failed, test-failing, source-stale, model-slower; their
settings are the ALERTS_* variables, docs/alerts.md) over every run finished since --since, and prints
each alert: one line each (text), or {"alerts": [...]} (json), the objects a generic webhook receives.
Exit status: 0 read; 2 bad usage.`,
  dbtCloud: false,
  settings: [],
  args: previewArgs,
  run: async (ctx) => {
    const { read, since } = await open(ctx, null);
    const alerts = read.evaluated.flatMap((e) => e.alerts);
    if (ctx.args.format === 'json') ctx.io.stdout(`${JSON.stringify({ alerts }, null, 2)}\n`);
    else
      for (const a of alerts)
        ctx.io.stdout(`${a.rule.padEnd(13)} ${a.severity.padEnd(8)} run ${a.runId}  ${a.summary}\n`);
    ctx.io.stderr(
      `${alerts.length} alert${alerts.length === 1 ? '' : 's'} in ${read.evaluated.length} runs finished since ${since.toISOString().slice(0, 10)}\n`,
    );
    return 0;
  },
});

export const alertsSend = defineCommand({
  name: 'alerts send',
  summary: 'deliver the alerts of a window to the configured sinks, each message once',
  usage: '--from DIR|gs://BUCKET[/PREFIX] [--since DATE]',
  description: `Evaluates the rules as alerts preview does and delivers what has not been sent yet: one message per run
(a digest of its alerts), past ALERTS_MAX_MESSAGES runs the rest folded into one, to each sink configured
(ALERTS_SLACK_WEBHOOK_URL, ALERTS_TEAMS_WEBHOOK_URL, ALERTS_WEBHOOK_URL with ALERTS_WEBHOOK_SECRET,
ALERTS_PAGERDUTY_ROUTING_KEY). Each message sent is recorded under _alerts/ in the destination, so a
second send, or the alertRun function, never sends it again. A sink's 5xx or timeout is retried with
backoff; a 4xx is reported and not retried.
Exit status: 0 delivered (or nothing to deliver); 1 a sink refused or kept failing; 2 bad usage.`,
  dbtCloud: false,
  settings: [],
  args: alertArgs,
  run: async (ctx) => {
    const { config, store, read, logger } = await open(ctx, 'alerts');
    if (!hasSink(config.alerts)) throw new InputError('No alert sink is configured (docs/alerts.md)');
    const report = await deliver(
      {
        ledger: new SentLedger(store),
        sinks: sinksOf(config.alerts),
        logger,
        maxMessages: config.alerts.maxMessages,
      },
      read.evaluated,
    );
    const { io } = ctx;
    for (const r of report.refused) io.stderr(`${r.sink} refused ${r.key}: ${r.error}\n`);
    for (const r of report.failed) io.stderr(`${r.sink} failed ${r.key}, to send again: ${r.error}\n`);
    for (const r of report.busy) io.stderr(`${r.sink} ${r.key} is being sent by another process (until ${r.until})\n`);
    io.stdout(
      `${JSON.stringify({
        runs: read.evaluated.length,
        sent: report.sent.length,
        alerts: report.sent.reduce((n, s) => n + s.alerts, 0),
        alreadySent: report.alreadySent,
        busy: report.busy.length,
        refused: report.refused.length,
        failed: report.failed.length,
      })}\n`,
    );
    return report.refused.length + report.failed.length + report.busy.length > 0 ? 1 : 0;
  },
});

export const ALERT_COMMANDS = [alertsPreview, alertsSend];
