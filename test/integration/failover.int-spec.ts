// Two instances of the built service on one PostgreSQL schema and one Kafka broker. Both accept
// commands; each read model, the license-release processor and the audit feed's Kafka relay run in
// exactly one of them (the first to start), and the other serves reads from the shared read models.
// The holder is killed with SIGKILL while commands keep flowing to the survivor, which takes every
// lease over within seconds. Then: the survivor's read models, caught up to the head, have the
// digests of a fresh rebuild (no event applied twice or skipped), a license freed by the processor
// after the failover is freed once, and the audit topic holds every audit record (none missing).
// The killed instance, started again, runs nothing and serves what the survivor writes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../apps/account-service/src/common/api-keys.js';
import { loadConfig } from '../../apps/account-service/src/config/config.js';
import { digestProjections } from '../../apps/cli/src/commands/digest.js';
import { openReadSide } from '../../apps/cli/src/commands/read-side.js';
import { rebuildProjections } from '../../apps/cli/src/commands/rebuild.js';
import { createTopic, kafkaBrokers } from '../support/kafka.js';
import {
  assertBuilt,
  freePort,
  killService,
  type ServiceProcess,
  startService,
} from '../support/service-process.js';
import { kafkaAvailable, readTopic } from './kafka-read-back.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = 'failover-key';
/** How long the survivor may take to run everything the dead instance ran. */
const TAKEOVER_BOUND_MS = 15_000;

const available = await kafkaAvailable('failover.int-spec');

// Loose view of a JSON response body.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

async function call(
  base: string,
  method: string,
  url: string,
  body?: unknown,
  actingUser?: string,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      Authorization: `Bearer ${KEY}`,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(actingUser ? { 'X-Acting-User': actingUser } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Json };
}

async function ok(base: string, method: string, url: string, body?: unknown, actingUser?: string) {
  const res = await call(base, method, url, body, actingUser);
  if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const readyz = async (base: string): Promise<Json> => (await (await fetch(`${base}/readyz`)).json()) as Json;

/** What an instance says it runs: read models, processors and the Kafka relay. */
async function runs(base: string): Promise<{ all: boolean; none: boolean; detail: string }> {
  const { checks } = await readyz(base);
  const flags = [
    ...(checks.readModels as Json[]).map((m) => [`read model ${m.name}`, m.runsHere === true] as const),
    ...(checks.processors as Json[]).map((p) => [`processor ${p.name}`, p.state === 'running'] as const),
    ['kafka relay', checks.kafka.state !== 'standby' && checks.kafka.status !== 'disabled'] as const,
  ];
  return {
    all: flags.every(([, on]) => on),
    none: flags.every(([, on]) => !on),
    detail: flags.map(([what, on]) => `${what}: ${on ? 'here' : 'elsewhere'}`).join(', '),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (${String(last ?? '')})`);
    await sleep(50);
  }
}

describe.skipIf(!available)('two instances on one PostgreSQL: leases and failover', () => {
  const id = randomBytes(5).toString('hex');
  const schema = `failover_${id}`;
  const topic = `failover-audit-${id}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'als-failover-'));
  const keysFile = path.join(root, 'api-keys.json');
  const env = (name: string): Record<string, string> => ({
    EVENT_STORE: 'postgres',
    DATABASE_URL,
    DATABASE_SCHEMA: schema,
    DATA_DIR: path.join(root, name),
    API_KEYS_FILE: keysFile,
    KAFKA_BROKERS: kafkaBrokers(),
    KAFKA_AUDIT_TOPIC: topic,
    KAFKA_AUDIT_PARTITIONS: '3',
    KAFKA_COMMAND_TOPIC: `failover-commands-${id}`,
    KAFKA_RESULT_TOPIC: `failover-results-${id}`,
    KAFKA_DLQ_TOPIC: `failover-dlq-${id}`,
    KAFKA_CONSUMER_GROUP: `failover-${id}`,
    READ_WAIT_MS: '5000',
  });
  let a: ServiceProcess | undefined;
  let b: ServiceProcess | undefined;

  beforeAll(async () => {
    assertBuilt();
    fs.writeFileSync(
      keysFile,
      JSON.stringify([
        {
          appId: 'failover-test',
          keyHash: hashApiKey(KEY),
          scopes: ['commands:write', 'directory:read', 'lookup:read', 'audit:read'],
        },
      ]),
    );
    await createTopic(topic, 3);
  });

  afterAll(async () => {
    for (const instance of [a, b]) if (instance) await killService(instance);
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('runs each projection, the processor and the relay once, and moves them when their instance dies', async () => {
    a = await startService(env('a'), await freePort());
    // The first instance takes every lease.
    await until(
      'instance a runs everything',
      async () => ((await runs(a!.base)).all ? true : undefined),
      10_000,
    );
    b = await startService(env('b'), await freePort());
    await sleep(1500); // b has tried for its leases at least once
    const onB = await runs(b.base);
    expect(onB.none, onB.detail).toBe(true);
    expect((await runs(a.base)).all).toBe(true);

    // Both accept commands; each reads what the other wrote (read-your-writes across instances).
    const tenant = await ok(a.base, 'POST', '/v1/tenants', {
      displayName: 'Failover',
      kind: 'business',
      domainPrefix: `failover${id}`,
      admin: { displayName: 'Admin', userName: 'admin' },
    });
    const t = `/v1/tenants/${tenant.tenantId}`;
    const admin = tenant.adminUserId as string;
    const upn = (name: string) => `${name}@failover${id}.onmicrosoft.com`;
    const created = await ok(
      b.base,
      'POST',
      `${t}/users`,
      { userPrincipalName: upn('lic'), displayName: 'Lic' },
      admin,
    );
    const seen = await ok(a.base, 'GET', `${t}/users/${created.userId}?minPosition=${created.position}`);
    expect(seen.userPrincipalName).toBe(upn('lic'));
    const subscription = await ok(
      a.base,
      'POST',
      `${t}/subscriptions`,
      { sku: 'ENTERPRISE_E3', seats: 5 },
      admin,
    );
    await ok(b.base, 'POST', `${t}/users/${created.userId}/licenses`, { sku: 'ENTERPRISE_E3' }, admin);
    const before = await ok(b.base, 'GET', t);
    expect(before.subscriptions).toEqual([
      expect.objectContaining({ subscriptionId: subscription.subscriptionId, assignedSeats: 1 }),
    ]);
    const lookup = await ok(b.base, 'GET', `/v1/sign-in/realm?login=${encodeURIComponent(upn('lic'))}`);
    expect(lookup).toMatchObject({ namespaceType: 'Managed' });

    // Commands keep flowing to b while a dies.
    let flowing = true;
    let sent = 0;
    const writer = (async () => {
      while (flowing) {
        sent += 1;
        await ok(
          b!.base,
          'POST',
          `${t}/users`,
          { userPrincipalName: upn(`w${sent}`), displayName: `W ${sent}` },
          admin,
        );
      }
    })();
    await sleep(500);
    await killService(a);
    const killedAt = Date.now();
    const takeover = await until(
      'instance b runs everything',
      async () => ((await runs(b!.base)).all ? Date.now() - killedAt : undefined),
      TAKEOVER_BOUND_MS,
    );
    console.log(
      `failover: instance b ran every read model, the processor and the relay ${takeover} ms after the kill`,
    );

    // The processor now runs on b: deleting the licensed user frees its seat, once.
    await ok(b.base, 'DELETE', `${t}/users/${created.userId}`, undefined, admin);
    await until(
      'the seat is freed by the license-release processor on b',
      async () => {
        const view = await ok(b!.base, 'GET', t);
        return view.subscriptions[0]?.assignedSeats === 0 ? true : undefined;
      },
      10_000,
    );
    await sleep(500);
    flowing = false;
    await writer;
    expect(sent).toBeGreaterThan(5);

    // Everything b holds is caught up to the head of the log.
    const head = await until(
      'b caught up',
      async () => {
        const { checks } = await readyz(b!.base);
        const head = Number(checks.eventStore.headPosition);
        const subscribers = [...(checks.readModels as Json[]), ...(checks.processors as Json[])];
        if (subscribers.some((s) => s.state === 'failed')) throw new Error(JSON.stringify(subscribers));
        return subscribers.every((s) => Number(s.position) >= head) &&
          Number(checks.kafka.position) >= Number(checks.kafka.head ?? 0)
          ? head
          : undefined;
      },
      20_000,
    );

    // No duplicate read-model effect and no gap: the live read models equal a rebuild from the log.
    const readSide = await openReadSide(
      loadConfig({
        EVENT_STORE: 'postgres',
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        DATA_DIR: path.join(root, 'cli'),
      }),
      { requireBuilt: true },
    );
    try {
      const live = await digestProjections(readSide, readSide.names);
      for (const model of live) expect(model.position, model.name).toBe(head);
      const rebuilt = await rebuildProjections(readSide, readSide.names);
      expect(rebuilt.map((r) => [r.name, r.digest])).toEqual(live.map((l) => [l.name, l.digest]));
    } finally {
      await readSide.close();
    }

    // The seat was released exactly once (a second release would show in the log).
    const log = new pg.Client({ connectionString: DATABASE_URL });
    await log.connect();
    try {
      const { rows } = await log.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${pg.escapeIdentifier(schema)}.events WHERE type = 'LicenseRemoved'`,
      );
      expect(Number(rows[0]?.n)).toBe(1);
    } finally {
      await log.end();
    }

    // The relay moved with its checkpoint: every audit record is on the topic.
    const expected = new Set<string>();
    for (let after = '0'; ;) {
      const page = await ok(b.base, 'GET', `/v1/audit/records?after=${after}&limit=100`);
      for (const record of page.value as Json[]) expected.add(String(record.id));
      if (page.nextCursor === undefined) break;
      after = String(page.nextCursor);
    }
    const messages = await readTopic(topic);
    const onTopic = new Set(messages.map((m) => String((JSON.parse(m.value) as Json).id)));
    const missing = [...expected].filter((r) => !onTopic.has(r));
    expect(missing).toEqual([]);
    console.log(
      `failover: ${head} events, ${expected.size} audit records, ${messages.length} messages on the topic (${messages.length - onTopic.size} re-sent after the kill)`,
    );

    // The killed instance comes back: it runs nothing (b holds every lease) and serves what b writes.
    a = await startService(env('a'), await freePort());
    await sleep(1500);
    const back = await runs(a.base);
    expect(back.none, back.detail).toBe(true);
    const last = await ok(
      b.base,
      'POST',
      `${t}/users`,
      { userPrincipalName: upn('back'), displayName: 'Back' },
      admin,
    );
    const seenByA = await ok(a.base, 'GET', `${t}/users/${last.userId}?minPosition=${last.position}`);
    expect(seenByA.userPrincipalName).toBe(upn('back'));
  });
});
