// Hand check of the broker started by scripts/kafka/kafka.sh, with kafkajs:
//   node scripts/kafka/smoke.mjs produce <topic> <count> [prefix]   idempotent producer, acks=all
//   node scripts/kafka/smoke.mjs consume <topic> <group> <count>    consumer group, from the
//     beginning when the group has no committed offset; exits 1 unless exactly <count> arrive
// Broker: KAFKA_BROKERS (default 127.0.0.1:9092).
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const [mode, topic, a, b] = process.argv.slice(2);
const out = (line) => process.stdout.write(`${line}\n`);
const kafka = new Kafka({
  clientId: 'kafka-sh-smoke',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.WARN,
});

async function produce(count, prefix) {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }));
  const t0 = Date.now();
  const result = await producer.send({ topic, acks: -1, messages });
  out(`produced ${count} to ${topic} in ${Date.now() - t0} ms: ${JSON.stringify(result)}`);
  await producer.disconnect();
}

async function consume(group, expected) {
  // A short fetch wait, so that disconnect does not sit out a 5 s long poll.
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 500 });
  const seen = [];
  const t0 = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push(`${partition}@${message.offset} ${message.key?.toString()}=${message.value?.toString()}`);
    },
  });
  const deadline = Date.now() + 30_000;
  while (seen.length < expected && Date.now() < deadline) await sleep(100);
  await sleep(1000); // anything beyond the expected count would show up here
  await consumer.disconnect(); // commits the offsets consumed
  for (const line of seen) out(`  ${line}`);
  out(`consumed ${seen.length}/${expected} from ${topic} as ${group} in ${Date.now() - t0} ms`);
  return seen.length === expected;
}

if (mode === 'produce' && topic && a) {
  await produce(Number(a), b ?? 'm');
} else if (mode === 'consume' && topic && a && b) {
  if (!(await consume(a, Number(b)))) process.exit(1);
} else {
  process.stderr.write(
    'usage: smoke.mjs produce <topic> <count> [prefix] | consume <topic> <group> <count>\n',
  );
  process.exit(2);
}
