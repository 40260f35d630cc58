/**
 * The scope of a deployment or a harvest: the project, environment and jobs it harvests, and
 * whether cancelled runs count. Built once from the configuration; selection, harvestRun, the
 * webhook receiver and the dispatchers all ask it, so that a run one of them accepts is one the
 * others accept too.
 * @module
 */
import { RunStatus, type RunRow } from './run-model.ts';

export interface Scope {
  readonly projectId?: number;
  readonly environmentId?: number;
  /** Only these jobs (absent or empty: every job). */
  readonly jobIds?: readonly number[];
  readonly includeCancelled: boolean;
}

/** Every run of the account that ended in success or error. */
export const WHOLE_ACCOUNT: Scope = { includeCancelled: false };

/** The terminal statuses the scope keeps. */
export function scopeStatuses(scope: Scope): number[] {
  return scope.includeCancelled
    ? [RunStatus.Success, RunStatus.Error, RunStatus.Cancelled]
    : [RunStatus.Success, RunStatus.Error];
}

const keepsJob = (scope: Scope, jobId: number): boolean =>
  !scope.jobIds || scope.jobIds.length === 0 || scope.jobIds.includes(jobId);

/** Whether a run is in scope: its status, project, environment and job, whatever its time. */
export function runInScope(
  scope: Scope,
  run: Pick<RunRow, 'status' | 'project_id' | 'environment_id' | 'job_definition_id'>,
): boolean {
  return (
    outsideBecause(scope, {
      jobId: run.job_definition_id,
      projectId: run.project_id,
      environmentId: run.environment_id,
      cancelled: run.status === RunStatus.Cancelled,
      status: run.status,
    }) === null
  );
}

/** What an event says of a run; what it does not say is left to harvestRun, which reads the run. */
export interface RunFacts {
  jobId: number;
  projectId?: number | null;
  environmentId?: number | null;
  /** Whether it was cancelled, when known. */
  cancelled?: boolean;
  /** The status code, when known. */
  status?: number | null;
}

/**
 * Why a run is outside the scope, said of it ("is in project 3, not 4"), or null when it is in (or
 * the facts given cannot tell).
 */
export function outsideBecause(scope: Scope, run: RunFacts): string | null {
  if (scope.projectId !== undefined && run.projectId != null && run.projectId !== scope.projectId)
    return `is in project ${run.projectId}, not ${scope.projectId}`;
  if (scope.environmentId !== undefined && run.environmentId != null && run.environmentId !== scope.environmentId)
    return `is in environment ${run.environmentId}, not ${scope.environmentId}`;
  if (!keepsJob(scope, run.jobId)) return `is of job ${run.jobId}, which is not among HARVEST_JOB_IDS`;
  if (run.cancelled && !scope.includeCancelled)
    return 'was cancelled (set HARVEST_INCLUDE_CANCELLED to store cancelled runs)';
  if (run.status != null && !run.cancelled && !scopeStatuses(scope).includes(run.status))
    return `has status ${run.status}, not a terminal status the scope keeps`;
  return null;
}

/** The scope narrowed to some jobs (a backfill's): never wider. Null when none of them is in scope. */
export function narrowToJobs(scope: Scope, jobIds: readonly number[] | undefined): Scope | null {
  if (!jobIds) return scope;
  const kept = jobIds.filter((id) => keepsJob(scope, id));
  return kept.length > 0 ? { ...scope, jobIds: kept } : null;
}
