// Reading a whole topic back for the Kafka integration tests, with two independent clients: kafkajs
// (a consumer in a fresh group, from the beginning) and Debian's kcat (librdkafka), plus the check
// that decides whether those tests run at all.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers, waitForKafka } from '../support/kafka.js';

export interface ReadMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: string;
}

/**
 * Whether the broker answers. Without one, the Kafka tests fail with a clear message under CI and
 * are skipped (with the same message) elsewhere.
 */
export async function kafkaAvailable(suite: string): Promise<boolean> {
  // Not while another run's relay test has the broker stopped on purpose.
  const release = await exclusive('broker-outage', 900_000);
  try {
    await waitForKafka(5000);
    return true;
  } catch (error) {
    const why = `${suite}: no Kafka broker at ${kafkaBrokers()} (${error instanceof Error ? error.message : String(error)})`;
    if (process.env.CI)
      throw new Error(`${why}. CI must start it first: scripts/kafka/kafka.sh start`, { cause: error });
    console.warn(`SKIPPED ${why}. Start one with scripts/kafka/kafka.sh start to run these tests.`);
    return false;
  } finally {
    release();
  }
}

const client = (clientId: string) =>
  new Kafka({ clientId, brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING });

/** Each partition's end offset (the offset the next message would get). */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const admin = client('read-back-admin').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Every message of the topic, in partition then offset order, read by a kafkajs consumer group. */
export async function readTopic(topic: string, timeoutMs = 60_000): Promise<ReadMessage[]> {
  const ends = await endOffsets(topic);
  const consumer = client('read-back-kafkajs').consumer({
    groupId: `read-back-${randomBytes(6).toString('hex')}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  const messages: ReadMessage[] = [];
  const next = new Map<number, number>();
  const done = () => [...ends].every(([partition, end]) => (next.get(partition) ?? 0) >= end);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    if (done()) finish();
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(m.headers ?? {})) headers[name] = String(value);
          messages.push({
            partition: batch.partition,
            offset: Number(m.offset),
            key: m.key?.toString() ?? '',
            headers,
            value: m.value?.toString() ?? '',
          });
          next.set(batch.partition, Number(m.offset) + 1);
        }
        if (done()) finish();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`kafkajs read ${messages.length} messages of ${topic} in ${timeoutMs} ms, not all`),
            ),
          timeoutMs,
        );
      }),
    ]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return sortByPosition(messages);
}

interface KcatJson {
  partition: number;
  offset: number;
  key: string | null;
  headers?: string[];
  payload: string | null;
}

/** Every message of the topic read by Debian's kcat (librdkafka), `-J` envelopes, until the end. */
export async function readTopicWithKcat(topic: string, timeoutMs = 60_000): Promise<ReadMessage[]> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const child = spawn(
    'kcat',
    ['-C', '-b', kafkaBrokers(), '-t', topic, '-o', 'beginning', '-e', '-J', '-q'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kcat exited with ${code}: ${Buffer.concat(err).toString()}`);
  const messages = Buffer.concat(out)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line): ReadMessage => {
      const m = JSON.parse(line) as KcatJson;
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < (m.headers ?? []).length; i += 2) headers[m.headers![i]!] = m.headers![i + 1]!;
      return { partition: m.partition, offset: m.offset, key: m.key ?? '', headers, value: m.payload ?? '' };
    });
  return sortByPosition(messages);
}

const sortByPosition = (messages: ReadMessage[]): ReadMessage[] =>
  messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);

/**
 * An exclusive lock across processes (flock(1) on a file under the broker's directory), for a test
 * that stops the shared broker: two runs of the suite on one machine then take turns instead of
 * restarting the broker under each other. Released by calling the returned function, or when this
 * process dies (flock's child sees its stdin close). Without flock(1): no lock.
 */
export async function exclusive(name: string, timeoutMs: number): Promise<() => void> {
  const file = path.resolve(process.env.KAFKA_HOME_DIR ?? '.kafka', `${name}.lock`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const child = spawn(
    'flock',
    ['-w', String(Math.ceil(timeoutMs / 1000)), file, 'sh', '-c', 'echo locked; cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const locked = await new Promise<boolean>((resolve) => {
    child.on('error', () => resolve(false));
    child.on('exit', () => resolve(false));
    child.stdout.on('data', () => resolve(true));
  });
  if (!locked) {
    if (child.exitCode === 1)
      throw new Error(`${file}: still held by another test run after ${timeoutMs} ms`);
    return () => undefined;
  }
  return () => child.stdin.end();
}
