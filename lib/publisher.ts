import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { Run } from './dbt-cloud/schemas.ts';
import { RunMessageSchema, type RunMessage } from './messages.ts';
import { formatWindow, type Window } from './time.ts';

/** Publishes one message per run. Every publish is awaited; a failure rejects. */
export interface RunPublisher {
  publish(messages: readonly RunMessage[]): Promise<number>;
}

export function messagesFor(runs: readonly Run[], window: Window, source: RunMessage['source']): RunMessage[] {
  return runs.map((run) =>
    RunMessageSchema.parse({ runId: run.id, jobId: run.job_definition_id, finishedAt: run.finished_at ?? undefined, source, window: formatWindow(window) }),
  );
}

/** `projects/P/topics/T` or a topic id. */
export function topicName(runsTopic: string): { project?: string; topic: string } {
  const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(runsTopic);
  return m ? { project: m[1]!, topic: m[2]! } : { topic: runsTopic };
}

export class PubSubRunPublisher implements RunPublisher {
  private readonly topic: Topic;

  constructor(runsTopic: string, pubsub?: PubSub) {
    const { project, topic } = topicName(runsTopic);
    const client = pubsub ?? new PubSub(project ? { projectId: project } : {});
    this.topic = client.topic(topic, { batching: { maxMessages: 100, maxMilliseconds: 20 } });
  }

  async publish(messages: readonly RunMessage[]): Promise<number> {
    const results = await Promise.allSettled(
      messages.map((m) =>
        this.topic.publishMessage({
          data: Buffer.from(JSON.stringify(RunMessageSchema.parse(m))),
          attributes: { run_id: String(m.runId), ...(m.jobId !== undefined ? { job_id: String(m.jobId) } : {}), source: m.source ?? 'manual' },
        }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      const reason = (failed[0] as PromiseRejectedResult).reason as unknown;
      throw new Error(`${failed.length} of ${messages.length} messages were not published: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    return messages.length;
  }

  async close(): Promise<void> {
    await this.topic.flush().catch(() => {});
  }
}
