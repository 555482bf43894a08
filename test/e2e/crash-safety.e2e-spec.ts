// Crash safety, ten times in a row: the built service as a real process takes commands from several
// concurrent clients, dies by SIGKILL at a random moment mid-stream, restarts on the same data and
// takes more. Then (a) the log is gap-free 1..head with no duplicate event, every stream complete;
// (b) every command answered 2xx before (or after) the kill is in the log at the position it was
// given; (c) every read model, caught up, has the digest of a fresh rebuild from the log.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../apps/account-service/src/common/api-keys.js';
import { loadConfig } from '../../apps/account-service/src/config/config.js';
import { digestProjections } from '../../apps/cli/src/commands/digest.js';
import { openReadSide } from '../../apps/cli/src/commands/read-side.js';
import { rebuildProjections } from '../../apps/cli/src/commands/rebuild.js';
import {
  assertBuilt,
  freePort,
  killService as kill,
  type ServiceProcess,
  startService,
} from '../support/service-process.js';

const KEY = 'crash-safety-key';
const ITERATIONS = 10;
const CLIENTS = 4;

// Loose view of a JSON response body.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for commands to flow');
    await sleep(10);
  }
}

type Running = ServiceProcess;

const start = (dataDir: string, port: number): Promise<Running> =>
  startService({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }, port);

/** A command the service answered 2xx: it must be in the log at `position`. */
interface Acknowledged {
  readonly correlationId: string;
  readonly position: number;
  readonly what: string;
}

interface Tenant {
  readonly tenantId: string;
  readonly adminUserId: string;
  readonly prefix: string;
  /** Every member any client created (sign-ins use them as logins). */
  readonly upns: string[];
}

/** A member one client created and alone changes, so it always knows whether a command will write. */
interface Member {
  readonly tenant: Tenant;
  readonly userId: string;
  blocked: boolean;
  /** A block or unblock was cut off by the kill: its outcome, and so the member's state, is unknown. */
  uncertain: boolean;
}

/**
 * Sends random commands, each of which writes at least one event when it succeeds (no command that
 * could be a no-op), so that "answered 2xx" means "an event with this correlation id is at `position`".
 */
class Client {
  private n = 0;
  private readonly members: Member[] = [];
  readonly acknowledged: Acknowledged[] = [];
  failures = 0;

  constructor(
    private readonly base: string,
    private readonly id: string,
  ) {}

  async call(
    method: string,
    url: string,
    body: unknown,
    what: string,
    actingUser?: string,
  ): Promise<Json | undefined | 'unknown'> {
    const correlationId = `${this.id}-${++this.n}`;
    try {
      const res = await fetch(`${this.base}${url}`, {
        method,
        headers: {
          Authorization: `Bearer ${KEY}`,
          'Content-Type': 'application/json',
          'X-Correlation-Id': correlationId,
          ...(actingUser ? { 'X-Acting-User': actingUser } : {}),
        },
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.timeout(10_000),
      });
      const json = (await res.json().catch(() => ({}))) as Json;
      if (res.status >= 200 && res.status < 300 && json.position !== undefined) {
        this.acknowledged.push({ correlationId, position: Number(json.position), what });
        return json;
      }
      return undefined;
    } catch {
      // Refused, reset or cut off by the kill: the outcome is unknown, so nothing is asserted.
      this.failures += 1;
      return 'unknown';
    }
  }

  /** One random command against one of the tenants. */
  async step(tenants: readonly Tenant[], iteration: number): Promise<void> {
    const tenant = tenants[Math.floor(Math.random() * tenants.length)]!;
    const t = `/v1/tenants/${tenant.tenantId}`;
    const mine = this.members.filter((m) => m.tenant === tenant);
    const member = mine[Math.floor(Math.random() * mine.length)];
    const roll = Math.random();
    if (roll < 0.15 || !member || tenant.upns.length === 0) {
      const upn = `${this.id}-${this.n + 1}@${tenant.prefix}.onmicrosoft.com`;
      const created = await this.call(
        'POST',
        `${t}/users`,
        { userPrincipalName: upn, displayName: `User ${this.id}-${this.n + 1}` },
        'CreateMember',
        tenant.adminUserId,
      );
      if (typeof created === 'object') {
        this.members.push({ tenant, userId: created.userId as string, blocked: false, uncertain: false });
        tenant.upns.push(upn);
      }
    } else if (roll < 0.55) {
      const login =
        Math.random() < 0.9
          ? tenant.upns[Math.floor(Math.random() * tenant.upns.length)]!
          : `nobody-${this.n}@${tenant.prefix}.onmicrosoft.com`;
      await this.call(
        'POST',
        '/v1/sign-ins',
        {
          login,
          service: { kind: 'business', tenantId: tenant.tenantId },
          mfaPerformed: Math.random() < 0.5,
          ipAddress: '198.51.100.4',
          userAgent: 'crash-safety',
        },
        'SignIn',
      );
    } else if (roll < 0.7) {
      await this.call(
        'PATCH',
        `${t}/users/${member.userId}`,
        { displayName: `Renamed ${this.id}-${this.n + 1}` },
        'RenameUser',
        tenant.adminUserId,
      );
    } else if (roll < 0.8 && !member.uncertain) {
      const action = member.blocked ? 'unblock' : 'block';
      const outcome = await this.call(
        'POST',
        `${t}/users/${member.userId}/${action}`,
        {},
        action,
        tenant.adminUserId,
      );
      if (typeof outcome === 'object') member.blocked = !member.blocked;
      if (outcome === 'unknown') member.uncertain = true;
    } else if (roll < 0.9) {
      await this.call(
        'POST',
        '/v1/personal-accounts',
        { email: `p-${iteration}-${this.id}-${this.n + 1}@example.net`, displayName: 'Person' },
        'RegisterPersonalAccount',
      );
    } else {
      await this.call(
        'POST',
        `${t}/users/${member.userId}/password-resets`,
        {},
        'OrderPasswordReset',
        tenant.adminUserId,
      );
    }
  }
}

/** Polls /readyz until every read model and processor has reached the head of the log. */
async function caughtUp(base: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = (await (await fetch(`${base}/readyz`)).json()) as Json;
    const head = Number(ready.checks.eventStore.headPosition);
    const subscribers = [...(ready.checks.readModels as Json[]), ...(ready.checks.processors as Json[])];
    const failed = subscribers.filter((s) => s.state === 'failed');
    if (failed.length > 0) throw new Error(`failed after restart: ${JSON.stringify(failed)}`);
    if (subscribers.every((s) => Number(s.position) >= head)) return head;
    if (Date.now() > deadline) throw new Error(`not caught up with ${head}: ${JSON.stringify(subscribers)}`);
    await sleep(50);
  }
}

interface Iteration {
  readonly acknowledged: number;
  readonly beforeKill: number;
  readonly head: number;
  readonly cutOff: number;
  readonly readModels: number;
  readonly restartMs: number;
}

async function iteration(index: number, root: string): Promise<Iteration> {
  const dataDir = path.join(root, `run-${index}`);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(
    path.join(dataDir, 'api-keys.json'),
    JSON.stringify([
      { appId: 'crash-test', keyHash: hashApiKey(KEY), scopes: ['commands:write', 'directory:read'] },
    ]),
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let service = await start(dataDir, port);
  const clients = Array.from({ length: CLIENTS }, (_, c) => new Client(base, `i${index}c${c}`));
  try {
    // Three tenants, signed up concurrently by the first clients.
    const tenants: Tenant[] = [];
    await Promise.all(
      [0, 1, 2].map(async (k) => {
        const prefix = `crash${index}t${k}`;
        const body = await clients[k]!.call(
          'POST',
          '/v1/tenants',
          {
            displayName: `Crash ${k}`,
            kind: 'business',
            domainPrefix: prefix,
            admin: { displayName: 'Admin', userName: 'admin' },
          },
          'SignUpTenant',
        );
        if (typeof body !== 'object') throw new Error(`sign-up failed:\n${service.output()}`);
        tenants.push({ tenantId: body.tenantId, adminUserId: body.adminUserId, prefix, upns: [] });
      }),
    );

    let streaming = true;
    const loops = clients.map(async (client) => {
      while (streaming) {
        const before = client.failures;
        await client.step(tenants, index);
        if (client.failures > before) await sleep(20); // the service is down: don't spin
      }
    });
    // Kill at a random moment mid-stream (once commands flow), restart, keep going briefly.
    const acks = () => clients.reduce((n, c) => n + c.acknowledged.length, 0);
    await until(() => acks() >= 8);
    await sleep(Math.random() * 800);
    const beforeKill = acks();
    await kill(service);
    const failuresAtKill = clients.reduce((n, c) => n + c.failures, 0);
    const restarting = Date.now();
    service = await start(dataDir, port);
    const restartMs = Date.now() - restarting;
    const afterRestart = acks();
    await until(() => acks() >= afterRestart + 8);
    await sleep(Math.random() * 300);
    streaming = false;
    await Promise.all(loops);
    const head = await caughtUp(base);
    await kill(service);

    const acknowledged = clients.flatMap((c) => c.acknowledged);
    // (a) the log: positions 1..head without a gap, no event twice, every stream complete.
    const db = new Database(path.join(dataDir, 'events.db'), { readonly: true });
    try {
      const log = db
        .prepare(
          'SELECT COUNT(*) AS n, MIN(global_position) AS lo, MAX(global_position) AS hi, COUNT(DISTINCT event_id) AS ids FROM events',
        )
        .get() as { n: number; lo: number; hi: number; ids: number };
      expect(log).toEqual({ n: head, lo: 1, hi: head, ids: head });
      const broken = db
        .prepare(
          `SELECT e.stream_id FROM events e JOIN streams s USING (stream_id)
           GROUP BY e.stream_id HAVING COUNT(*) != MAX(e.stream_version) + 1 OR MIN(e.stream_version) != 0
             OR MAX(s.version) != MAX(e.stream_version)`,
        )
        .all();
      expect(broken).toEqual([]);
      // (b) every acknowledged command is in the log, where the service said it put it.
      const at = db.prepare('SELECT correlation_id FROM events WHERE global_position = ?').pluck();
      const missing = acknowledged.filter((a) => at.get(a.position) !== a.correlationId);
      expect(missing.map((a) => ({ ...a, found: at.get(a.position) }))).toEqual([]);
    } finally {
      db.close();
    }

    // (c) the live generations, caught up by the restarted service, equal a fresh rebuild.
    const readSide = await openReadSide(loadConfig({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }), {
      requireBuilt: true,
    });
    try {
      const live = await digestProjections(readSide, readSide.names);
      for (const model of live) expect(model.position, model.name).toBe(head);
      const rebuilt = await rebuildProjections(readSide, readSide.names);
      expect(rebuilt.map((r) => [r.name, r.digest])).toEqual(live.map((l) => [l.name, l.digest]));
      return {
        acknowledged: acknowledged.length,
        beforeKill,
        head,
        cutOff: failuresAtKill,
        readModels: live.length,
        restartMs,
      };
    } finally {
      await readSide.close();
    }
  } catch (error) {
    throw new Error(
      `iteration ${index}: ${error instanceof Error ? error.message : String(error)}\n--- service output ---\n${service.output().slice(-4000)}`,
      { cause: error },
    );
  } finally {
    await kill(service);
  }
}

describe('crash safety', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'als-crash-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it(`loses nothing, duplicates nothing and rebuilds to the same read models, ${ITERATIONS} times in a row`, async () => {
    assertBuilt();
    for (let i = 1; i <= ITERATIONS; i++) {
      const started = Date.now();
      const result = await iteration(i, root);
      process.stdout.write(
        `crash-safety ${i}/${ITERATIONS}: ${result.acknowledged} acknowledged (${result.beforeKill} before the kill, ` +
          `${result.cutOff} requests cut off), restart ${result.restartMs} ms, head ${result.head}, ` +
          `${result.readModels} read models equal, ${Date.now() - started} ms\n`,
      );
    }
  }, 170_000);
});
