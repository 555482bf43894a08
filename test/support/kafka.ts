// Helpers for tests against the real Kafka broker that scripts/kafka/kafka.sh starts on loopback
// (or the one KAFKA_BROKERS names). The tests expect a running broker: they do not start one.
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';

/** Comma-separated host:port list of the test broker. */
export function kafkaBrokers(): string {
  return process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
}

// kafkajs logs expected error responses (topic exists, broker not up yet) at ERROR: errors that
// matter are thrown instead.
async function withAdmin<T>(retries: number, use: (admin: Admin) => Promise<T>): Promise<T> {
  const client = new Kafka({
    clientId: 'test-support',
    brokers: kafkaBrokers().split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries },
  }).admin();
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.disconnect();
  }
}

/** Resolves once a broker answers a metadata request; rejects after `timeoutMs` with the last error. */
export async function waitForKafka(timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string;
    try {
      const { brokers } = await withAdmin(0, (client) => client.describeCluster());
      if (brokers.length > 0) return;
      last = 'no broker listed';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Kafka at ${kafkaBrokers()} not ready within ${timeoutMs} ms (${last}); start it with scripts/kafka/kafka.sh start`,
      );
    }
    await sleep(250);
  }
}

/**
 * Creates the topic (replication factor 1) and waits for its partition leaders. A no-op if it exists,
 * whatever its partition count: the broker auto-creates topics (3 partitions) on first metadata
 * request, so create a test's topics before any client touches them.
 */
export async function createTopic(name: string, partitions = 1): Promise<void> {
  await withAdmin(5, (client) =>
    client.createTopics({
      topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    }),
  );
}
