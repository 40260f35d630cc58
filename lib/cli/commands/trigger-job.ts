/**
 * trigger-job: start a run of a job, and optionally wait for it to end.
 * @module
 */
import { loadConfig } from '../../config/load.ts';
import { RunStatus, statusName, type Run } from '../../core/run.ts';
import { connectDbtCloud } from '../../harvest/connect.ts';
import { Usage, cliLogger, type Command } from '../command.ts';

export const triggerJob: Command = {
  name: 'trigger-job',
  summary: 'start a job run, optionally wait for it',
  usage: `--job-id J --cause TEXT [--git-sha S] [--git-branch B]
         [--schema-override S] [--steps-override CMD ...] [--threads-override N]
         [--target-name-override T] [--generate-docs-override true|false]
         [--timeout-seconds-override N] [--wait [--poll-interval S] [--timeout S]]`,
  description: `Starts a run of job J and prints it. --steps-override may be given several times, one dbt command each.
Exit status: 0 started (with --wait: succeeded); 1 the run errored or was cancelled, or the wait timed out; 2 bad usage.`,
  dbtCloud: true,
  settings: ['jobId'],
  args: {
    cause: { type: 'string', placeholder: 'TEXT', describe: 'why this run happens (required; at most 255 characters)' },
    'git-sha': { type: 'string', placeholder: 'S', describe: 'run at this commit' },
    'git-branch': { type: 'string', placeholder: 'B', describe: 'run on this branch' },
    'schema-override': { type: 'string', placeholder: 'S', describe: 'build into this schema' },
    'steps-override': {
      type: 'string',
      multiple: true,
      placeholder: 'CMD',
      describe: "a dbt command instead of the job's (repeatable)",
    },
    'threads-override': { type: 'string', placeholder: 'N', describe: 'dbt threads' },
    'target-name-override': { type: 'string', placeholder: 'T', describe: 'the target name' },
    'generate-docs-override': { type: 'string', placeholder: 'BOOL', describe: 'true or false' },
    'timeout-seconds-override': { type: 'string', placeholder: 'N', describe: "the run's timeout" },
    wait: { type: 'boolean', describe: 'wait for the run to end: exit 0 on success, 1 on error or cancel' },
    'poll-interval': { type: 'string', placeholder: 'S', describe: 'seconds between polls (default 10)' },
    timeout: { type: 'string', placeholder: 'S', describe: 'give up waiting after S seconds (default 3600; exit 1)' },
  },
  positionals: false,
  async run({ io, flags }) {
    const usage = new Usage();
    const cause = flags['cause'];
    if (typeof cause !== 'string' || !cause.trim())
      usage.problems.push('--cause TEXT is required (why this run happens; at most 255 characters)');
    else usage.check(cause.length <= 255, `--cause is at most 255 characters (it has ${cause.length})`);
    const threads = usage.positive('threads-override', flags['threads-override'], 1024);
    const timeoutOverride = usage.positive('timeout-seconds-override', flags['timeout-seconds-override'], 7 * 86_400);
    const poll = usage.positive('poll-interval', flags['poll-interval'], 3600) ?? 10;
    const waitTimeout = usage.positive('timeout', flags['timeout'], 7 * 86_400) ?? 3600;
    let docs: boolean | undefined;
    const docsFlag = flags['generate-docs-override'];
    if (docsFlag === 'true' || docsFlag === 'false') docs = docsFlag === 'true';
    else
      usage.check(docsFlag === undefined, `--generate-docs-override must be true or false, not "${String(docsFlag)}"`);
    const config = loadConfig({
      env: io.env,
      flags,
      needs: ['dbtCloud', 'jobId'],
      problems: usage.problems,
    });
    const client = connectDbtCloud(config.dbtCloud, {
      logger: cliLogger(io, config),
      userAgent: 'dbt-cloud-harvester-cli',
    });
    const text = (flag: string): string | undefined =>
      typeof flags[flag] === 'string' ? (flags[flag] as string) : undefined;
    const steps = Array.isArray(flags['steps-override']) ? flags['steps-override'] : undefined;
    try {
      const run = await client.triggerJobRun(config.jobId, {
        cause: (cause as string).trim(),
        git_sha: text('git-sha'),
        git_branch: text('git-branch'),
        schema_override: text('schema-override'),
        target_name_override: text('target-name-override'),
        threads_override: threads,
        timeout_seconds_override: timeoutOverride,
        generate_docs_override: docs,
        steps_override: steps && steps.length > 0 ? steps : undefined,
      });
      const describe = (r: Run) => ({
        runId: r.id,
        jobId: r.job_definition_id,
        status: statusName(r.status),
        href: r['href'] ?? null,
      });
      if (!flags['wait']) {
        io.stdout(`${JSON.stringify(describe(run))}\n`);
        return 0;
      }
      if (io.isTTY) io.stderr(`run ${run.id} queued; waiting\n`);
      const done = await client.waitForRun(run.id, {
        intervalMs: poll * 1000,
        timeoutMs: waitTimeout * 1000,
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
};
