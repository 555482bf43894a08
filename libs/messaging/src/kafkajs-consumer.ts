// RecordConsumer on Kafka through kafkajs: a consumer group with auto-commit off. Each batch is
// handled record by record; offsets are committed explicitly, never ahead of the records handled
// (every `commitEvery` records and at the end of the batch), so a crash only re-delivers records
// whose handling may or may not have completed: the handler must be idempotent.
import { Kafka, logLevel, type Consumer, type LogEntry } from 'kafkajs';
import type { IncomingMessage, RecordConsumer } from './record-consumer.js';
import type { PublisherLogLevel } from './kafkajs-publisher.js';

export interface KafkaJsConsumerOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly clientId: string;
  /** Start at the topic's beginning when the group has no committed offset (default true). */
  readonly fromBeginning?: boolean;
  /** Records handled between two commits inside one batch (default 100). */
  readonly commitEvery?: number;
  readonly log?: (level: PublisherLogLevel, message: string) => void;
}

const LEVELS: Partial<Record<logLevel, PublisherLogLevel>> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export class KafkaJsConsumer implements RecordConsumer {
  private readonly kafka: Kafka;
  private consumer?: Consumer;

  constructor(private readonly options: KafkaJsConsumerOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaJsConsumer needs at least one broker');
    const log = options.log;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: 3000,
      // Bounded like the publisher's: the caller (the intake's start loop) owns the long wait.
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2000 },
      logLevel: log ? logLevel.INFO : logLevel.NOTHING,
      logCreator: () => (entry: LogEntry) => {
        const level = LEVELS[entry.level];
        if (!log || !level) return;
        const { message, ...extra } = entry.log;
        const detail = 'error' in extra && extra.error ? `: ${String(extra.error)}` : '';
        log(level, `[${entry.namespace}] ${message}${detail}`);
      },
    });
  }

  async start(handle: (message: IncomingMessage) => Promise<void>): Promise<void> {
    if (this.consumer) throw new Error('consumer already started');
    const { topic } = this.options;
    const commitEvery = this.options.commitEvery ?? 100;
    const consumer = this.kafka.consumer({ groupId: this.options.groupId, allowAutoTopicCreation: false });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        let pending: string | undefined;
        let sinceCommit = 0;
        const commit = async () => {
          if (pending === undefined) return;
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: pending }]);
          pending = undefined;
          sinceCommit = 0;
        };
        try {
          for (const m of batch.messages) {
            if (!isRunning() || isStale()) break;
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(m.headers ?? {}))
              if (value !== undefined) headers[name] = String(value);
            await handle({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              ...(m.key ? { key: m.key.toString() } : {}),
              value: m.value?.toString() ?? '',
              headers,
            });
            resolveOffset(m.offset);
            // The committed offset is the next record to read.
            pending = String(BigInt(m.offset) + 1n);
            if (++sinceCommit >= commitEvery) {
              await commit();
              await heartbeat();
            }
          }
        } finally {
          // Whatever was handled is committed, also when a record failed (it is re-delivered).
          await commit();
        }
      },
    });
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}
