/*
 * Where runs are stored, as typed text: `gs://bucket[/prefix]` or a local folder. Parsed once, at
 * start-up, so that no lower layer ever meets a destination it cannot use.
 */
export type Destination = { kind: 'gcs'; bucket: string; prefix: string } | { kind: 'local'; path: string };

/** Cloud Storage's bucket naming rules (lower case, digits, `-`, `_`, `.`; 3 to 222 characters). */
export function isValidBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name) && !name.includes('..');
}

/** The destination a text names, or why it names none. */
export function parseDestination(text: string): Destination | { problem: string } {
  const trimmed = text.trim();
  if (/^gs:(?!\/\/)/i.test(trimmed))
    return { problem: `"${text}" is not gs://BUCKET[/PREFIX]: two slashes follow gs:` };
  if (trimmed.startsWith('gs://')) {
    const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(trimmed);
    if (!m || !isValidBucketName(m[1]!))
      return { problem: `"${text}" is not gs://BUCKET[/PREFIX] with a valid bucket name` };
    const segments = m[2]!.split('/').filter(Boolean);
    if (segments.some((s) => s === '.' || s === '..')) return { problem: `"${text}" has . or .. in its prefix` };
    return { kind: 'gcs', bucket: m[1]!, prefix: segments.join('/') };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed))
    return { problem: `"${text}" must be gs://BUCKET[/PREFIX] or a local folder` };
  return { kind: 'local', path: trimmed };
}

/** Where in a bucket a destination's objects are: their names under the prefix, and how to name the place. */
export interface BucketPlace {
  /** Without leading or trailing slashes; empty for the bucket's root. */
  readonly prefix: string;
  /** `gs://bucket[/prefix]`, for messages. */
  readonly description: string;
  /** The object name of a path relative to the destination. */
  objectName(path: string): string;
}

export function bucketPlace(bucket: string, prefix: string): BucketPlace {
  const clean = prefix.replace(/^\/+|\/+$/g, '');
  return {
    prefix: clean,
    description: `gs://${bucket}${clean ? `/${clean}` : ''}`,
    objectName: (path) => (clean ? `${clean}/${path}` : path),
  };
}
