/**
 * Publishing run messages to Pub/Sub. Every publish is awaited; a failure rejects.
 * @module
 */
import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { TopicName } from '../config/options.ts';
import { messageAttributes, type RunMessage } from '../core/messages.ts';

/** Publishes messages built by messageFor (validated there). */
export interface RunPublisher {
  publish(messages: readonly RunMessage[]): Promise<number>;
}

export class PubSubRunPublisher implements RunPublisher {
  private readonly topic: Topic;

  constructor(name: TopicName, pubsub?: PubSub) {
    const client = pubsub ?? new PubSub(name.project ? { projectId: name.project } : {});
    this.topic = client.topic(name.topic, { batching: { maxMessages: 100, maxMilliseconds: 20 } });
  }

  async publish(messages: readonly RunMessage[]): Promise<number> {
    const results = await Promise.allSettled(
      messages.map((m) => this.topic.publishMessage({ data: Buffer.from(JSON.stringify(m)), attributes: messageAttributes(m) })),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      const reason = (failed[0] as PromiseRejectedResult).reason as unknown;
      throw new Error(`${failed.length} of ${messages.length} messages were not published: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    return messages.length;
  }
}
