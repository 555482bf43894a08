// RecordPublisher on Kafka through kafkajs: an idempotent producer (acks from all in-sync replicas,
// one request in flight, so a partition never sees a retried batch overtake a later one), with
// retries bounded so that the caller, not kafkajs, owns the long wait while the broker is away.
// The topic is created on first use with a set partition count, before the producer asks for it
// (a broker that auto-creates topics would otherwise pick its own count).
import { Kafka, logLevel, Partitioners, type Admin, type LogEntry, type Producer } from 'kafkajs';
import type { OutgoingMessage, RecordPublisher } from './record-publisher.js';

export type PublisherLogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface KafkaJsPublisherOptions {
  /** Bootstrap brokers, host:port. */
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
  /** Partitions of the topic when this publisher creates it (an existing topic is left as it is). */
  readonly partitions: number;
  /** Replicas when this publisher creates the topic; default: min(3, brokers in the cluster). */
  readonly replicationFactor?: number;
  /** Most bytes of keys and values per produce request; a batch above it is sent in several. */
  readonly maxRequestBytes?: number;
  /** kafkajs's own log lines (connection errors, retries), e.g. to the app's debug log. */
  readonly log?: (level: PublisherLogLevel, message: string) => void;
  /** Per-connection timeouts and the bounded retry of kafkajs (tests shorten them). */
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retries?: number;
}

const LEVELS: Partial<Record<logLevel, PublisherLogLevel>> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// A broker-side produce request is capped by message.max.bytes (1 MiB by default) per partition
// batch; half of it leaves room for headers and framing.
const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;
const DISCONNECT_TIMEOUT_MS = 5000;

export class KafkaJsPublisher implements RecordPublisher {
  private readonly kafka: Kafka;
  private producer?: Producer;
  private connecting?: Promise<Producer>;
  private topicReady = false;
  private closed = false;

  constructor(private readonly options: KafkaJsPublisherOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaJsPublisher needs at least one broker');
    if (!Number.isInteger(options.partitions) || options.partitions < 1)
      throw new Error(`partitions must be a positive integer, got ${options.partitions}`);
    const log = options.log;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      // About 2 s of retries (0.3 + 0.6 + 1.2 s, randomised) around each connect, metadata and
      // produce request: enough for a leader change, short enough to hand a dead broker back to
      // the caller's back-off.
      retry: { retries: options.retries ?? 3, initialRetryTime: 300, maxRetryTime: 2000 },
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

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    if (messages.length === 0) return;
    const producer = await this.connectProducer();
    try {
      // In order, one request at a time: a later chunk never lands before an earlier one.
      for (const chunk of this.chunks(messages)) {
        await producer.send({
          topic: this.options.topic,
          acks: -1,
          messages: chunk.map((m) => ({
            key: m.key,
            value: m.value,
            ...(m.headers ? { headers: { ...m.headers } } : {}),
          })),
        });
      }
    } catch (error) {
      // A fresh producer (new producer id, sequence numbers from zero) for the next attempt: after
      // a failed request kafkajs's idempotence state may no longer match the broker's, and the
      // re-sent batch would then be refused as out of sequence for ever. The topic is looked up
      // again too, in case it was deleted.
      this.topicReady = false;
      await this.dropProducer();
      throw error;
    }
  }

  async connect(): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    await this.connectProducer();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.dropProducer();
  }

  private connectProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Producer> {
    if (!this.topicReady) {
      await this.withAdmin((admin) => this.ensureTopic(admin));
      this.topicReady = true;
    }
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Murmur2 of the key, as the Java client: a key lands on the same partition whoever writes it.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: this.options.retries ?? 3, initialRetryTime: 300, maxRetryTime: 2000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      await disconnect(producer);
      throw error;
    }
    if (this.closed) {
      await disconnect(producer);
      throw new Error('publisher is closed');
    }
    this.producer = producer;
    return producer;
  }

  private async ensureTopic(admin: Admin): Promise<void> {
    const { topic, partitions } = this.options;
    if ((await admin.listTopics()).includes(topic)) return;
    const replicationFactor =
      this.options.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length || 1);
    // false when another client created it in between: fine, it exists.
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor }],
      waitForLeaders: true,
    });
  }

  private async withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      return await use(admin);
    } finally {
      await disconnect(admin);
    }
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await disconnect(producer);
  }

  private *chunks(messages: readonly OutgoingMessage[]): Generator<OutgoingMessage[]> {
    const max = this.options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    let chunk: OutgoingMessage[] = [];
    let bytes = 0;
    for (const message of messages) {
      let size = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
      for (const [name, value] of Object.entries(message.headers ?? {}))
        size += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (chunk.length > 0 && bytes + size > max) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(message);
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }
}

/** Disconnects, bounded: kafkajs can wait long on a broker that went away. */
async function disconnect(client: { disconnect(): Promise<void> }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.disconnect().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISCONNECT_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}
