// The service with KAFKA_BROKERS pointing at a port where no broker listens: it starts, accepts
// commands, stays ready, and reports the relay as degraded (retrying, with the last error) while
// its checkpoint stays where it was. Needs no broker.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness.js';

type Json = Record<string, unknown>;

describe('audit Kafka relay with no broker', () => {
  let h: Harness;

  beforeAll(async () => {
    // Port 1 on loopback: connections are refused at once.
    h = await startHarness({ KAFKA_BROKERS: '127.0.0.1:1', KAFKA_AUDIT_TOPIC: 'nowhere' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const kafkaCheck = async (): Promise<Json> => {
    const ready = await h.http().get('/readyz');
    expect(ready.status).toBe(200);
    return (ready.body as { checks: { kafka: Json } }).checks.kafka;
  };

  it('shows Kafka as degraded, the instance still ready, before there is anything to send', async () => {
    let kafka: Json = {};
    for (let i = 0; i < 60 && kafka['state'] !== 'retrying'; i += 1) {
      await sleep(250);
      kafka = await kafkaCheck();
    }
    expect(kafka).toMatchObject({ status: 'degraded', state: 'retrying', topic: 'nowhere', position: '0' });
    expect(kafka['lastError']).toEqual(expect.any(String));
    expect(kafka['failures']).toBeGreaterThan(0);
  });

  it('accepts commands while the records wait for the broker', async () => {
    const started = Date.now();
    const res = await h
      .http()
      .post('/v1/tenants')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .send({
        displayName: 'No Kafka',
        kind: 'business',
        domainPrefix: 'nokafka',
        admin: { displayName: 'A', userName: 'admin' },
      });
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(5000);
    let kafka: Json = {};
    for (let i = 0; i < 60 && !((kafka['lag'] as number) > 0); i += 1) {
      await sleep(250);
      kafka = await kafkaCheck();
    }
    expect(kafka).toMatchObject({ status: 'degraded', state: 'retrying', position: '0' });
    expect(kafka['lag']).toBeGreaterThan(0);
  });

  it('reports Kafka as disabled when KAFKA_BROKERS is not set', async () => {
    const plain = await startHarness();
    try {
      const ready = await plain.http().get('/readyz');
      expect(ready.status).toBe(200);
      expect((ready.body as { checks: { kafka: Json } }).checks.kafka).toEqual({ status: 'disabled' });
    } finally {
      await plain.close();
    }
  });
});
