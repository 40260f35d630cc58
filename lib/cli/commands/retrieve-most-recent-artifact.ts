/**
 * retrieve-most-recent-artifact: the newest successful run's manifest (or another artifact) of a
 * job, written into a folder for dbt's state-based selection. The artifact passes the same checks
 * as every stored one (dbt-cloud/artifact-body.ts) and replaces the file only once it is whole.
 * @module
 */
import { pipeline } from 'node:stream';
import { anyText, oneOf, positiveInt } from '../../config/text-values.ts';
import { RunStatus } from '../../core/run-model.ts';
import { selectDbtSteps } from '../../core/steps.ts';
import { jsonChecked } from '../../facts/reader.ts';
import { LocalFolder } from '../../storage/local.ts';
import { arg, dbtCloud, clientOptions, commandConfig, defineCommand } from '../command.ts';

export const ARTIFACT_NAMES = ['manifest', 'catalog', 'run_results', 'sources'] as const;

export const retrieveMostRecentArtifact = defineCommand({
  name: 'retrieve-most-recent-artifact',
  summary: "fetch the newest successful run's manifest (or other artifact) of a job",
  usage: `{manifest|catalog|run_results|sources}
         --job-id J --output-folder DIR [--step N] [--commit SHA]`,
  description: `Writes DIR/<artifact>.json from the newest successful run of job J (ordered by finish time), for
dbt's state-based selection (dbt build --select state:modified+ --state DIR). An existing file of the
same name is replaced, once the new one is complete and checked to be JSON.
Exit status: 0 written; 1 no such run or file; 2 bad usage.`,
  dbtCloud: true,
  settings: ['jobId'],
  args: {
    artifact: arg.text(oneOf(ARTIFACT_NAMES), 'the artifact', {
      position: 0,
      placeholder: 'ARTIFACT',
      required: `name the artifact: one of ${ARTIFACT_NAMES.join(', ')}`,
    }),
    'output-folder': arg.path('folder-to-write', 'where to write', {
      placeholder: 'DIR',
      required: '--output-folder DIR is required',
    }),
    step: arg.text(positiveInt(), 'the run step to read (default: the last dbt step that wrote the file)', {
      placeholder: 'N',
    }),
    commit: arg.text(
      anyText.refine((s) => /^[0-9a-f]{4,40}$/i.test(s), 'must be a git SHA (4 to 40 hex digits)'),
      'the newest successful run at this git commit (a prefix is enough)',
      { placeholder: 'SHA' },
    ),
  },
  async run(ctx) {
    const { io, args } = ctx;
    const config = commandConfig(ctx, { needs: ['dbtCloud', 'jobId'] });
    const { jobId } = config;
    const { step, commit: sha, 'output-folder': dir } = args;
    const file = `${args.artifact}.json`;
    const client = await dbtCloud(config.dbtCloud, clientOptions(io, config));
    try {
      const run = await client.getMostRecentRun({ jobId, status: RunStatus.Success, gitSha: sha });
      if (!run) {
        // No run at all may mean no such job: asking for it says so (exit 2, naming the job id).
        await client.getJob(jobId);
        io.stderr(
          `No successful run of job ${jobId}${sha ? ` at commit ${sha}` : ''} in account ${config.dbtCloud.accountId}.\n`,
        );
        return 1;
      }
      // The step: as asked, else the last dbt step that wrote the file.
      const candidates =
        step !== undefined
          ? [step]
          : selectDbtSteps(await client.getRun(run.id, ['run_steps', 'job']))
              .steps.map((s) => s.index)
              .reverse();
      for (const index of candidates.length > 0 ? candidates : [undefined]) {
        const artifact = await client.getRunArtifact(run.id, file, index);
        if (!artifact.found) continue;
        const folder = new LocalFolder(dir);
        // Checked whole before it replaces the file (an HTML page or a body cut short never does).
        const checked = jsonChecked(file);
        pipeline(artifact.body, checked, () => {});
        await folder.write(file, checked, { contentType: 'application/json', replace: true });
        io.stdout(
          `${JSON.stringify({ file: folder.resolve(file), runId: run.id, jobId, step: index ?? null, gitSha: run.git_sha ?? null, finishedAt: run.finished_at })}\n`,
        );
        return 0;
      }
      io.stderr(`Run ${run.id} of job ${jobId} has no ${file}${step !== undefined ? ` in step ${step}` : ''}.\n`);
      return 1;
    } finally {
      client.close();
    }
  },
});
