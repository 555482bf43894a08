// KafkaJsPublisher against the real broker (scripts/kafka/kafka.sh start): creates its topic with
// the configured partition count, keeps each key on one partition in order, splits large batches,
// and gives up in bounded time when no broker answers.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaJsPublisher } from '#messaging';
import { kafkaBrokers } from '../support/kafka.js';
import { exclusive, kafkaAvailable, readTopic, readTopicWithKcat } from './kafka-read-back.js';

const available = await kafkaAvailable('kafka-publisher.int-spec');

describe.skipIf(!available)('KafkaJsPublisher on the real broker', () => {
  const topic = `publisher-test-${randomBytes(4).toString('hex')}`;
  let publisher: KafkaJsPublisher;

  // Not while another run's relay test has the broker stopped.
  let release: () => void = () => undefined;
  beforeAll(async () => {
    release = await exclusive('broker-outage', 900_000);
    publisher = new KafkaJsPublisher({
      brokers: kafkaBrokers().split(','),
      topic,
      clientId: 'publisher-int-spec',
      partitions: 4,
      // Small requests, to see one batch split in several.
      maxRequestBytes: 4096,
    });
  }, 900_000);

  afterAll(async () => {
    release();
    await publisher?.close();
    const admin = new Kafka({
      clientId: 'cleanup',
      brokers: kafkaBrokers().split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates the topic with the configured partitions and keeps each key in order on one partition', async () => {
    const keys = ['tenant-a', 'tenant-b', 'tenant-c', 'service'];
    const messages = Array.from({ length: 400 }, (_, i) => ({
      key: keys[i % keys.length]!,
      value: JSON.stringify({ n: i, pad: 'x'.repeat(100) }),
      headers: { 'record-id': `r${i}`, sequence: String(Math.floor(i / keys.length) + 1) },
    }));
    await publisher.publish(messages.slice(0, 250));
    await publisher.publish(messages.slice(250));

    const admin = new Kafka({
      clientId: 'check',
      brokers: kafkaBrokers().split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata.topics[0]!.partitions).toHaveLength(4);

    const read = await readTopic(topic);
    expect(read).toHaveLength(400);
    const partitionOf = new Map<string, number>();
    for (const m of read) {
      expect(partitionOf.get(m.key) ?? m.partition).toBe(m.partition);
      partitionOf.set(m.key, m.partition);
    }
    for (const key of keys) {
      const sequences = read.filter((m) => m.key === key).map((m) => Number(m.headers['sequence']));
      expect(sequences).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    }
    // librdkafka reads the same messages, headers included.
    expect(await readTopicWithKcat(topic)).toEqual(read);
  });

  it('gives up in bounded time when no broker answers', async () => {
    const unreachable = new KafkaJsPublisher({
      brokers: ['127.0.0.1:1'],
      topic,
      clientId: 'publisher-int-spec-down',
      partitions: 1,
      connectionTimeoutMs: 500,
    });
    const started = Date.now();
    await expect(unreachable.publish([{ key: 'k', value: 'v' }])).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(15_000);
    await unreachable.close();
  });
});
