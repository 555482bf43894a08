// The Kafka command intake end to end, against the real broker of scripts/kafka/kafka.sh: the
// service runs in-process on SQLite with KAFKA_BROKERS set and topics of its own for this run.
// Tenants are signed up over HTTP; then 5,000 valid commands (members created across the tenants,
// admins renamed) go onto the command topic, with a few hundred exact duplicates (same commandId)
// and malformed messages mixed in. Afterwards: every valid commandId has exactly one result body on
// the reply topic (duplicates answered again with the same body), the store holds one outcome per
// commandId, the log has exactly the expected MemberCreated events, every malformed message is on
// the dead-letter topic with its reason, and the group's committed offsets reached the topic's end.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../apps/account-service/src/intake/command-intake.js';
import {
  COMMAND_OUTCOME_STORE,
  type CommandOutcomeStore,
} from '../../apps/account-service/src/intake/outcome-store.js';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness.js';
import { createTopic, kafkaBrokers } from '../support/kafka.js';
import { endOffsets, kafkaAvailable, readTopic } from './kafka-read-back.js';

const VALID = 5_000;
const TENANTS = 10;
/** Of the valid commands, this many are renames of the tenants' admins; the rest create members. */
const RENAMES = 500;
const DUPLICATES = 300;
const COMMAND_PARTITIONS = 3;

const available = await kafkaAvailable('kafka-intake.int-spec');

interface Sent {
  readonly commandId: string;
  readonly value: string;
}

describe.skipIf(!available)('Kafka command intake against the real broker', () => {
  const run = randomBytes(5).toString('hex');
  const topics = {
    commands: `intake-${run}.commands`,
    results: `intake-${run}.results`,
    dlq: `intake-${run}.dlq`,
  };
  const group = `intake-${run}`;
  let h: Harness;
  const kafka = new Kafka({
    clientId: 'intake-test',
    brokers: kafkaBrokers().split(','),
    logLevel: logLevel.NOTHING,
  });

  beforeAll(async () => {
    await createTopic(topics.commands, COMMAND_PARTITIONS);
    await createTopic(topics.results, 3);
    await createTopic(topics.dlq, 1);
    h = await startHarness({
      KAFKA_BROKERS: kafkaBrokers(),
      KAFKA_COMMAND_TOPIC: topics.commands,
      KAFKA_RESULT_TOPIC: topics.results,
      KAFKA_DLQ_TOPIC: topics.dlq,
      KAFKA_CONSUMER_GROUP: group,
      // This test is about the intake; the audit relay has its own.
      PROCESSORS_DISABLED: 'audit-kafka-relay',
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('5,000 commands in, 5,000 results out, duplicates ignored, malformed ones in the DLQ', async () => {
    const started = Date.now();
    const tenants: Array<{ id: string; admin: string; prefix: string }> = [];
    for (let i = 0; i < TENANTS; i++) {
      const prefix = `in${run}t${i}`;
      const res = await h
        .http()
        .post('/v1/tenants')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({
          displayName: `Tenant ${i}`,
          kind: 'business',
          domainPrefix: prefix,
          admin: { displayName: 'Admin', userName: 'admin' },
        });
      expect(res.status).toBe(201);
      tenants.push({ id: res.body.tenantId as string, admin: res.body.adminUserId as string, prefix });
    }

    const valid: Sent[] = [];
    const envelope = (
      type: string,
      tenant: (typeof tenants)[number],
      payload: Record<string, unknown>,
    ): Sent => {
      const commandId = randomUUID();
      return {
        commandId,
        value: JSON.stringify({
          commandId,
          type,
          actor: { appId: 'hr-sync', userId: tenant.admin },
          payload: { tenantId: tenant.id, ...payload },
        }),
      };
    };
    for (let i = 0; i < VALID; i++) {
      const tenant = tenants[i % TENANTS]!;
      valid.push(
        i % (VALID / RENAMES) === 0
          ? envelope('RenameUser', tenant, { userId: tenant.admin, displayName: `Admin ${i}` })
          : envelope('CreateMember', tenant, {
              userPrincipalName: `m${i}@${tenant.prefix}.onmicrosoft.com`,
              displayName: `Member ${i}`,
            }),
      );
    }
    const creates = valid.filter((s) => s.value.includes('"CreateMember"')).length;
    // Malformed: without a readable commandId (dead letter only) and with one (also a rejected result).
    const noId = [
      ...Array.from({ length: 20 }, (_, i) => `{"commandId": "${randomUUID()}", broken ${i}`),
      ...Array.from({ length: 10 }, () =>
        JSON.stringify({ type: 'CreateMember', actor: { appId: 'x' }, payload: {} }),
      ),
    ];
    const withId: Sent[] = [
      ...Array.from({ length: 10 }, () => {
        const commandId = randomUUID();
        return {
          commandId,
          value: JSON.stringify({ commandId, type: 'LaunchRocket', actor: { appId: 'x' }, payload: {} }),
        };
      }),
      ...Array.from({ length: 10 }, (_, i) =>
        envelope('CreateMember', tenants[i % TENANTS]!, {
          userPrincipalName: 'not an address',
          displayName: 'X',
        }),
      ),
    ];

    // Sent in order; each duplicate after its original (same key, same partition: it comes later).
    type Out = { key: string; value: string };
    const messages: Out[] = valid.map((s) => ({ key: s.commandId, value: s.value }));
    for (let d = 0; d < DUPLICATES; d++) {
      const original = valid[d * Math.floor(VALID / DUPLICATES)]!;
      const at = Math.min(messages.length, d * Math.floor(VALID / DUPLICATES) + 50 + d);
      messages.splice(at, 0, { key: original.commandId, value: original.value });
    }
    for (const [i, value] of noId.entries()) messages.splice(100 + i * 150, 0, { key: `bad-${i}`, value });
    for (const [i, s] of withId.entries())
      messages.splice(120 + i * 200, 0, { key: s.commandId, value: s.value });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic: topics.commands, acks: -1, messages: messages.slice(i, i + 500) });
    await producer.disconnect();
    const produced = Date.now();

    // Wait for the outcomes and the group's committed offsets to reach the end of the command topic.
    const outcomes = h.app.get<CommandOutcomeStore>(COMMAND_OUTCOME_STORE);
    const ends = await endOffsets(topics.commands);
    const admin = kafka.admin();
    await admin.connect();
    const deadline = Date.now() + 150_000;
    let committed = new Map<number, number>();
    for (;;) {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topics.commands] });
      committed = new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      if ([...ends].every(([p, end]) => (committed.get(p) ?? -1) >= end)) break;
      if (Date.now() > deadline)
        throw new Error(
          `intake stalled: ${await outcomes.count()} outcomes, committed ${JSON.stringify([...committed])}`,
        );
      await sleep(500);
    }
    await admin.disconnect();
    const consumed = Date.now();

    // One outcome per commandId: the valid ones and the malformed ones that had a commandId.
    expect(await outcomes.count()).toBe(VALID + withId.length);

    // The reply topic: every valid commandId answered 'accepted', never two different bodies.
    const results = await readTopic(topics.results);
    const bodies = new Map<string, Set<string>>();
    for (const m of results) {
      const set = bodies.get(m.key) ?? new Set<string>();
      set.add(m.value);
      bodies.set(m.key, set);
    }
    expect([...bodies.values()].filter((s) => s.size > 1)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(VALID + DUPLICATES + withId.length);
    const answers = new Map(
      [...bodies].map(([key, set]) => [key, JSON.parse([...set][0]!) as CommandResult]),
    );
    const accepted = valid.filter((s) => answers.get(s.commandId)?.status === 'accepted');
    expect(
      accepted.length,
      JSON.stringify(valid.map((s) => answers.get(s.commandId)).find((a) => a?.status !== 'accepted')),
    ).toBe(VALID);
    expect(withId.map((s) => answers.get(s.commandId)?.code).sort()).toEqual([
      ...Array<string>(10).fill('unknown_command_type'),
      ...Array<string>(10).fill('validation_failed'),
    ]);
    expect(answers.size).toBe(VALID + withId.length);
    for (const m of results) expect(m.key).toBe((JSON.parse(m.value) as CommandResult).commandId);

    // Duplicates ignored: exactly one MemberCreated per CreateMember, plus the admins'.
    let memberCreated = 0;
    let renamed = 0;
    for (let after = 0; ;) {
      const page = await h.store.readAll(after, 5000);
      if (page.length === 0) break;
      for (const e of page) {
        if (e.type === 'MemberCreated') memberCreated++;
        if (e.type === 'UserRenamed') renamed++;
      }
      after = page.at(-1)!.globalPosition;
    }
    expect(memberCreated).toBe(creates + TENANTS);
    expect(renamed).toBe(VALID - creates);

    // Every malformed message on the dead-letter topic with a reason.
    const letters = await readTopic(topics.dlq);
    const byValue = new Map(letters.map((m) => [m.value, m]));
    for (const value of [...noId, ...withId.map((s) => s.value)]) {
      const letter = byValue.get(value);
      expect(letter, value).toBeDefined();
      expect(letter!.headers.reason?.length).toBeGreaterThan(0);
      expect(letter!.headers.code).toMatch(
        /^(malformed_json|invalid_envelope|unknown_command_type|validation_failed)$/,
      );
    }
    expect(letters.filter((l) => l.headers.code === 'malformed_json')).toHaveLength(20);

    const ready = await h.http().get('/readyz');
    expect(ready.body.checks.kafkaIntake).toMatchObject({
      status: 'ok',
      state: 'running',
      topic: topics.commands,
    });
    console.log(
      `kafka-intake: ${messages.length} messages (${VALID} valid, ${DUPLICATES} duplicates, ${noId.length + withId.length} malformed); ` +
        `produced in ${produced - started} ms, all outcomes committed after ${consumed - produced} ms ` +
        `(${Math.round((VALID * 1000) / (consumed - produced))} commands/s); ${results.length} result messages`,
    );
  }, 240_000);
});
