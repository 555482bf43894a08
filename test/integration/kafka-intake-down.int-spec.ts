// The service with KAFKA_BROKERS pointing at a port where no broker listens: the command intake
// retries in the background, /readyz shows it degraded (the instance still ready), HTTP commands
// are accepted, and the app stops promptly. Needs no broker.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

type Json = Record<string, unknown>;

describe('Kafka command intake with no broker', () => {
  let h: Harness;

  beforeAll(async () => {
    // Port 1 on loopback: connections are refused at once.
    h = await startHarness({
      KAFKA_BROKERS: '127.0.0.1:1',
      KAFKA_COMMAND_TOPIC: 'nowhere.commands',
      PROCESSORS_DISABLED: 'audit-kafka-relay',
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('reports the intake as degraded and retrying while the instance stays ready', async () => {
    let intake: Json = {};
    for (let i = 0; i < 80 && intake['state'] !== 'retrying'; i += 1) {
      await sleep(250);
      const ready = await h.http().get('/readyz');
      expect(ready.status).toBe(200);
      intake = (ready.body as { checks: { kafkaIntake: Json } }).checks.kafkaIntake;
    }
    expect(intake).toMatchObject({
      status: 'degraded',
      state: 'retrying',
      topic: 'nowhere.commands',
      handled: 0,
    });
    expect(intake['lastError']).toEqual(expect.any(String));
  });

  it('stops promptly with the app', async () => {
    const started = Date.now();
    await h.close();
    expect(Date.now() - started).toBeLessThan(8000);
    h = undefined as unknown as Harness;
  });
});

describe('Kafka command intake switched off', () => {
  it('is disabled without KAFKA_BROKERS and by PROCESSORS_DISABLED', async () => {
    const envs: Array<Record<string, string>> = [
      {},
      { KAFKA_BROKERS: '127.0.0.1:1', PROCESSORS_DISABLED: 'kafka-intake,audit-kafka-relay' },
    ];
    for (const env of envs) {
      const h = await startHarness(env);
      try {
        const ready = await h.http().get('/readyz');
        expect(ready.body.checks.kafkaIntake).toEqual({ status: 'disabled' });
      } finally {
        await h.close();
      }
    }
  });
});
