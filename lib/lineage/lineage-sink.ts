/**
 * Where exported events go, behind one small interface: a JSON Lines file here; an OpenLineage
 * HTTP endpoint (http-sink.ts) and Dataplex (dataplex-sink.ts) beside it.
 * @module
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { HarvesterError, errorMessage } from '../core/errors.ts';
import type { RunEvent } from './openlineage.ts';

/** Events could not be delivered: the export stops (exit status 1), naming where and why. */
export class LineageSinkError extends HarvesterError {
  constructor(where: string, cause: unknown, exitCode?: number) {
    super('LINEAGE_SINK', `Lineage could not be delivered to ${where}: ${errorMessage(cause)}`, {
      cause,
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }
}

/** Dataplex's lineage of a project and location: `projects/P/locations/L`. */
export const DATAPLEX_PARENT = /^projects\/[a-z0-9-]{4,30}\/locations\/[a-z0-9-]{2,40}$/;

export interface LineageSink {
  /** For messages: the file, URL or location. */
  readonly description: string;
  /** Takes one event; resolves when the sink can take another (bounded: it holds a batch at most). */
  send(event: RunEvent): Promise<void>;
  /** Delivers what it holds; rejects when an event could not be delivered. */
  close(): Promise<void>;
}

/** One event per line (JSON Lines), written as they come. */
export class JsonLinesFile implements LineageSink {
  readonly description: string;
  private readonly out: WriteStream;
  private failure: Error | null = null;

  constructor(path: string) {
    this.description = path;
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.on('error', (err) => (this.failure ??= err));
  }

  async send(event: RunEvent): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(`${JSON.stringify(event)}\n`)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    this.out.end();
    if (!this.out.writableFinished) await once(this.out, 'finish');
    if (this.failure) throw this.failure;
  }
}
