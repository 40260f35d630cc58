/**
 * Publishing run messages to Pub/Sub. Every publish is awaited; a failure rejects.
 *
 * The Pub/Sub client takes about 0.3 s to load (gRPC and its protobufs), more than the rest of a
 * function together, and blocks the instance while it loads: it is loaded by the first publish, so
 * that a cold instance answers at once whatever does not publish (a refused or unsigned request, a
 * webhook event that is not for it), and the first publish pays the load
 * (npm run measure:cold-start measures both).
 * @module
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { TopicName } from '../config/options.ts';
import { messageAttributes, type RunMessage } from '../core/messages.ts';

/** Publishes messages built by messageFor (validated there). */
export interface RunPublisher {
  publish(messages: readonly RunMessage[]): Promise<number>;
}

export class PubSubRunPublisher implements RunPublisher {
  private readonly name: TopicName;
  private readonly client: PubSub | undefined;
  private topic: Promise<Topic> | undefined;

  constructor(name: TopicName, pubsub?: PubSub) {
    this.name = name;
    this.client = pubsub;
  }

  private open(): Promise<Topic> {
    const { name } = this;
    const client = this.client
      ? Promise.resolve(this.client)
      : import('@google-cloud/pubsub').then(
          ({ PubSub: Client }) => new Client(name.project ? { projectId: name.project } : {}),
        );
    const topic = client.then((c) => c.topic(name.topic, { batching: { maxMessages: 100, maxMilliseconds: 20 } }));
    // A load that failed is tried again by the next publish.
    topic.catch(() => (this.topic = undefined));
    return topic;
  }

  publish(messages: readonly RunMessage[]): Promise<number> {
    return this.publishJson(messages.map((m) => ({ data: m, attributes: messageAttributes(m) })));
  }

  /** Publishes JSON messages of any shape (the "run stored" messages for alertRun), awaited. */
  async publishJson(messages: readonly { data: unknown; attributes: Record<string, string> }[]): Promise<number> {
    this.topic ??= this.open();
    const topic = await this.topic;
    const results = await Promise.allSettled(
      messages.map((m) =>
        topic.publishMessage({ data: Buffer.from(JSON.stringify(m.data)), attributes: m.attributes }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      const reason = (failed[0] as PromiseRejectedResult).reason as unknown;
      throw new Error(
        `${failed.length} of ${messages.length} messages were not published: ${reason instanceof Error ? reason.message : String(reason)}`,
      );
    }
    return messages.length;
  }
}
