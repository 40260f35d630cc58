/**
 * Object paths, Hive-style so BigQuery and Spark read the partitions:
 *   [prefix/]date=YYYY-MM-DD/hour=HH/job_id=<job>/run_id=<id>/_run.json
 *   [prefix/]date=YYYY-MM-DD/hour=HH/job_id=<job>/run_id=<id>/step=<index>/<file>
 * date and hour come from the run's finished_at in UTC. The sink adds the destination's prefix.
 * @module
 */
import type { Run } from './run.ts';
import { parseTimestamp } from './time.ts';

export const RUN_MARKER = '_run.json';

export function runDirectory(run: Pick<Run, 'id' | 'job_definition_id' | 'finished_at'>): string {
  if (!run.finished_at) throw new Error(`run ${run.id} has not finished`);
  const iso = parseTimestamp(run.finished_at, 'finished_at').toISOString();
  return [
    `date=${iso.slice(0, 10)}`,
    `hour=${iso.slice(11, 13)}`,
    `job_id=${run.job_definition_id}`,
    `run_id=${run.id}`,
  ].join('/');
}

export function runMarkerPath(runDir: string): string {
  return `${runDir}/${RUN_MARKER}`;
}

export function artifactPath(runDir: string, step: number, fileName: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(fileName) || fileName === '.' || fileName === '..')
    throw new Error(`unsafe file name ${JSON.stringify(fileName)}`);
  return `${runDir}/step=${step}/${fileName}`;
}
