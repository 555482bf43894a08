// `replay <events.ndjson>`: loads an exported log into a fresh store, event for event (ids, streams,
// stream versions, times, actors, data), then builds every read model. The basis of replay tests
// and of bug reproduction: a customer's history, replayed on a laptop, gives the same read models.
import fs from 'node:fs';
import readline from 'node:readline';
import {
  DuplicateEventIdError,
  WrongExpectedVersionError,
  type Actor,
  type EventStore,
  type NewEvent,
  type StreamAppend,
} from '#event-store';
import type { AppConfig } from '../../../account-service/src/config/config.js';
import { CliError } from '../errors.js';
import { migrate } from './migrate.js';
import { openReadSide } from './read-side.js';
import { rebuildProjections, type ProgressSink, type RebuildResult } from './rebuild.js';

/** One line of the file: a RecordedEvent as export-events writes it (globalPosition is re-assigned). */
export interface LoggedEvent extends NewEvent {
  readonly streamId: string;
  readonly streamVersion: number;
}

const KNOWN_FIELDS = new Set([
  'eventId',
  'type',
  'schemaVersion',
  'streamId',
  'streamVersion',
  'globalPosition',
  'occurredAt',
  'tenantId',
  'correlationId',
  'causationId',
  'actor',
  'data',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses and checks one line; throws CliError naming the line and the field. */
export function parseEventLine(text: string, line: number): LoggedEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`line ${line}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const fail = (message: string): never => {
    throw new CliError(`line ${line}: ${message}`);
  };
  if (!isObject(value)) return fail('not a JSON object');
  for (const key of Object.keys(value)) if (!KNOWN_FIELDS.has(key)) fail(`unknown field "${key}"`);
  const text_ = (key: string, optional = false): string | undefined => {
    const v = value[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length === 0) return fail(`${key} must be a non-empty string`);
    return v;
  };
  const integer = (key: string, min: number): number => {
    const v = value[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      return fail(`${key} must be an integer >= ${min}`);
    return v;
  };
  const eventId = text_('eventId') as string;
  const occurredAt = text_('occurredAt') as string;
  if (Number.isNaN(Date.parse(occurredAt))) fail(`occurredAt "${occurredAt}" is not a date`);
  if (value.globalPosition !== undefined) integer('globalPosition', 1);
  const actor = value.actor;
  if (!isObject(actor)) return fail('actor must be an object');
  if (typeof actor.appId !== 'string' || actor.appId.length === 0)
    fail('actor.appId must be a non-empty string');
  if (actor.userId !== undefined && (typeof actor.userId !== 'string' || actor.userId.length === 0)) {
    fail('actor.userId must be a non-empty string');
  }
  for (const key of Object.keys(actor))
    if (key !== 'appId' && key !== 'userId') fail(`unknown field "actor.${key}"`);
  if (!isObject(value.data)) fail('data must be an object');
  const tenantId = text_('tenantId', true);
  const causationId = text_('causationId', true);
  return {
    eventId,
    type: text_('type') as string,
    schemaVersion: integer('schemaVersion', 1),
    streamId: text_('streamId') as string,
    streamVersion: integer('streamVersion', 0),
    occurredAt,
    correlationId: text_('correlationId') as string,
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(causationId === undefined ? {} : { causationId }),
    actor: actor as unknown as Actor,
    data: value.data as Record<string, unknown>,
  };
}

/** Reads an NDJSON file line by line (blank lines are skipped), yielding each event with its line. */
export async function* readEventLog(
  file: string,
  onBytes?: (read: number, total: number) => void,
): AsyncGenerator<{ readonly event: LoggedEvent; readonly line: number }> {
  if (!fs.existsSync(file)) throw new CliError(`${file}: no such file`);
  const total = fs.statSync(file).size;
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      yield { event: parseEventLine(text, line), line };
      onBytes?.(input.bytesRead, total);
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

interface PendingEntry {
  readonly append: StreamAppend & { readonly events: NewEvent[] };
  /** The file line of each event. */
  readonly lines: number[];
  nextVersion: number;
}

/**
 * Appends the events in file order. Consecutive events of one stream go in one entry whose expected
 * version is the version before its first event, so the store itself proves that every stream is
 * complete and in order; many entries share one atomic append (one transaction, one sync).
 */
export async function loadEvents(
  store: EventStore,
  events: AsyncIterable<{ readonly event: LoggedEvent; readonly line: number }>,
  options: { readonly batchSize?: number; readonly onBatch?: (loaded: number) => void } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 2000;
  let batch: PendingEntry[] = [];
  let inBatch = 0;
  let loaded = await store.headPosition();
  if (loaded !== 0) throw new CliError(`the target store already has ${loaded} events`);

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    // The later of two events with one id is the duplicate.
    const lineOf = (eventId: string): number | undefined => {
      for (const entry of [...batch].reverse()) {
        const index = entry.append.events.findLastIndex((e) => e.eventId === eventId);
        if (index >= 0) return entry.lines[index];
      }
      return undefined;
    };
    try {
      const result = await store.append(batch.map((entry) => entry.append));
      // An event id that is already stored turns an append into a no-op retry: positions tell.
      if (result.lastGlobalPosition !== loaded + inBatch) {
        const first = batch[0];
        throw new CliError(
          `line ${first?.lines[0] ?? '?'}: event ${first?.append.events[0]?.eventId ?? '?'} is already in the log (duplicate eventId)`,
        );
      }
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const entry = batch.find((e) => e.append.streamId === error.streamId);
        const first = entry?.append.events[0];
        throw new CliError(
          `line ${entry?.lines[0] ?? '?'}: stream ${error.streamId} is at version ${error.actual}, ` +
            `but the event ${first?.eventId ?? ''} says it is version ${String(
              typeof error.expected === 'number' ? error.expected + 1 : 0,
            )} (a missing or reordered event)`,
        );
      }
      if (error instanceof DuplicateEventIdError) {
        throw new CliError(`line ${lineOf(error.eventId) ?? '?'}: duplicate eventId ${error.eventId}`);
      }
      throw error;
    }
    loaded += inBatch;
    batch = [];
    inBatch = 0;
    options.onBatch?.(loaded);
  };

  for await (const { event, line } of events) {
    const newEvent: NewEvent = {
      eventId: event.eventId,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      occurredAt: event.occurredAt,
      ...(event.tenantId === undefined ? {} : { tenantId: event.tenantId }),
      correlationId: event.correlationId,
      ...(event.causationId === undefined ? {} : { causationId: event.causationId }),
      actor: event.actor,
    };
    const last = batch[batch.length - 1];
    if (last && last.append.streamId === event.streamId) {
      if (event.streamVersion !== last.nextVersion) {
        throw new CliError(
          `line ${line}: stream ${event.streamId} version ${event.streamVersion} does not follow version ${last.nextVersion - 1}`,
        );
      }
      last.append.events.push(newEvent);
      last.lines.push(line);
      last.nextVersion += 1;
    } else {
      batch.push({
        append: {
          streamId: event.streamId,
          expectedVersion: event.streamVersion === 0 ? 'no_stream' : event.streamVersion - 1,
          events: [newEvent],
        },
        lines: [line],
        nextVersion: event.streamVersion + 1,
      });
    }
    inBatch += 1;
    if (inBatch >= batchSize) await flush();
  }
  await flush();
  return loaded;
}

export interface ReplayOptions {
  readonly batchSize?: number;
  /** Progress of loading (label "load") and of each read model's build. */
  readonly progress?: (name: string) => ProgressSink | undefined;
}

export interface ReplayResult {
  readonly dataDir: string;
  readonly events: number;
  readonly readModels: readonly RebuildResult[];
}

/** A fresh directory: missing, or empty. */
function assertFresh(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new CliError(`${dir} is not a directory`);
  const entries = fs.readdirSync(dir);
  if (entries.length > 0) {
    throw new CliError(
      `${dir} is not empty (${entries.slice(0, 3).join(', ')}…): replay needs a fresh data directory`,
    );
  }
}

/** Loads `file` into a fresh SQLite store under `config.dataDir` and builds every read model. */
export async function replay(
  file: string,
  config: AppConfig,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  if (!fs.existsSync(file)) throw new CliError(`${file}: no such file`);
  assertFresh(config.dataDir);
  const readSide = await openReadSide({ ...config, eventStore: 'sqlite' });
  try {
    const sink = options.progress?.('load');
    let estimate = 0;
    let loadedSoFar = 0;
    const events = await loadEvents(
      readSide.store,
      readEventLog(file, (read, total) => {
        loadedSoFar += 1;
        if (read > 0) estimate = Math.max(loadedSoFar, Math.round((loadedSoFar * total) / read));
      }),
      {
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        onBatch: (loaded) => sink?.update(loaded, Math.max(estimate, loaded)),
      },
    );
    sink?.done(events, events);
    // A log written by an earlier version is brought to today's layout before anything reads it.
    const migrating = options.progress?.('migrate');
    await migrate(readSide, { tenant: (done, total) => migrating?.update(done, total) });
    const readModels = await rebuildProjections(readSide, readSide.names, {
      ...(options.progress ? { progress: options.progress } : {}),
    });
    return { dataDir: config.dataDir, events, readModels };
  } finally {
    await readSide.close();
  }
}
