// Readiness probe for scripts/kafka/kafka.sh, with kafkajs.
//   node probe.mjs <host:port>          exit 0 when a Metadata request (admin describeCluster) lists a
//                                       broker, else 1; one quick try, kafka.sh loops
//   node probe.mjs <host:port> --warm   also find a group coordinator and init an idempotent
//                                       producer, so that __consumer_offsets and the producer-id
//                                       manager are up before the first test (kafkajs retries)
import process from 'node:process';
import { Kafka, logLevel } from 'kafkajs';

const broker = process.argv[2] ?? '127.0.0.1:9092';
const warm = process.argv.includes('--warm');
const kafka = new Kafka({
  clientId: 'kafka-sh-probe',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: warm ? 10_000 : 3000,
  retry: warm ? { retries: 8 } : { retries: 0 },
});
const admin = kafka.admin();
let ok;
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  ok = cluster.brokers.length > 0;
  if (ok && warm) {
    const t0 = Date.now();
    await admin.describeGroups(['kafka-sh-warmup']);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.disconnect();
    process.stdout.write(`warm-up ${Date.now() - t0} ms\n`);
  }
  process.stdout.write(`brokers=${cluster.brokers.length} controller=${cluster.controller}\n`);
} catch (err) {
  ok = false;
  process.stderr.write(`probe ${broker}: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  await admin.disconnect().catch(() => undefined);
}
process.exit(ok ? 0 : 1);
