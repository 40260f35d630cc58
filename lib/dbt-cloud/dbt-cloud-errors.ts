/**
 * The errors of talking to dbt Cloud: HTTP statuses, unreachable hosts, answers of the wrong shape,
 * artifact bodies that break off.
 * @module
 */
import { ACCESS_URL_WHERE } from '../config/host.ts';
import { HarvesterError } from '../core/errors.ts';

export class DbtCloudError extends HarvesterError {}

export interface HttpErrorInit {
  method: string;
  url: string;
  status: number;
  userMessage: string | null;
  retriable: boolean;
  attempts: number;
  /** For an answer that could have been retried: the time already spent waiting, and what the server asked. */
  waitedMs?: number;
  retryAfterMs?: number | null;
}

/** dbt Cloud answered with an HTTP error status. */
export class DbtCloudHttpError extends DbtCloudError {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly userMessage: string | null;
  readonly retriable: boolean;
  readonly attempts: number;
  constructor(init: HttpErrorInit, message?: string, exitCode?: number) {
    super(
      `HTTP_${init.status}`,
      message ??
        `dbt Cloud answered ${init.status} to ${init.method} ${init.url}` +
          (init.userMessage ? `: ${init.userMessage}` : '') +
          (init.attempts > 1 ? ` (after ${init.attempts} attempts)` : '') +
          (init.retryAfterMs != null
            ? `; it asked to wait ${Math.round(init.retryAfterMs / 1000)} s more (Retry-After), past what one request waits in all (${Math.round((init.waitedMs ?? 0) / 1000)} s waited so far): try again later`
            : ''),
      exitCode !== undefined ? { exitCode } : undefined,
    );
    this.method = init.method;
    this.url = init.url;
    this.status = init.status;
    this.userMessage = init.userMessage;
    this.retriable = init.retriable;
    this.attempts = init.attempts;
  }
}

/** 401: the token is wrong, revoked, or (often) the host is not this account's access URL. */
export class DbtCloudAuthError extends DbtCloudHttpError {
  readonly host: string;
  constructor(init: HttpErrorInit, host: string) {
    super(
      init,
      `dbt Cloud answered 401 (${init.userMessage ?? 'unauthorized'}) to ${init.method} ${init.url}. ` +
        `Check DBT_CLOUD_TOKEN (--token): is it valid and does it have access to the account? And check that ${host} ` +
        `is this account's host: dbt Cloud answers "Invalid token." when an account is called on the wrong host. ` +
        `Set DBT_CLOUD_HOST (or --host) to the account's access URL (${ACCESS_URL_WHERE}), for example ab123.us1.dbt.com.`,
      2,
    );
    this.host = host;
  }
}

/** 403 or 404 for the account, a job or a run: a setting to fix, named in the message (exit 2). */
export class DbtCloudRefusedError extends DbtCloudHttpError {
  constructor(cause: DbtCloudHttpError, message: string) {
    super(
      {
        method: cause.method,
        url: cause.url,
        status: cause.status,
        userMessage: cause.userMessage,
        retriable: false,
        attempts: cause.attempts,
      },
      message,
      2,
    );
  }
}

/** The request never got an answer: connection refused or reset, DNS, timeout. */
export class DbtCloudNetworkError extends DbtCloudError {
  readonly method: string;
  readonly url: string;
  readonly attempts: number;
  constructor(method: string, url: string, attempts: number, reason: string, cause?: unknown) {
    super(
      'NETWORK',
      `Could not reach dbt Cloud for ${method} ${url}` +
        (attempts > 1 ? ` after ${attempts} attempts` : '') +
        `: ${reason}`,
      { cause },
    );
    this.method = method;
    this.url = url;
    this.attempts = attempts;
  }
}

/** dbt Cloud cannot be reached as configured, and retrying will not change that: a setting to fix (exit 2). */
export class DbtCloudUnreachableError extends DbtCloudError {
  readonly method: string;
  readonly url: string;
  constructor(method: string, url: string, reason: string, cause?: unknown) {
    super('UNREACHABLE', `Cannot reach dbt Cloud for ${method} ${url}: ${reason}`, { cause, exitCode: 2 });
    this.method = method;
    this.url = url;
  }
}

/** The caller's deadline came before the request could succeed. */
export class DeadlineError extends DbtCloudError {
  constructor(message: string) {
    super('DEADLINE', message);
  }
}

/** dbt Cloud answered 2xx with a body that is not JSON or not of the documented shape. */
export class DbtCloudResponseError extends DbtCloudError {
  readonly url: string;
  readonly issues: readonly string[];
  constructor(url: string, problem: string, issues: readonly string[] = []) {
    super(
      'BAD_RESPONSE',
      `dbt Cloud's answer to ${url} ${problem}${issues.length > 0 ? `: ${issues.slice(0, 5).join('; ')}` : ''}`,
    );
    this.url = url;
    this.issues = issues;
  }
}

/** An artifact body ended early or broke off; nothing of it may be kept. */
export class ArtifactIncompleteError extends DbtCloudError {
  readonly url: string;
  readonly received: number;
  readonly expected: number | null;
  constructor(url: string, received: number, expected: number | null, reason: string, cause?: unknown) {
    super(
      'ARTIFACT_INCOMPLETE',
      `Artifact ${url} broke off after ${received}` +
        (expected !== null ? ` of ${expected}` : '') +
        ` bytes: ${reason}`,
      { cause },
    );
    this.url = url;
    this.received = received;
    this.expected = expected;
  }
}

/** A `.json` artifact that is not JSON: a proxy's HTML page, an error text. Nothing of it is stored. */
export class ArtifactNotJsonError extends DbtCloudError {
  readonly url: string;
  constructor(url: string, reason: string) {
    super('ARTIFACT_NOT_JSON', `Artifact ${url} is not JSON (${reason}); nothing of it is stored`);
    this.url = url;
  }
}

export class ArtifactNotParquetError extends DbtCloudError {
  readonly url: string;
  constructor(url: string, reason: string) {
    super('ARTIFACT_NOT_PARQUET', `Artifact ${url} is not Parquet (${reason}); nothing of it is stored`);
    this.url = url;
  }
}

export class WaitTimeoutError extends DbtCloudError {
  constructor(runId: number, seconds: number, lastStatus: string) {
    super('WAIT_TIMEOUT', `Run ${runId} did not finish within ${seconds} s (last status: ${lastStatus})`);
  }
}

/** A list answered the same rows again for a new offset: paging would never end. */
export class PagingStuckError extends DbtCloudError {
  constructor(url: string, offset: number) {
    super(
      'PAGING_STUCK',
      `dbt Cloud answered ${url} with only rows already listed (offset ${offset}): it seems to ignore offset, so the listing stopped rather than loop.`,
    );
  }
}

/** A listing read its most pages without getting to its end. */
export class ListingTooLongError extends DbtCloudError {
  constructor(url: string, pages: number, rows: number) {
    super(
      'LISTING_TOO_LONG',
      `Listing ${url} stopped after ${pages} pages (${rows} runs) without reaching the window's start: the account has more runs after the window than one listing reads. Narrow the window, or filter by project, environment or job.`,
    );
  }
}
