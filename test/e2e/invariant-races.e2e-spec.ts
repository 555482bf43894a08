// The directory's rules across objects under real races: two service instances on one store (one
// SQLite file, or one PostgreSQL schema) fire conflicting commands at the same moment, so neither
// instance's in-process queue nor its cache can keep a rule alone; only the append's expected
// versions can. Each case checks the answers, the state read back, and the order of the event log.
// (Uniqueness of UPNs and verified domains across tenants: uniqueness-races.e2e-spec.ts. Two tenants
// can't race for one UPN "in their own verified domain": a domain is verified by one tenant only.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '#event-store';
import { ADMIN_KEY, Harness, startBeside, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };
/** The stores the 10,000-seat race runs on (comma-separated; all: `sqlite,postgres`). */
const BIG_RACE_STORES = (process.env.BIG_SEAT_RACE_STORES ?? 'sqlite,postgres').split(',');

type Answer = Awaited<ReturnType<ReturnType<Harness['http']>['get']>>;
type Method = 'post' | 'patch' | 'put' | 'delete';

interface Tenant {
  readonly tenantId: string;
  readonly adminUserId: string;
  readonly initialDomain: string;
}

interface UserBody {
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly state: string;
  readonly roles: string[];
  readonly licenses: Array<{ sku: string }>;
  readonly mfaMethods: unknown[];
}

interface SubscriptionBody {
  readonly subscriptionId: string;
  readonly sku: string;
  readonly seats: number;
  readonly assignedSeats: number;
}

/** The global position a command answered (a header on every answer, 204 included). */
const positionOf = (res: Answer): number => Number(res.headers['event-position'] ?? 0);
const etagOf = (res: Answer): number => Number(/^"(\d+)"$/.exec(String(res.headers['etag']))?.[1]);
const latest = (answers: readonly Answer[]): number => Math.max(0, ...answers.map(positionOf));
const show = (answers: readonly Answer[]): string =>
  JSON.stringify(answers.map((r) => ({ status: r.status, code: r.body?.code, detail: r.body?.detail })));
const tally = (answers: readonly Answer[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const r of answers) {
    const key = r.status < 300 ? String(r.status) : `${r.status} ${r.body?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

/** Runs `task(0 … count-1)` with at most `limit` of them in flight. */
async function bounded<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

/**
 * Fires every request at once, launching them from index `first` on (so that over the rounds each
 * side of a race gets to be sent first); the answers come back in the requests' order.
 */
function race(requests: ReadonlyArray<() => Promise<Answer>>, first = 0): Promise<Answer[]> {
  const started = new Array<Promise<Answer>>(requests.length);
  for (let k = 0; k < requests.length; k++) {
    const i = (k + first) % requests.length;
    started[i] = requests[i]!();
  }
  return Promise.all(started);
}

describe.each(['sqlite', 'postgres'])('invariant races between two instances (%s)', (eventStore) => {
  let one: Harness;
  let two: Harness;
  /** Alternates the instances, so each side of a race runs on both over the rounds. */
  const on = (i: number): Harness => (i % 2 === 0 ? one : two);
  let serial = 0;
  const unique = (stem: string): string => `${stem}${++serial}`;

  beforeAll(async () => {
    one = await startHarness({ EVENT_STORE: eventStore });
    two = await startBeside(one);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  const command = async (
    h: Harness,
    method: Method,
    url: string,
    actor: string,
    body?: object,
    ifMatch?: number,
  ): Promise<Answer> => {
    const req = h.http()[method](url).set(auth).set('X-Acting-User', actor);
    if (ifMatch !== undefined) req.set('If-Match', `"${ifMatch}"`);
    return body === undefined ? await req : await req.send(body);
  };

  /** A GET that reads the writes up to `minPosition`, on both instances, which must agree. */
  const read = async (url: string, minPosition: number): Promise<Answer> => {
    const answers: Answer[] = [];
    for (const h of [one, two]) {
      let res: Answer;
      for (let attempt = 0; ; attempt++) {
        res = await h
          .http()
          .get(`${url}${url.includes('?') ? '&' : '?'}minPosition=${minPosition}`)
          .set(auth);
        if (res.status !== 503 || attempt >= 40) break;
      }
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      answers.push(res);
    }
    expect(answers[1]!.body).toEqual(answers[0]!.body);
    expect(answers[1]!.headers['etag']).toEqual(answers[0]!.headers['etag']);
    return answers[0]!;
  };

  const users = async (t: Tenant, minPosition: number): Promise<UserBody[]> => {
    const all: UserBody[] = [];
    let cursor: string | undefined;
    do {
      const page = await read(
        `/v1/tenants/${t.tenantId}/users?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
        minPosition,
      );
      all.push(...(page.body.value as UserBody[]));
      cursor = page.body.nextCursor;
    } while (cursor !== undefined);
    return all;
  };

  /** The log from `after` on, in global order (the order the store serialised the commands in). */
  const eventsAfter = async (after: number): Promise<RecordedEvent[]> => {
    const all: RecordedEvent[] = [];
    for (;;) {
      const batch = await one.store.readAll(after, 1000);
      all.push(...batch);
      if (batch.length < 1000) return all;
      after = batch.at(-1)!.globalPosition;
    }
  };

  const signUp = async (stem: string): Promise<Tenant> => {
    const prefix = unique(stem);
    const res = await on(serial)
      .http()
      .post('/v1/tenants')
      .set(auth)
      .send({
        displayName: prefix,
        kind: 'business',
        domainPrefix: prefix,
        admin: { displayName: 'Admin', userName: 'admin' },
      });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as Tenant;
  };

  const createMember = async (h: Harness, t: Tenant, upn: string): Promise<string> => {
    const res = await command(h, 'post', `/v1/tenants/${t.tenantId}/users`, t.adminUserId, {
      userPrincipalName: upn,
      displayName: upn.split('@')[0],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.userId as string;
  };

  const createMembers = (t: Tenant, count: number, stem: string, inFlight = 16): Promise<string[]> =>
    bounded(count, inFlight, (i) => createMember(on(i), t, `${stem}${i}@${t.initialDomain}`));

  /** Adds a custom domain on one instance and verifies it on the other, through the test DNS server. */
  const addVerifiedDomain = async (t: Tenant, name: string): Promise<void> => {
    const added = await command(one, 'post', `/v1/tenants/${t.tenantId}/domains`, t.adminUserId, { name });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    one.dns.setTxt(name, [added.body.verificationRecord.value]);
    const verified = await command(
      two,
      'post',
      `/v1/tenants/${t.tenantId}/domains/${name}/verify`,
      t.adminUserId,
    );
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  };

  describe('never zero active Global Administrators', () => {
    type Move = (h: Harness, t: Tenant, actor: string, target: string) => Promise<Answer>;
    const removeGlobalAdmin: Move = (h, t, actor, target) =>
      command(h, 'delete', `/v1/tenants/${t.tenantId}/role-assignments/GlobalAdministrator/${target}`, actor);
    const block: Move = (h, t, actor, target) =>
      command(h, 'post', `/v1/tenants/${t.tenantId}/users/${target}/block`, actor);
    const accepted = (move: Move): number => (move === block ? 200 : 204);

    /** A tenant with exactly two Global Administrators: its admin A and a member B given the role. */
    const twoGlobalAdmins = async () => {
      const t = await signUp('ga');
      const b = await createMember(two, t, `b@${t.initialDomain}`);
      const role = await command(one, 'post', `/v1/tenants/${t.tenantId}/role-assignments`, t.adminUserId, {
        userId: b,
        role: 'GlobalAdministrator',
      });
      expect(role.status, JSON.stringify(role.body)).toBe(201);
      return { t, a: t.adminUserId, b };
    };

    /** The active Global Administrators, as the read model and the tenant's role holders say. */
    const activeGlobalAdmins = async (t: Tenant, ids: string[], minPosition: number) => {
      const fromReads: string[] = [];
      for (const id of ids) {
        const user = (await read(`/v1/tenants/${t.tenantId}/users/${id}`, minPosition)).body as UserBody;
        if (user.state === 'active' && user.roles.includes('GlobalAdministrator')) fromReads.push(id);
      }
      const holders = new Map<string, { roles: string[]; active: boolean }>();
      for (const e of (await one.store.readStream(`tenant-${t.tenantId}`)).events) {
        if (e.type === 'RoleHolderChanged') {
          const data = e.data as { userId: string; roles: string[]; active: boolean };
          holders.set(data.userId, data);
        }
      }
      const stored = [...holders]
        .filter(([, h]) => h.active && h.roles.includes('GlobalAdministrator'))
        .map(([id]) => id);
      return { read: fromReads.sort(), stored: stored.sort() };
    };

    interface Scenario {
      readonly name: string;
      /** A's command. */
      readonly first: Move;
      /** B's command. */
      readonly second: Move;
    }
    /** Exactly one of A's and B's commands was accepted: which, and the other's answer. */
    const oneWinner = (s: Scenario, [byA, byB]: Answer[]) => {
      const aWon = byA!.status === accepted(s.first);
      const bWon = byB!.status === accepted(s.second);
      expect(aWon !== bWon, show([byA!, byB!])).toBe(true);
      return { aWon, loser: aWon ? byB! : byA! };
    };

    const scenarios: Scenario[] = [
      { name: 'removing the role', first: removeGlobalAdmin, second: removeGlobalAdmin },
      { name: 'blocking', first: block, second: block },
      { name: 'removing the role against blocking', first: removeGlobalAdmin, second: block },
    ];

    // Whoever is served first is no Global Administrator any more when the other's command is
    // decided: the other is refused for its role (the only answer a serial order can give).
    it.each(scenarios)('A and B target each other at once ($name): one wins, one GA is left', async (s) => {
      for (let round = 0; round < 5; round++) {
        const { t, a, b } = await twoGlobalAdmins();
        const results = await race(
          [() => s.first(on(round), t, a, b), () => s.second(on(round + 1), t, b, a)],
          round,
        );
        const { aWon, loser } = oneWinner(s, results);
        expect([loser.status, loser.body.code], show(results)).toEqual([403, 'forbidden_role']);
        const left = await activeGlobalAdmins(t, [a, b], latest(results));
        expect(left.read, show(results)).toEqual([aWon ? a : b]);
        expect(left.stored).toEqual(left.read);
      }
    });

    // Each acts on themself: both stay authorised, so the second is the last-GA rule's to refuse.
    it.each(scenarios)('A and B each target themselves at once ($name): one last_global_admin', async (s) => {
      for (let round = 0; round < 5; round++) {
        const { t, a, b } = await twoGlobalAdmins();
        const results = await race(
          [() => s.first(on(round), t, a, a), () => s.second(on(round + 1), t, b, b)],
          round,
        );
        const { aWon, loser } = oneWinner(s, results);
        expect([loser.status, loser.body.code], show(results)).toEqual([409, 'last_global_admin']);
        const left = await activeGlobalAdmins(t, [a, b], latest(results));
        expect(left.read, show(results)).toEqual([aWon ? b : a]);
        expect(left.stored).toEqual(left.read);
      }
    });
  });

  describe('no account left in a removed domain', () => {
    /** Walks the log: when the domain is removed, no account is in it, and none enters it after. */
    const checkLog = (events: readonly RecordedEvent[], t: Tenant, domain: string) => {
      const inDomain = new Set<string>();
      let removed = false;
      const isIn = (upn: unknown) => typeof upn === 'string' && upn.endsWith(`@${domain}`);
      for (const e of events) {
        if (e.tenantId !== t.tenantId) continue;
        const data = e.data as Record<string, unknown>;
        if (e.type === 'DomainRemoved' && data['name'] === domain) {
          expect([...inDomain], `accounts in ${domain} when it was removed`).toEqual([]);
          removed = true;
        }
        if (e.type === 'MemberCreated' && isIn(data['userPrincipalName'])) {
          expect(removed, `an account created in ${domain} after its removal`).toBe(false);
          inDomain.add(String(data['userId']));
        }
        if (e.type === 'UserPrincipalNameChanged') {
          if (isIn(data['userPrincipalName'])) {
            expect(removed, `an account moved into ${domain} after its removal`).toBe(false);
            inDomain.add(String(data['userId']));
          } else if (isIn(data['previousUserPrincipalName'])) {
            inDomain.delete(String(data['userId']));
          }
        }
      }
      return inDomain;
    };

    it('removing a domain while 5 members are created in it', async () => {
      const outcomes: string[] = [];
      for (let round = 0; round < 6; round++) {
        const t = await signUp('dom');
        const domain = `${unique('gone')}.example`;
        await addVerifiedDomain(t, domain);
        const head = await one.store.headPosition();
        const results = await race(
          [
            () => command(on(round), 'delete', `/v1/tenants/${t.tenantId}/domains/${domain}`, t.adminUserId),
            ...Array.from(
              { length: 5 },
              (_, i) => () =>
                command(on(round + i + 1), 'post', `/v1/tenants/${t.tenantId}/users`, t.adminUserId, {
                  userPrincipalName: `m${i}@${domain}`,
                  displayName: `M${i}`,
                }),
            ),
          ],
          round,
        );
        const [removal, ...creations] = results;
        if (removal!.status === 204) {
          outcomes.push('removed');
          for (const c of creations)
            expect([c.status, c.body.code], show(results)).toEqual([409, 'domain_not_verified']);
        } else {
          outcomes.push('kept');
          expect([removal!.status, removal!.body.code], show(results)).toEqual([409, 'domain_in_use']);
          for (const c of creations) expect(c.status, show(results)).toBe(201);
        }
        const created = creations.filter((c) => c.status === 201).map((c) => c.body.userId as string);
        const position = latest(results);
        const tenant = await read(`/v1/tenants/${t.tenantId}`, position);
        const domains = (tenant.body.domains as Array<{ name: string }>).map((d) => d.name);
        expect(domains.includes(domain), show(results)).toBe(removal!.status !== 204);
        const inDomain = (await users(t, position)).filter((u) => u.userPrincipalName.endsWith(`@${domain}`));
        expect(inDomain.map((u) => u.userId).sort()).toEqual(created.sort());
        expect([...checkLog(await eventsAfter(head), t, domain)].sort()).toEqual(created.sort());
      }
      console.info(`[${eventStore}] domain removal vs creations: ${outcomes.join(', ')}`);
    });

    it('removing a domain while UPN changes move 5 members into it', async () => {
      const outcomes: string[] = [];
      for (let round = 0; round < 6; round++) {
        const t = await signUp('mov');
        const domain = `${unique('moved')}.example`;
        await addVerifiedDomain(t, domain);
        const members = await createMembers(t, 5, 'm', 5);
        const head = await one.store.headPosition();
        const results = await race(
          [
            () => command(on(round), 'delete', `/v1/tenants/${t.tenantId}/domains/${domain}`, t.adminUserId),
            ...members.map(
              (userId, i) => () =>
                command(
                  on(round + i + 1),
                  'patch',
                  `/v1/tenants/${t.tenantId}/users/${userId}`,
                  t.adminUserId,
                  {
                    userPrincipalName: `m${i}@${domain}`,
                  },
                ),
            ),
          ],
          round,
        );
        const [removal, ...moves] = results;
        if (removal!.status === 204) {
          outcomes.push('removed');
          for (const m of moves)
            expect([m.status, m.body.code], show(results)).toEqual([409, 'domain_not_verified']);
        } else {
          outcomes.push('kept');
          expect([removal!.status, removal!.body.code], show(results)).toEqual([409, 'domain_in_use']);
          for (const m of moves) expect(m.status, show(results)).toBe(200);
        }
        const moved = members.filter((_, i) => moves[i]!.status === 200);
        const position = latest(results);
        const tenant = await read(`/v1/tenants/${t.tenantId}`, position);
        const domains = (tenant.body.domains as Array<{ name: string }>).map((d) => d.name);
        expect(domains.includes(domain), show(results)).toBe(removal!.status !== 204);
        const all = await users(t, position);
        expect(
          all
            .filter((u) => u.userPrincipalName.endsWith(`@${domain}`))
            .map((u) => u.userId)
            .sort(),
        ).toEqual([...moved].sort());
        expect(all.filter((u) => members.includes(u.userId))).toHaveLength(5);
        expect([...checkLog(await eventsAfter(head), t, domain)].sort()).toEqual([...moved].sort());
      }
      console.info(`[${eventStore}] domain removal vs UPN changes: ${outcomes.join(', ')}`);
    });
  });

  describe('seats never oversubscribed', () => {
    let t: Tenant;
    let members: string[];

    const purchase = async (t: Tenant, sku: string, seats: number): Promise<string> => {
      const res = await command(one, 'post', `/v1/tenants/${t.tenantId}/subscriptions`, t.adminUserId, {
        sku,
        seats,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.subscriptionId as string;
    };
    const assign = (h: Harness, t: Tenant, userId: string, sku: string) =>
      command(h, 'post', `/v1/tenants/${t.tenantId}/users/${userId}/licenses`, t.adminUserId, { sku });
    const subscription = async (t: Tenant, id: string, minPosition: number): Promise<SubscriptionBody> => {
      const tenant = await read(`/v1/tenants/${t.tenantId}`, minPosition);
      const found = (tenant.body.subscriptions as SubscriptionBody[]).find((s) => s.subscriptionId === id);
      expect(found).toBeDefined();
      return found!;
    };

    /** Walks the log: after every event, the seats in use of the subscription fit in its seats. */
    const checkLog = (events: readonly RecordedEvent[], subscriptionId: string, seats: number) => {
      let assigned = 0;
      for (const e of events) {
        if (e.data['subscriptionId'] !== subscriptionId) continue;
        if (e.type === 'SeatsChanged') seats = e.data['seats'] as number;
        if (e.type === 'SeatTaken') assigned++;
        if (e.type === 'SeatReleased') assigned--;
        expect(assigned, `seats in use after ${e.type} at ${e.globalPosition}`).toBeLessThanOrEqual(seats);
      }
      return { assigned, seats };
    };

    beforeAll(async () => {
      t = await signUp('seats');
      members = await createMembers(t, 50, 'seat');
    });

    it('10 seats, 50 assignments at once from both instances: exactly 10, every round', async () => {
      for (let round = 0; round < 3; round++) {
        const sku = `RACE_${round}`;
        const subscriptionId = await purchase(t, sku, 10);
        const head = await one.store.headPosition();
        const results = await race(
          members.map((userId, i) => () => assign(on(i + round), t, userId, sku)),
          round * 17,
        );
        expect(tally(results)).toEqual({ '201': 10, '409 count_violation': 40 });
        const winners = members.filter((_, i) => results[i]!.status === 201);
        const position = latest(results);
        expect(await subscription(t, subscriptionId, position)).toMatchObject({
          seats: 10,
          assignedSeats: 10,
        });
        const licensed = (await users(t, position)).filter((u) => u.licenses.some((l) => l.sku === sku));
        expect(licensed.map((u) => u.userId).sort()).toEqual(winners.sort());
        expect(checkLog(await eventsAfter(head), subscriptionId, 10)).toEqual({ assigned: 10, seats: 10 });
      }
    });

    it('seats reduced while assignments run: never below the seats in use', async () => {
      const outcomes: string[] = [];
      for (let round = 0; round < 4; round++) {
        const sku = `SHRINK_${round}`;
        const subscriptionId = await purchase(t, sku, 30);
        const head = await one.store.headPosition();
        const reductions = [25, 20, 15, 10, 5];
        // The reductions are launched among the assignments, at a different place each round.
        const isChange = (i: number) => i % 9 === (round * 2) % 9;
        let nextMember = 0;
        let nextReduction = 0;
        const requests = Array.from({ length: 45 }, (_, i) => {
          const h = on(i + round);
          if (isChange(i)) {
            const seats = reductions[nextReduction++]!;
            const url = `/v1/tenants/${t.tenantId}/subscriptions/${subscriptionId}`;
            return () => command(h, 'patch', url, t.adminUserId, { seats });
          }
          const userId = members[nextMember++]!;
          return () => assign(h, t, userId, sku);
        });
        const results = await race(requests);
        const assignments = results.filter((_, i) => !isChange(i));
        const changes = results.filter((_, i) => isChange(i));
        expect([assignments.length, changes.length]).toEqual([40, 5]);
        for (const a of assignments) {
          expect([201, '409 count_violation'], show(results)).toContain(
            a.status === 201 ? 201 : `${a.status} ${a.body.code}`,
          );
        }
        for (const c of changes) {
          expect([200, '409 seats_in_use'], show(results)).toContain(
            c.status === 200 ? 200 : `${c.status} ${c.body.code}`,
          );
        }
        const granted = assignments.filter((a) => a.status === 201).length;
        const final = await subscription(t, subscriptionId, latest(results));
        expect(final.assignedSeats).toBe(granted);
        expect(final.assignedSeats).toBeLessThanOrEqual(final.seats);
        expect(checkLog(await eventsAfter(head), subscriptionId, 30)).toEqual({
          assigned: final.assignedSeats,
          seats: final.seats,
        });
        outcomes.push(`${granted}/${final.seats}`);
      }
      console.info(`[${eventStore}] seats in use / seats after the reductions: ${outcomes.join(', ')}`);
    });

    // Some 20,000 commands: about three minutes per store on two cores, so by default on one store.
    it.runIf(BIG_RACE_STORES.includes(eventStore))(
      '10,000 seats, 10,050 assignments from both instances, 64 in flight: exactly 10,000',
      async () => {
        const seats = 10_000;
        const big = await signUp('bigseats');
        let started = Date.now();
        const many = await createMembers(big, seats + 50, 'u', 64);
        const createdIn = Date.now() - started;
        const subscriptionId = await purchase(big, 'BIG', seats);
        const head = await one.store.headPosition();
        started = Date.now();
        const results = await bounded(many.length, 64, (i) => assign(on(i), big, many[i]!, 'BIG'));
        console.info(
          `[${eventStore}] ${many.length} members created in ${createdIn} ms, ` +
            `licensed in ${Date.now() - started} ms: ${JSON.stringify(tally(results))}`,
        );
        const taken =
          (await one.store.readStream(`seats-${subscriptionId}`, { fromVersion: seats })).version + 1;
        expect(tally(results), `seats taken in the ledger: ${taken}`).toEqual({
          '201': seats,
          '409 count_violation': 50,
        });
        expect(taken).toBe(seats);
        expect(await subscription(big, subscriptionId, latest(results))).toMatchObject({
          seats,
          assignedSeats: seats,
        });
        expect(checkLog(await eventsAfter(head), subscriptionId, seats)).toEqual({ assigned: seats, seats });
      },
      300_000,
    );
  });

  describe('guests are not manageable here, on either instance', () => {
    it('rename, UPN change, password reset and MFA registration are refused; no directory stream moves', async () => {
      const t = await signUp('guests');
      for (let round = 0; round < 2; round++) {
        const email = `${unique('guest')}@fabrikam.example`;
        const invited = await command(one, 'post', `/v1/tenants/${t.tenantId}/invitations`, t.adminUserId, {
          email,
          displayName: 'Guest',
        });
        expect(invited.status, JSON.stringify(invited.body)).toBe(201);
        const guestId = invited.body.guestUserId as string;
        if (round === 1) {
          const redeemed = await two
            .http()
            .post(`/v1/invitations/${invited.body.invitationId}/redeem`)
            .set(auth)
            .send({ redeemCode: invited.body.redeemCode, identity: { kind: 'external', email } });
          expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(200);
        }
        const url = `/v1/tenants/${t.tenantId}/users/${guestId}`;
        const before = await read(url, await one.store.headPosition());
        const userStream = (await one.store.readStream(`user-${guestId}`)).version;
        const tenantStream = (await one.store.readStream(`tenant-${t.tenantId}`)).version;
        const head = await one.store.headPosition();
        const results = await race(
          [one, two].flatMap((h) => [
            () => command(h, 'patch', url, t.adminUserId, { displayName: 'Renamed' }),
            () =>
              command(h, 'patch', url, t.adminUserId, { userPrincipalName: `renamed@${t.initialDomain}` }),
            () => command(h, 'post', `${url}/password-resets`, t.adminUserId),
            () => command(h, 'post', `${url}/mfa-methods`, t.adminUserId, { kind: 'authenticator_app' }),
          ]),
          round * 5,
        );
        for (const r of results)
          expect([r.status, r.body.code], show(results)).toEqual([409, 'guest_not_manageable']);
        expect((await one.store.readStream(`user-${guestId}`)).version).toBe(userStream);
        expect((await one.store.readStream(`tenant-${t.tenantId}`)).version).toBe(tenantStream);
        // A refusal is recorded as a security fact, beside the directory and nothing else.
        const appended = await eventsAfter(head);
        expect(appended.map((e) => [e.streamId, e.type, e.data['code']])).toEqual(
          results.map(() => [`rejections-${t.tenantId}`, 'CommandRejected', 'guest_not_manageable']),
        );
        const after = await read(url, await one.store.headPosition());
        expect(after.body).toEqual(before.body);
        expect(after.headers['etag']).toBe(before.headers['etag']);
      }
    });
  });

  describe('If-Match holds per resource across instances', () => {
    it('two renames with one user ETag at once: one 200, one 412; the ETag moves by one', async () => {
      const t = await signUp('etagu');
      const userId = await createMember(one, t, `e@${t.initialDomain}`);
      const url = `/v1/tenants/${t.tenantId}/users/${userId}`;
      let position = await one.store.headPosition();
      for (let round = 0; round < 5; round++) {
        const etag = etagOf(await read(url, position));
        const results = await race(
          [0, 1].map(
            (i) => () =>
              command(on(round + i), 'patch', url, t.adminUserId, { displayName: `R${round}-${i}` }, etag),
          ),
          round,
        );
        expect(results.map((r) => r.status).sort(), show(results)).toEqual([200, 412]);
        const winner = results.find((r) => r.status === 200)!;
        expect(results.find((r) => r.status === 412)!.body.code).toBe('precondition_failed');
        expect(etagOf(winner)).toBe(etag + 1);
        position = latest(results);
        const now = await read(url, position);
        expect(etagOf(now)).toBe(etag + 1);
        expect(now.body.displayName).toBe(winner.body.displayName);
        expect((await one.store.readStream(`user-${userId}`)).version + 1).toBe(etag + 1);
      }
    });

    it('two MFA policy changes with one tenant ETag at once: one 200, one 412; the ETag moves by one', async () => {
      const t = await signUp('etagt');
      const url = `/v1/tenants/${t.tenantId}`;
      let position = await one.store.headPosition();
      for (let round = 0; round < 5; round++) {
        const before = await read(url, position);
        const etag = etagOf(before);
        const required = !before.body.mfaPolicy.required;
        const results = await race(
          [0, 1].map(
            (i) => () =>
              command(on(round + i), 'put', `${url}/policies/mfa`, t.adminUserId, { required }, etag),
          ),
          round,
        );
        expect(results.map((r) => r.status).sort(), show(results)).toEqual([200, 412]);
        expect(results.find((r) => r.status === 412)!.body.code).toBe('precondition_failed');
        expect(etagOf(results.find((r) => r.status === 200)!)).toBe(etag + 1);
        position = latest(results);
        const now = await read(url, position);
        expect(etagOf(now)).toBe(etag + 1);
        expect(now.body.mfaPolicy.required).toBe(required);
        expect((await one.store.readStream(`tenant-${t.tenantId}`)).version).toBe(etag + 1);
      }
    });

    it('a rename with If-Match while a license is assigned to the user: refused, or first', async () => {
      const t = await signUp('etagl');
      const sub = await command(one, 'post', `/v1/tenants/${t.tenantId}/subscriptions`, t.adminUserId, {
        sku: 'ETAG',
        seats: 100,
      });
      expect(sub.status).toBe(201);
      const outcomes: string[] = [];
      for (let round = 0; round < 8; round++) {
        const userId = await createMember(on(round), t, `l${round}@${t.initialDomain}`);
        const url = `/v1/tenants/${t.tenantId}/users/${userId}`;
        const etag = etagOf(await read(url, await one.store.headPosition()));
        // A rename reads less than an assignment and tends to win: from time to time it leaves a
        // few milliseconds late, so that both orders happen.
        const late = round % 2 === 1 ? round * 4 : 0;
        const [rename, license] = await race(
          [
            () =>
              new Promise((resolve) => setTimeout(resolve, late)).then(() =>
                command(on(round), 'patch', url, t.adminUserId, { displayName: 'Renamed' }, etag),
              ),
            () => command(on(round + 1), 'post', `${url}/licenses`, t.adminUserId, { sku: 'ETAG' }),
          ],
          round,
        );
        const results = [rename!, license!];
        expect(license!.status, show(results)).toBe(201);
        expect([200, 412], show(results)).toContain(rename!.status);
        const renamed = rename!.status === 200;
        outcomes.push(renamed ? 'rename first' : 'rename refused');
        const { events } = await one.store.readStream(`user-${userId}`, { fromVersion: etag });
        expect(events.map((e) => e.type)).toEqual(
          renamed ? ['UserRenamed', 'LicenseAssigned'] : ['LicenseAssigned'],
        );
        if (renamed) expect(etagOf(rename!)).toBe(etag + 1);
        else expect(rename!.body.code).toBe('precondition_failed');
        const final = etag + events.length;
        expect(etagOf(license!)).toBe(final);
        const now = await read(url, latest(results));
        expect(etagOf(now)).toBe(final);
        expect(now.body.displayName).toBe(renamed ? 'Renamed' : `l${round}`);
        expect(now.body.licenses).toEqual([{ sku: 'ETAG' }]);
      }
      console.info(`[${eventStore}] If-Match rename vs license: ${outcomes.join(', ')}`);
    });
  });
});
