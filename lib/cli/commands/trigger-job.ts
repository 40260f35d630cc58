/**
 * trigger-job: start a run of a job, and optionally wait for it to end.
 * @module
 */
import { anyText, boolText, nonEmptyText, positiveInt } from '../../config/text-values.ts';
import { RunStatus, statusName, type Run } from '../../core/run-model.ts';
import { arg, dbtCloud, clientOptions, commandConfig, defineCommand } from '../command.ts';

export const triggerJob = defineCommand({
  name: 'trigger-job',
  summary: 'start a job run, optionally wait for it',
  usage: `--job-id J --cause TEXT [--git-sha S] [--git-branch B]
         [--schema-override S] [--steps-override CMD ...] [--threads-override N]
         [--target-name-override T] [--generate-docs-override true|false]
         [--timeout-seconds-override N] [--wait [--poll-interval S] [--timeout S]]`,
  description: `Starts a run of job J and prints it. --steps-override may be given several times, one dbt command each.
With --wait, waits for the run to end; --timeout bounds the whole wait, retries included.
Exit status: 0 started (with --wait: succeeded); 1 the run errored or was cancelled, or the wait timed out; 2 bad usage.`,
  dbtCloud: true,
  settings: ['jobId'],
  args: {
    cause: arg.text(
      nonEmptyText.pipe(anyText.refine((s) => s.length <= 255, 'is at most 255 characters')),
      'why this run happens (required; at most 255 characters)',
      {
        placeholder: 'TEXT',
        required: '--cause TEXT is required (why this run happens; at most 255 characters)',
      },
    ),
    'git-sha': arg.text(anyText, 'run at this commit', { placeholder: 'S' }),
    'git-branch': arg.text(anyText, 'run on this branch', { placeholder: 'B' }),
    'schema-override': arg.text(anyText, 'build into this schema', { placeholder: 'S' }),
    'steps-override': arg.text(anyText, "a dbt command instead of the job's (repeatable)", {
      placeholder: 'CMD',
      multiple: true,
    }),
    'threads-override': arg.text(positiveInt(1024), 'dbt threads', { placeholder: 'N' }),
    'target-name-override': arg.text(anyText, 'the target name', { placeholder: 'T' }),
    'generate-docs-override': arg.text(boolText, 'true or false', { placeholder: 'BOOL' }),
    'timeout-seconds-override': arg.text(positiveInt(7 * 86_400), "the run's timeout", { placeholder: 'N' }),
    wait: arg.switch('wait for the run to end: exit 0 on success, 1 on error or cancel'),
    'poll-interval': arg.text(positiveInt(3600), 'seconds between polls (default 10)', { placeholder: 'S' }),
    timeout: arg.text(
      positiveInt(7 * 86_400),
      'give up waiting after S seconds, retries included (default 3600; exit 1)',
      { placeholder: 'S' },
    ),
  },
  async run(ctx) {
    const { io, args } = ctx;
    const config = commandConfig(ctx, { needs: ['dbtCloud', 'jobId'] });
    const client = await dbtCloud(config.dbtCloud, clientOptions(io, config));
    const steps = args['steps-override'];
    try {
      const run = await client.triggerJobRun(config.jobId, {
        cause: args.cause,
        git_sha: args['git-sha'],
        git_branch: args['git-branch'],
        schema_override: args['schema-override'],
        target_name_override: args['target-name-override'],
        threads_override: args['threads-override'],
        timeout_seconds_override: args['timeout-seconds-override'],
        generate_docs_override: args['generate-docs-override'],
        steps_override: steps && steps.length > 0 ? steps : undefined,
      });
      const describe = (r: Run) => ({
        runId: r.id,
        jobId: r.job_definition_id,
        status: statusName(r.status),
        href: r['href'] ?? null,
      });
      if (!args.wait) {
        io.stdout(`${JSON.stringify(describe(run))}\n`);
        return 0;
      }
      if (io.isTTY) io.stderr(`run ${run.id} queued; waiting\n`);
      const done = await client.waitForRun(run.id, {
        intervalMs: (args['poll-interval'] ?? 10) * 1000,
        timeoutMs: (args.timeout ?? 3600) * 1000,
        onPoll: io.isTTY ? (r) => io.stderr(`\rrun ${r.id}: ${statusName(r.status)}   `) : undefined,
      });
      if (io.isTTY) io.stderr('\n');
      io.stdout(`${JSON.stringify(describe(done))}\n`);
      if (done.status !== RunStatus.Success) {
        io.stderr(`run ${done.id} ended ${statusName(done.status)}\n`);
        return 1;
      }
      return 0;
    } finally {
      client.close();
    }
  },
});
