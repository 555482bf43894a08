// The pipeline's promises about cached state, on the in-memory store with two pipelines standing
// for two instances (each with its own cache, neither seeing the other's writes): a stale cache
// costs a retry, never a wrong answer; a refusal or a "nothing to do" decided on cached state is
// checked against the store; a `once` command runs once; long streams are read from a snapshot.
import { beforeEach, describe, expect, it } from 'vitest';
import { streams, type TenantCommand } from '#domain';
import {
  InMemoryEventStore,
  InMemorySnapshotStore,
  type EventStore,
  type ReadStreamOptions,
  type ReadStreamResult,
} from '#event-store';
import { loadConfig } from '../config/config.js';
import { CommandPipeline, type CommandMeta } from './command-pipeline.js';
import { directoryCommand, type DirectoryOutcome } from './directory-command.js';
import { DomainRejectionError } from './errors.js';
import { StateCache } from './state-cache.js';
import { StreamLoader } from './stream-loader.js';
import { StreamNames } from './stream-names.js';
import { systemClock } from './tokens.js';

const TENANT = '0190a6b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b';
const config = loadConfig({ DATA_DIR: '/tmp/pipeline-spec-unused' });
let next = 0;
const meta = (commandId = `cmd-${++next}`, once = false): CommandMeta => ({
  appId: 'spec',
  correlationId: commandId,
  commandId,
  ...(once ? { once: true } : {}),
});

/** Counts the reads of each stream, and from which version. */
class CountingStore extends InMemoryEventStore {
  readonly reads: Array<{ streamId: string; fromVersion: number }> = [];
  override readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult> {
    this.reads.push({ streamId, fromVersion: options?.fromVersion ?? 0 });
    return super.readStream(streamId, options);
  }
}

interface Instance {
  readonly loader: StreamLoader;
  run(commands: TenantCommand[], m?: CommandMeta): Promise<DirectoryOutcome>;
}

describe('the command pipeline', () => {
  let store: CountingStore;
  let snapshots: InMemorySnapshotStore;
  let names: StreamNames;
  let admin: string;

  const instance = (s: EventStore = store, snapshotEvery = 200): Instance => {
    const loader = new StreamLoader(s, snapshots, new StateCache(1000), { snapshotEvery });
    const pipeline = new CommandPipeline(s, systemClock, names, config, loader);
    return {
      loader,
      run: (commands, m = meta()) => pipeline.execute(directoryCommand(names, TENANT, commands), m),
    };
  };

  beforeEach(async () => {
    store = new CountingStore();
    snapshots = new InMemorySnapshotStore();
    names = await StreamNames.load(store);
    const signedUp = await instance().run([
      {
        type: 'SignUpTenant',
        data: {
          tenantId: TENANT,
          displayName: 'Contoso',
          kind: 'business',
          domainPrefix: 'contoso',
          admin: { displayName: 'Ada', userName: 'ada' },
        },
      },
    ]);
    const created = signedUp.events.find((e) => e.type === 'MemberCreated');
    admin = created?.type === 'MemberCreated' ? created.data.userId : '';
  });

  const createMember = async (on: Instance, userName: string): Promise<string> => {
    const outcome = await on.run([
      {
        type: 'CreateMember',
        actingUserId: admin,
        data: { userPrincipalName: `${userName}@contoso.onmicrosoft.com`, displayName: userName },
      },
    ]);
    const created = outcome.events.find((e) => e.type === 'MemberCreated');
    return created?.type === 'MemberCreated' ? created.data.userId : '';
  };
  const lifecycle = (type: 'BlockUser' | 'UnblockUser' | 'DeleteUser' | 'RestoreUser', userId: string) =>
    ({ type, actingUserId: admin, data: { userId } }) as const;

  it('decides again when its cached state is stale: the append says so, nothing is lost', async () => {
    const [a, b] = [instance(), instance()];
    const alice = await createMember(a, 'alice');
    await a.run([{ type: 'RenameUser', actingUserId: admin, data: { userId: alice, displayName: 'A1' } }]);
    // b moves alice on; a's cache still holds her revision 2.
    await b.run([{ type: 'RenameUser', actingUserId: admin, data: { userId: alice, displayName: 'B1' } }]);
    const renamed = await a.run([
      { type: 'RenameUser', actingUserId: admin, data: { userId: alice, displayName: 'A2' } },
    ]);
    expect(renamed.view.user(alice)).toMatchObject({ displayName: 'A2', revision: 4 });
    const { events } = await store.readStream(streams.user(alice));
    expect(events.map((e) => e.data['displayName'])).toEqual(['alice', 'A1', 'B1', 'A2']);
  });

  it('checks "nothing to do" against the store before answering it', async () => {
    const [a, b] = [instance(), instance()];
    const alice = await createMember(a, 'alice');
    await b.run([lifecycle('BlockUser', alice)]);
    // a's cache says alice is not blocked: unblocking would be nothing to do, were it current.
    const unblocked = await a.run([lifecycle('UnblockUser', alice)]);
    expect(unblocked.events.map((e) => e.type)).toEqual(['UserUnblocked']);
  });

  it('checks a refusal against the store before answering it, and records none when it was stale', async () => {
    const [a, b] = [instance(), instance()];
    const alice = await createMember(a, 'alice');
    await a.run([lifecycle('DeleteUser', alice)]);
    await b.run([lifecycle('RestoreUser', alice)]);
    // a's cache says alice is deleted: a rename would be refused with user_deleted.
    const renamed = await a.run([
      { type: 'RenameUser', actingUserId: admin, data: { userId: alice, displayName: 'Back' } },
    ]);
    expect(renamed.view.user(alice)?.displayName).toBe('Back');
    expect((await store.readStream(streams.rejections(TENANT))).version).toBe(-1);
  });

  it('refuses on current state, and records the refusal once', async () => {
    const a = instance();
    const alice = await createMember(a, 'alice');
    await a.run([lifecycle('DeleteUser', alice)]);
    await expect(
      a.run([{ type: 'RenameUser', actingUserId: admin, data: { userId: alice, displayName: 'No' } }]),
    ).rejects.toBeInstanceOf(DomainRejectionError);
    const { events } = await store.readStream(streams.rejections(TENANT));
    expect(events.map((e) => e.data['code'])).toEqual(['user_deleted']);
  });

  it('runs a `once` command once: sent again, it is answered from the events it stored', async () => {
    const a = instance();
    const command: TenantCommand = {
      type: 'CreateMember',
      actingUserId: admin,
      data: { userPrincipalName: 'ray@contoso.onmicrosoft.com', displayName: 'Ray' },
    };
    const first = await a.run([command], meta('once-1', true));
    const head = await store.headPosition();
    const again = await instance().run([command], meta('once-1', true));
    expect(await store.headPosition()).toBe(head);
    expect(again.events).toEqual(first.events);
    expect(again.position).toBe(first.position);
  });

  it('reads a long stream from its snapshot and the events after it, after a restart', async () => {
    const a = instance(store, 10);
    const purchased = await a.run([
      {
        type: 'PurchaseSubscription',
        actingUserId: admin,
        data: { subscriptionId: '0190a6b2-0000-7000-8000-000000000001', sku: 'E3', seats: 100 },
      },
    ]);
    expect(purchased.events).toHaveLength(1);
    for (let n = 0; n < 25; n++) {
      const userId = await createMember(a, `m${n}`);
      await a.run([{ type: 'AssignLicense', actingUserId: admin, data: { userId, sku: 'E3' } }]);
    }
    const ledger = streams.seats('0190a6b2-0000-7000-8000-000000000001');
    await new Promise((resolve) => setImmediate(resolve));
    const snapshot = await snapshots.load(ledger);
    // 25 seats taken (versions 0–24), a snapshot every 10 events: the latest is at most 10 behind.
    expect(snapshot?.version).toBeGreaterThan(24 - 10);

    // A restart: a new cache. The ledger is read from its snapshot onwards, not from its start.
    store.reads.length = 0;
    const restarted = instance(store, 10);
    const extra = await createMember(restarted, 'extra');
    const assigned = await restarted.run([
      { type: 'AssignLicense', actingUserId: admin, data: { userId: extra, sku: 'E3' } },
    ]);
    expect(assigned.view.seatsAssigned('0190a6b2-0000-7000-8000-000000000001')).toBe(26);
    const ledgerReads = store.reads.filter((r) => r.streamId === ledger);
    expect(ledgerReads).toEqual([{ streamId: ledger, fromVersion: (snapshot?.version ?? 0) + 1 }]);
  });

  it('keeps no more states than it is given room for', async () => {
    const cache = new StateCache(3);
    for (let n = 0; n < 10; n++) {
      cache.set(`s-${n}`, { schema: 'x', version: n, state: n, position: n, snapshotVersion: -1 });
    }
    expect(cache.size).toBe(3);
    expect(cache.get('s-0', 'x')).toBeUndefined();
    expect(cache.get('s-9', 'x')?.state).toBe(9);
    // A later version is never replaced by an earlier one.
    cache.set('s-9', { schema: 'x', version: 1, state: 1, position: 1, snapshotVersion: -1 });
    expect(cache.get('s-9', 'x')?.state).toBe(9);
  });
});
