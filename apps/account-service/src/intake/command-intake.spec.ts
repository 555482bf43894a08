// The Kafka command intake's logic against the real pipeline on the in-memory store, with fake
// publishers: accepted, duplicate, malformed, unknown type, validation error, domain rejection, and
// the order dead letter → outcome stored → result published (the consumer commits after that).
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, InMemorySnapshotStore, type RecordedEvent } from '#event-store';
import type { IncomingMessage, OutgoingMessage, RecordPublisher } from '#messaging';
import { MemoryRecordPublisher } from '../../../../libs/messaging/src/testing/index.js';
import { loadConfig } from '../config/config.js';
import { CommandPipeline } from '../command-pipeline/command-pipeline.js';
import { directoryCommand } from '../command-pipeline/directory-command.js';
import { StateCache } from '../command-pipeline/state-cache.js';
import { StreamLoader } from '../command-pipeline/stream-loader.js';
import { StreamNames } from '../command-pipeline/stream-names.js';
import { systemClock } from '../command-pipeline/tokens.js';
import { CommandIntake, parseEnvelope, type CommandResult } from './command-intake.js';
import {
  MemoryCommandOutcomeStore,
  SqliteCommandOutcomeStore,
  type CommandOutcomeStore,
  type StoredOutcome,
} from './outcome-store.js';

let offset = 0;
const message = (value: unknown): IncomingMessage => ({
  topic: 'commands',
  partition: 0,
  offset: String(offset++),
  value: typeof value === 'string' ? value : JSON.stringify(value),
  headers: {},
});

const command = (
  type: string,
  payload: Record<string, unknown>,
  userId?: string,
  commandId = randomUUID(),
) => ({
  commandId,
  type,
  actor: { appId: 'hr-sync', ...(userId ? { userId } : {}) },
  payload,
});

/** Logs the order of side effects across the store and both publishers. */
class Recorder {
  readonly log: string[] = [];
  publisher(name: string, inner: RecordPublisher): RecordPublisher {
    return {
      publish: async (messages: readonly OutgoingMessage[]) => {
        await inner.publish(messages);
        this.log.push(name);
      },
      close: () => inner.close(),
    };
  }
  store(inner: CommandOutcomeStore, failures: { count: number }): CommandOutcomeStore {
    return {
      find: (id) => inner.find(id),
      count: () => inner.count(),
      saveIfAbsent: async (o: StoredOutcome) => {
        if (failures.count > 0) {
          failures.count -= 1;
          throw new Error('store unavailable');
        }
        const kept = await inner.saveIfAbsent(o);
        this.log.push('store');
        return kept;
      },
    };
  }
}

describe('CommandIntake', () => {
  let store: InMemoryEventStore;
  let outcomes: MemoryCommandOutcomeStore;
  let results: MemoryRecordPublisher;
  let deadLetters: MemoryRecordPublisher;
  let recorder: Recorder;
  let storeFailures: { count: number };
  let intake: CommandIntake;

  const resultsFor = (commandId: string): CommandResult[] =>
    results.messages.filter((m) => m.key === commandId).map((m) => JSON.parse(m.value) as CommandResult);

  /** Every event of a tenant's directory, in log order (its objects have streams of their own). */
  const tenantEvents = async (tenantId: string): Promise<RecordedEvent[]> =>
    (await store.readAll(0, 100_000)).filter((e) => e.tenantId === tenantId);

  async function signUp(prefix: string): Promise<{ tenantId: string; adminUserId: string }> {
    const c = command('SignUpTenant', {
      displayName: 'Contoso',
      kind: 'business',
      domainPrefix: prefix,
      admin: { displayName: 'Megan', userName: 'megan' },
    });
    await intake.handle(message(c));
    const [result] = resultsFor(c.commandId);
    expect(result?.status).toBe('accepted');
    return result!.result as { tenantId: string; adminUserId: string };
  }

  beforeEach(async () => {
    store = new InMemoryEventStore();
    const config = loadConfig({ DATA_DIR: '/tmp/intake-spec-unused' });
    const names = await StreamNames.load(store);
    const loader = new StreamLoader(store, new InMemorySnapshotStore(), new StateCache(1000), {
      snapshotEvery: 200,
    });
    const pipeline = new CommandPipeline(store, systemClock, names, config, loader);
    outcomes = new MemoryCommandOutcomeStore();
    results = new MemoryRecordPublisher();
    deadLetters = new MemoryRecordPublisher();
    recorder = new Recorder();
    storeFailures = { count: 0 };
    intake = new CommandIntake({
      outcomes: recorder.store(outcomes, storeFailures),
      results: recorder.publisher('result', results),
      deadLetters: recorder.publisher('dlq', deadLetters),
      execute: (tenantId, commands, meta) =>
        pipeline.execute(directoryCommand(names, tenantId, commands), meta),
      clock: systemClock,
      invitationTtlHours: 720,
    });
  });

  it('runs a valid command through the pipeline and answers keyed by commandId', async () => {
    const { tenantId, adminUserId } = await signUp('contoso');
    const c = command(
      'CreateMember',
      { tenantId, userPrincipalName: 'alice@contoso.onmicrosoft.com', displayName: 'Alice' },
      adminUserId,
    );
    await intake.handle(message(c));
    const [result] = resultsFor(c.commandId);
    expect(result).toMatchObject({ commandId: c.commandId, status: 'accepted' });
    expect(result?.result).toMatchObject({ userPrincipalName: 'alice@contoso.onmicrosoft.com' });
    expect(Number(result?.position)).toBeGreaterThan(0);
    const events = await tenantEvents(tenantId);
    const created = events.filter((e) => e.type === 'MemberCreated');
    expect(created).toHaveLength(2);
    expect(created[1]).toMatchObject({ correlationId: c.commandId, causationId: c.commandId });
    expect(created[1]?.actor).toEqual({ appId: 'hr-sync', userId: adminUserId });
    expect(deadLetters.messages).toHaveLength(0);
  });

  it('answers a duplicate commandId with the stored result and executes nothing', async () => {
    const { tenantId, adminUserId } = await signUp('fabrikam');
    const c = command(
      'CreateMember',
      { tenantId, userPrincipalName: 'bob@fabrikam.onmicrosoft.com', displayName: 'Bob' },
      adminUserId,
    );
    await intake.handle(message(c));
    const head = await store.headPosition();
    await intake.handle(message(c));
    // Even a different body under the same commandId: the first outcome stands.
    await intake.handle(message({ ...c, payload: { ...c.payload, displayName: 'Robert' } }));
    expect(await store.headPosition()).toBe(head);
    const bodies = results.messages.filter((m) => m.key === c.commandId).map((m) => m.value);
    expect(bodies).toHaveLength(3);
    expect(new Set(bodies).size).toBe(1);
    expect(intake.stats()).toMatchObject({ duplicates: 2 });
  });

  it('sends unparseable JSON and an envelope without commandId to the dead letters only', async () => {
    await intake.handle(message('{not json'));
    await intake.handle(message({ type: 'CreateMember', actor: { appId: 'x' }, payload: {} }));
    expect(deadLetters.messages.map((m) => m.headers?.code)).toEqual(['malformed_json', 'invalid_envelope']);
    expect(deadLetters.messages[0]?.value).toBe('{not json');
    expect(deadLetters.messages[0]?.headers?.reason).toMatch(/not valid JSON/);
    expect(results.messages).toHaveLength(0);
    expect(await outcomes.count()).toBe(0);
  });

  it('refuses an unknown type and an invalid envelope with a result and a dead letter', async () => {
    const unknown = command('LaunchRocket', {});
    const invalid = { commandId: randomUUID(), type: 'BlockUser', actor: { userId: 'nope' }, payload: [] };
    await intake.handle(message(unknown));
    await intake.handle(message(invalid));
    expect(resultsFor(unknown.commandId)).toEqual([
      expect.objectContaining({ status: 'rejected', code: 'unknown_command_type' }),
    ]);
    expect(resultsFor(invalid.commandId)[0]).toMatchObject({
      status: 'rejected',
      code: 'validation_failed',
      errors: [
        { field: 'actor.appId', rule: 'required' },
        { field: 'actor.userId', rule: 'uuid' },
        { field: 'payload', rule: 'object' },
      ],
    });
    expect(deadLetters.messages.map((m) => [m.key, m.headers?.code])).toEqual([
      [unknown.commandId, 'unknown_command_type'],
      [invalid.commandId, 'validation_failed'],
    ]);
    expect(await outcomes.count()).toBe(2);
  });

  it('validates the payload with the HTTP route DTO (whitelist, unknown fields refused)', async () => {
    const { tenantId, adminUserId } = await signUp('tailspin');
    const head = await store.headPosition();
    const c = command(
      'CreateMember',
      { tenantId, userPrincipalName: 'not an upn', displayName: 'Eve', admin: true },
      adminUserId,
    );
    const noActor = command('BlockUser', { tenantId, userId: adminUserId });
    await intake.handle(message(c));
    await intake.handle(message(noActor));
    const [result] = resultsFor(c.commandId);
    expect(result).toMatchObject({ status: 'rejected', code: 'validation_failed' });
    expect(result?.errors).toEqual(
      expect.arrayContaining([
        { field: 'payload.admin', rule: 'unknown_field' },
        expect.objectContaining({ field: 'payload.userPrincipalName' }),
      ]),
    );
    expect(resultsFor(noActor.commandId)[0]?.errors).toEqual([{ field: 'actor.userId', rule: 'required' }]);
    expect(deadLetters.messages.map((m) => m.headers?.code)).toEqual([
      'validation_failed',
      'validation_failed',
    ]);
    expect(await store.headPosition()).toBe(head);
  });

  it('answers a domain rejection with its code, dead-letters it, and records CommandRejected', async () => {
    const { tenantId, adminUserId } = await signUp('litware');
    const c = command(
      'RemoveRole',
      { tenantId, userId: adminUserId, role: 'GlobalAdministrator' },
      adminUserId,
    );
    await intake.handle(message(c));
    expect(resultsFor(c.commandId)[0]).toMatchObject({ status: 'rejected', code: 'last_global_admin' });
    expect(deadLetters.messages[0]?.headers).toMatchObject({
      code: 'last_global_admin',
      'command-id': c.commandId,
      'source-topic': 'commands',
    });
    const rejections = (await store.readStream(`rejections-${tenantId}`)).events;
    expect(rejections.map((e) => e.data.code)).toEqual(['last_global_admin']);
  });

  it('supports the directory commands: rename, block, roles, licenses, MFA, domains, guests', async () => {
    const { tenantId, adminUserId } = await signUp('adatum');
    const send = async (type: string, payload: Record<string, unknown>) => {
      const c = command(type, { tenantId, ...payload }, adminUserId);
      await intake.handle(message(c));
      return resultsFor(c.commandId)[0]!;
    };
    const created = await send('CreateMember', {
      userPrincipalName: 'carol@adatum.onmicrosoft.com',
      displayName: 'Carol',
    });
    const userId = (created.result as { userId: string }).userId;
    const outcomes = [
      await send('RenameUser', { userId, displayName: 'Carol K' }),
      await send('BlockUser', { userId }),
      await send('UnblockUser', { userId }),
      await send('AssignRole', { userId, role: 'UserAdministrator' }),
      await send('RemoveRole', { userId, role: 'UserAdministrator' }),
      await send('PurchaseSubscription', { sku: 'ENTERPRISE_E3', seats: 2 }),
      await send('AssignLicense', { userId, sku: 'ENTERPRISE_E3' }),
      await send('RemoveLicense', { userId, sku: 'ENTERPRISE_E3' }),
      await send('SetMfaRequirement', { required: true }),
      await send('AddDomain', { name: 'Adatum.example' }),
      await send('InviteGuest', { email: 'dan@gmail.example' }),
      await send('DeleteUser', { userId }),
    ];
    expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'accepted'));
    expect(outcomes[9]?.result).toMatchObject({ name: 'adatum.example', isVerified: false });
    expect(outcomes[10]?.result).toMatchObject({
      status: 'PendingAcceptance',
      redeemCode: expect.any(String),
    });
    expect(await send('RenameUser', { userId, userPrincipalName: 'x@adatum.onmicrosoft.com' })).toMatchObject(
      {
        code: 'validation_failed',
      },
    );
  });

  it('stores the outcome before publishing the result; a failed store publishes nothing and rejects', async () => {
    const { tenantId, adminUserId } = await signUp('northwind');
    recorder.log.length = 0;
    const bad = command('DeleteUser', { tenantId, userId: randomUUID() }, adminUserId);
    await intake.handle(message(bad));
    expect(recorder.log).toEqual(['dlq', 'store', 'result']);

    recorder.log.length = 0;
    storeFailures.count = 1;
    const c = command('SetMfaRequirement', { tenantId, required: true }, adminUserId);
    await expect(intake.handle(message(c))).rejects.toThrow('store unavailable');
    expect(recorder.log).toEqual([]);
    // Re-delivered (the offset was not committed): the command is decided again, nothing doubles.
    await intake.handle(message(c));
    expect(recorder.log).toEqual(['store', 'result']);
    expect(resultsFor(c.commandId)).toHaveLength(1);
  });

  it('a crash after the append but before the outcome was stored: the redelivery answers from the log', async () => {
    const { tenantId, adminUserId } = await signUp('tailspin');
    const c = command(
      'CreateMember',
      { tenantId, userPrincipalName: 'ray@tailspin.onmicrosoft.com', displayName: 'Ray' },
      adminUserId,
    );
    storeFailures.count = 1;
    await expect(intake.handle(message(c))).rejects.toThrow('store unavailable');
    const head = await store.headPosition();
    // Deciding again would refuse the UPN as taken (by the first run): the events are found instead.
    await intake.handle(message(c));
    const [result] = resultsFor(c.commandId);
    expect(await store.headPosition()).toBe(head);
    const created = (await tenantEvents(tenantId)).filter(
      (e) => e.type === 'MemberCreated' && e.causationId === c.commandId,
    );
    expect(created).toHaveLength(1);
    // The position of the first run's last event: the marker appended with its events (nothing
    // was appended since), which is at or after every one of them.
    expect(result).toMatchObject({ commandId: c.commandId, status: 'accepted', position: String(head) });
    expect(head).toBeGreaterThan(created[0]?.globalPosition ?? Infinity);
    expect(result?.result).toMatchObject({ userPrincipalName: 'ray@tailspin.onmicrosoft.com' });
    expect((result?.result as { userId?: string }).userId).toBe(created[0]?.data.userId);
    expect(deadLetters.messages).toHaveLength(0);
  });
});

describe('parseEnvelope', () => {
  it('keeps a readable commandId when the rest is invalid', () => {
    const id = randomUUID();
    expect(parseEnvelope(JSON.stringify({ commandId: id.toUpperCase(), extra: 1 }))).toMatchObject({
      ok: false,
      commandId: id,
      code: 'validation_failed',
    });
    expect(parseEnvelope('[]')).toMatchObject({ ok: false, code: 'invalid_envelope' });
  });
});

describe('SqliteCommandOutcomeStore', () => {
  it('keeps the first outcome per commandId', async () => {
    const outcomes = new SqliteCommandOutcomeStore(new Database(':memory:'));
    const first = { commandId: 'c1', result: '{"a":1}', createdAt: new Date().toISOString() };
    expect(await outcomes.saveIfAbsent(first)).toEqual(first);
    expect(await outcomes.saveIfAbsent({ ...first, result: '{"a":2}' })).toEqual(first);
    expect(await outcomes.find('c1')).toEqual(first);
    expect(await outcomes.find('c2')).toBeUndefined();
    expect(await outcomes.count()).toBe(1);
  });
});
