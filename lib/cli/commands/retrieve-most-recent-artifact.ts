/**
 * retrieve-most-recent-artifact: the newest successful run's manifest (or another artifact) of a
 * job, written into a folder for dbt's state-based selection.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../../config/load.ts';
import { RunStatus } from '../../core/run.ts';
import { selectDbtSteps } from '../../core/steps.ts';
import { connectDbtCloud } from '../../harvest/connect.ts';
import { Usage, cliLogger, type Command } from '../command.ts';

export const ARTIFACT_NAMES = ['manifest', 'catalog', 'run_results', 'sources'] as const;

export const retrieveMostRecentArtifact: Command = {
  name: 'retrieve-most-recent-artifact',
  summary: "fetch the newest successful run's manifest (or other artifact) of a job",
  usage: `{manifest|catalog|run_results|sources}
         --job-id J --output-folder DIR [--step N] [--commit SHA]`,
  description: `Writes DIR/<artifact>.json from the newest successful run of job J (ordered by finish time), for
dbt's state-based selection (dbt build --select state:modified+ --state DIR). An existing file of the
same name is replaced.
Exit status: 0 written; 1 no such run or file; 2 bad usage.`,
  dbtCloud: true,
  settings: ['jobId'],
  args: {
    'output-folder': { type: 'string', placeholder: 'DIR', describe: 'where to write' },
    step: {
      type: 'string',
      placeholder: 'N',
      describe: 'the run step to read (default: the last dbt step that wrote the file)',
    },
    commit: {
      type: 'string',
      placeholder: 'SHA',
      describe: 'the newest successful run at this git commit (a prefix is enough)',
    },
  },
  positionals: true,
  async run({ io, flags, positionals }) {
    const usage = new Usage();
    const name = positionals[0];
    if (!name) usage.problems.push(`name the artifact: one of ${ARTIFACT_NAMES.join(', ')}`);
    else
      usage.check(
        (ARTIFACT_NAMES as readonly string[]).includes(name),
        `unknown artifact "${name}": choose one of ${ARTIFACT_NAMES.join(', ')}`,
      );
    usage.check(positionals.length <= 1, `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const folder = flags['output-folder'];
    usage.check(typeof folder === 'string', '--output-folder DIR is required');
    const step = usage.positive('step', flags['step']);
    const commit = flags['commit'];
    if (commit !== undefined)
      usage.check(
        typeof commit === 'string' && /^[0-9a-f]{4,40}$/i.test(commit),
        `--commit must be a git SHA (4 to 40 hex digits), not "${String(commit)}"`,
      );
    const config = loadConfig({
      env: io.env,
      flags,
      needs: ['dbtCloud', 'jobId'],
      problems: usage.problems,
    });
    const jobId = config.jobId;
    const sha = typeof commit === 'string' ? commit : undefined;
    const file = `${name}.json`;
    const client = connectDbtCloud(config.dbtCloud, {
      logger: cliLogger(io, config),
      userAgent: 'dbt-cloud-harvester-cli',
    });
    try {
      const run = await client.getMostRecentRun({ jobId, status: RunStatus.Success, gitSha: sha });
      if (!run) {
        io.stderr(
          `No successful run of job ${jobId}${sha ? ` at commit ${sha}` : ''} in account ${config.dbtCloud.accountId}.\n`,
        );
        return 1;
      }
      // The step: as asked, else the last dbt step that wrote the file.
      let candidates: number[];
      if (step !== undefined) candidates = [step];
      else
        candidates = selectDbtSteps(await client.getRun(run.id, ['run_steps', 'job']))
          .steps.map((s) => s.index)
          .reverse();
      for (const index of candidates.length > 0 ? candidates : [undefined]) {
        const artifact = await client.getRunArtifact(run.id, file, index);
        if (!artifact.found) continue;
        const dir = resolve(folder as string);
        await mkdir(dir, { recursive: true });
        const target = join(dir, file);
        const temporary = join(dir, `.${file}.${randomUUID()}.partial`);
        try {
          await pipeline(artifact.body, createWriteStream(temporary, { flags: 'wx' }));
          await rename(temporary, target);
        } finally {
          await unlink(temporary).catch(() => {});
        }
        io.stdout(
          `${JSON.stringify({
            file: target,
            runId: run.id,
            jobId,
            step: index ?? null,
            gitSha: run.git_sha ?? null,
            finishedAt: run.finished_at,
          })}\n`,
        );
        return 0;
      }
      io.stderr(`Run ${run.id} of job ${jobId} has no ${file}${step !== undefined ? ` in step ${step}` : ''}.\n`);
      return 1;
    } finally {
      client.close();
    }
  },
};
