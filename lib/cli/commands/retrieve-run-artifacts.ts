/**
 * retrieve-run-artifacts: one run's artifacts by its id, written under their own names as dbt left
 * them in target/ (each from the last step of the run that has it, unless --step says which), so
 * that dbt-coverage, dbterd or `dbt --state` read the folder as a target/. The files to ask for are
 * the harvest's (core/artifacts.ts): the run's list and dbt's table of which command writes what.
 * @module
 */
import { pipeline } from 'node:stream';
import { z } from 'zod';
import { positiveInt } from '../../config/text-values.ts';
import { planArtifacts } from '../../core/artifacts.ts';
import { InputError } from '../../core/errors.ts';
import { selectDbtSteps } from '../../core/steps.ts';
import { checkedArtifact, storedContentType } from '../../facts/checked.ts';
import { LocalFolder } from '../../storage/local.ts';
import { arg, dbtCloud, clientOptions, commandConfig, defineCommand } from '../command.ts';

/** `manifest` or `manifest.json`: a top-level JSON artifact's name. */
const artifactArg = z
  .string()
  .transform((s) => (s.endsWith('.json') ? s : `${s}.json`))
  .pipe(
    z
      .string()
      .regex(
        /^[A-Za-z0-9_][A-Za-z0-9_.-]*\.json$/,
        'must name a JSON artifact of target/, such as manifest or sources.json',
      ),
  );

export const retrieveRunArtifacts = defineCommand({
  name: 'retrieve-run-artifacts',
  summary: "fetch one run's artifacts by its id, as dbt left them in target/",
  usage: `--run-id R --output-folder DIR [--step N] [--artifact NAME ...] [--force]`,
  description: `Writes the run's artifacts into DIR under their own names (manifest.json, run_results.json,
catalog.json, sources.json, freshness.json, semantic_manifest.json, ..., and a Fusion run's
metadata/telemetry-<step>-otel.parquet): each from the last step of the run that wrote it, or from step N.
Without --artifact, every top-level JSON artifact the run has, and its telemetry. Each file is checked
to be one whole JSON document (or Parquet file) before it is placed. Files already in DIR under those
names are left alone and the command stops, unless --force: then each is replaced only once the new
one is whole.
Exit status: 0 written; 1 an --artifact the run does not have; 2 bad usage, or a run id that does not exist.`,
  dbtCloud: true,
  settings: [],
  args: {
    'run-id': arg.text(positiveInt(), 'the run', { placeholder: 'R', required: '--run-id R is required' }),
    'output-folder': arg.path('folder-to-write', 'where to write', {
      placeholder: 'DIR',
      required: '--output-folder DIR is required',
    }),
    step: arg.text(positiveInt(), 'the run step to read (default: the last that wrote each file)', {
      placeholder: 'N',
    }),
    artifact: arg.text(artifactArg, 'only this artifact (repeatable): manifest, catalog, run_results, sources, ...', {
      placeholder: 'NAME',
      multiple: true,
    }),
    force: arg.switch(
      'replace files of the same names already in the folder (by default they are left alone, and the command stops)',
    ),
  },
  async run(ctx) {
    const { io, args } = ctx;
    const config = commandConfig(ctx, { needs: ['dbtCloud'] });
    const runId = args['run-id'];
    const asked = args.artifact ? [...new Set(args.artifact)] : undefined;
    const client = await dbtCloud(config.dbtCloud, clientOptions(io, config));
    try {
      const run = await client.getRun(runId, ['run_steps', 'job']);
      const all = selectDbtSteps(run).steps;
      let steps = all;
      if (args.step !== undefined) {
        const only = all.filter((s) => s.index === args.step);
        if (only.length === 0)
          throw new InputError(`run ${runId} has no dbt step ${args.step}`, [
            all.length > 0
              ? `its dbt steps are ${all.map((s) => `${s.index} (${s.command})`).join(', ')}`
              : 'it ran no dbt step',
          ]);
        steps = only;
      }
      const listed = steps.length > 0 ? await client.listRunArtifacts(runId) : [];
      const plan = planArtifacts(all, listed.length > 0 ? listed : null, asked ?? 'all').filter((p) =>
        steps.includes(p.step),
      );
      const folder = new LocalFolder(args['output-folder']);
      const written: { file: string; step: number; bytes: number }[] = [];
      const files = [...new Set([...(asked ?? []), ...plan.map((p) => p.file)])];
      // A file this command did not write (a package.json, a target/ of your own) is never replaced
      // unless asked: the run's list may name any file.
      const there = [];
      for (const file of files) if (await folder.exists(file)) there.push(file);
      if (there.length > 0 && !args.force)
        throw new InputError(`${args['output-folder']} already has ${there.join(', ')}`, [
          'nothing was replaced: write into an empty folder, or add --force to replace them',
        ]);
      const missing: string[] = [];
      for (const file of files) {
        // The last step that wrote it: the latest candidate that has it.
        const candidates = plan.filter((p) => p.file === file).sort((a, b) => b.step.index - a.step.index);
        let done = false;
        for (const c of candidates) {
          const artifact = await client.getRunArtifact(runId, file, c.step.index);
          if (!artifact.found) continue;
          const checked = checkedArtifact(file);
          pipeline(artifact.body, checked, () => {});
          const result = await folder.write(file, checked, { contentType: storedContentType(file), replace: true });
          written.push({ file, step: c.step.index, bytes: result.bytes });
          done = true;
          break;
        }
        if (!done && asked?.includes(file)) missing.push(file);
      }
      io.stdout(`${JSON.stringify({ runId, folder: args['output-folder'], files: written, missing })}\n`);
      for (const file of missing)
        io.stderr(`Run ${runId} has no ${file}${args.step !== undefined ? ` in step ${args.step}` : ''}.\n`);
      return missing.length > 0 ? 1 : 0;
    } finally {
      client.close();
    }
  },
});
