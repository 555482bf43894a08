// Rebuild benchmark: builds a store of BENCH_EVENTS events (default 1,000,000) of tenant traffic
// through the store's append (no HTTP), then rebuilds every read model as `npm run cli -- rebuild
// all` does, in a child process of its own so that its peak RSS is the rebuild's alone.
//
//   npm run bench                       (compiles, then runs node dist/bench/rebuild.bench.js)
//   BENCH_EVENTS=200000 npm run bench   BENCH_KEEP=1 keeps the store and prints where it is
//   BENCH_DATA_DIR=<kept dir> npm run bench   rebuilds an existing store again (no generation)
//   BENCH_READ_MODELS=postgres npm run bench  rebuilds into PostgreSQL (DATABASE_URL, default the
//                                             local server; a schema of its own, dropped after)
//
// The traffic is the recorded "tenant's year" (test/fixtures/replay/tenant-year.ndjson, real events
// of the real service) cloned per tenant with fresh ids, names and claim streams, with extra sign-ins
// (BENCH_SIGN_IN_FACTOR per recorded one, default 5: sign-ins are the bulk of real traffic), and
// BENCH_INTERLEAVE tenants (default 50) living their years side by side in the log.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import {
  SqliteEventStore,
  SqliteSnapshotStore,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
} from '#event-store';
import { loadConfig } from '../apps/account-service/src/config/config.js';
import { PostgresReadModelDatabase, ReadModelRunner } from '#projections';
import { readModelProjections } from '../apps/account-service/src/read-side/registry.js';
import { openReadSide, type ReadSide } from '../apps/cli/src/commands/read-side.js';
import { rebuildProjections, type RebuildResult } from '../apps/cli/src/commands/rebuild.js';
import { formatCount, ProgressBar } from '../apps/cli/src/progress.js';

const TEMPLATE = path.resolve('test/fixtures/replay/tenant-year.ndjson');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const CLAIM_STREAM = /claim-([a-z_]+)-([0-9a-f]{40})/g;
const PERSONAL_ADDRESS =
  /([a-z][a-z.]*)@(example\.net|example\.org|gmail\.example|partner\.example|outlook\.com|hotmail\.com)/g;

const intFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw.replace(/[_,]/g, ''));
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
};

const toNewEvent = (e: RecordedEvent): NewEvent => ({
  eventId: e.eventId,
  type: e.type,
  schemaVersion: e.schemaVersion,
  data: e.data,
  occurredAt: e.occurredAt,
  ...(e.tenantId === undefined ? {} : { tenantId: e.tenantId }),
  correlationId: e.correlationId,
  ...(e.causationId === undefined ? {} : { causationId: e.causationId }),
  actor: e.actor,
});

/** The template's lines, and which of them are sign-ins (cloned again for the traffic mix). */
function loadTemplate(): { readonly key: string; readonly lines: readonly string[] } {
  const lines = fs.readFileSync(TEMPLATE, 'utf8').trim().split('\n');
  const key = lines.find((l) => l.includes('"type":"ClaimHashKeyCreated"'));
  if (!key) throw new Error(`${TEMPLATE} has no claim key event`);
  // The claim key is the service's, once per store; every other event is one tenant's history.
  return { key, lines: lines.filter((l) => l !== key) };
}

// Ids are UUID v7 as the service makes them (time-ordered, so the event id index grows at its end).

/** Tenant copy `k`: every id fresh, names made unique, claim streams renamed; sign-ins multiplied. */
function* copyOf(lines: readonly string[], k: number, signInFactor: number): Generator<RecordedEvent> {
  const ids = new Map<string, string>();
  const digests = new Map<string, string>();
  const fresh = (map: Map<string, string>, key: string, make: () => string): string => {
    let value = map.get(key);
    if (value === undefined) map.set(key, (value = make()));
    return value;
  };
  for (const line of lines) {
    const text = line
      .replace(
        CLAIM_STREAM,
        (_, kind: string, digest: string) =>
          `claim-${kind}-${fresh(digests, digest, () => randomBytes(20).toString('hex'))}`,
      )
      .replace(UUID, (id) => fresh(ids, id, uuidv7))
      .replace(/contoso/g, `contoso${k}`)
      .replace(/fabrikam/g, `fabrikam${k}`)
      .replace(PERSONAL_ADDRESS, `$1.k${k}@$2`);
    const event = JSON.parse(text) as RecordedEvent;
    yield event;
    if (event.type !== 'SignInSucceeded' && event.type !== 'SignInFailed') continue;
    for (let i = 0; i < signInFactor; i++) {
      const signInId = uuidv7();
      yield {
        ...event,
        eventId: uuidv7(),
        streamId: `sign-in-${signInId}`,
        correlationId: uuidv7(),
        causationId: uuidv7(),
        data: { ...event.data, signInId },
      };
    }
  }
}

/** Appends `total` events of interleaved tenant histories; returns events/s of the bulk append. */
async function generate(file: string, total: number): Promise<{ seconds: number; tenants: number }> {
  const signInFactor = intFromEnv('BENCH_SIGN_IN_FACTOR', 5);
  const interleave = intFromEnv('BENCH_INTERLEAVE', 50);
  const { key, lines } = loadTemplate();
  const store = new SqliteEventStore(file);
  const bar = new ProgressBar({ label: 'generate' });
  const started = performance.now();
  let written = 0;
  let batch: StreamAppend[] = [];
  let inBatch = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await store.append(batch);
    written += inBatch;
    batch = [];
    inBatch = 0;
    bar.update(written, total);
  };
  const push = async (event: RecordedEvent) => {
    const last = batch[batch.length - 1];
    if (last && last.streamId === event.streamId) (last.events as NewEvent[]).push(toNewEvent(event));
    else batch.push({ streamId: event.streamId, expectedVersion: 'any', events: [toNewEvent(event)] });
    inBatch += 1;
    if (inBatch >= 2000) await flush();
  };
  try {
    await push(JSON.parse(key) as RecordedEvent);
    let tenants = 0;
    for (let group = 0; written + inBatch < total; group++) {
      // `interleave` tenants at a time, one event of each in turn: the log of a busy service.
      const copies = Array.from({ length: interleave }, (_, i) =>
        copyOf(lines, group * interleave + i, signInFactor),
      );
      tenants += copies.length;
      let live = copies;
      while (live.length > 0 && written + inBatch < total) {
        const next: typeof live = [];
        for (const copy of live) {
          if (written + inBatch >= total) break;
          const { value, done } = copy.next();
          if (done) continue;
          await push(value);
          next.push(copy);
        }
        live = next;
      }
    }
    await flush();
    bar.done(written, total);
    // Each Contoso copy brings a Fabrikam with it.
    return { seconds: (performance.now() - started) / 1000, tenants: tenants * 2 };
  } finally {
    await store.close();
  }
}

/** The service's write path without HTTP: one append (one transaction, one sync) per event. */
async function appendThroughput(dir: string, count: number): Promise<number> {
  const store = new SqliteEventStore(path.join(dir, 'append.db'));
  try {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const signInId = uuidv7();
      await store.append([
        {
          streamId: `sign-in-${signInId}`,
          expectedVersion: 'no_stream',
          events: [
            {
              eventId: uuidv7(),
              type: 'SignInSucceeded',
              schemaVersion: 1,
              data: {
                signInId,
                login: `user${i}@bench.example`,
                serviceKind: 'consumer',
                mfaPerformed: false,
              },
              occurredAt: new Date().toISOString(),
              correlationId: uuidv7(),
              actor: { appId: 'bench' },
            },
          ],
        },
      ]);
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    await store.close();
  }
}

/** The SQLite events of `dataDir` with read models in a fresh PostgreSQL schema (what instances share). */
async function postgresReadSide(dataDir: string): Promise<ReadSide> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const store = new SqliteEventStore(path.join(dataDir, 'events.db'));
  const db = await PostgresReadModelDatabase.connect({ connectionString: url, schema });
  const runner = new ReadModelRunner(store, db);
  const projections = readModelProjections();
  for (const projection of projections) await runner.register(projection);
  process.stderr.write(`read models in PostgreSQL schema ${schema}\n`);
  return {
    store,
    snapshots: new SqliteSnapshotStore(store.db),
    runner,
    names: projections.map((p) => p.name),
    async close() {
      await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
      await store.close();
    },
  };
}

interface Measured extends RebuildResult {
  /** Peak RSS of the rebuilding process once this read model was rebuilt (MiB). */
  readonly peakRssMb: number;
  readonly digestSeconds?: number;
  readonly digestPeakRssMb?: number;
  readonly digestError?: string;
}

const rssMb = (): number => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

/**
 * Child mode: rebuilds every read model of the store in `dataDir` as `rebuild all` does (same
 * functions, same progress bars), timing the replay and the digest apart, and prints JSON.
 */
async function rebuildAll(dataDir: string): Promise<void> {
  const readSide =
    process.env.BENCH_READ_MODELS === 'postgres'
      ? await postgresReadSide(dataDir)
      : await openReadSide(loadConfig({ ...process.env, DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }));
  try {
    const width = Math.max(...readSide.names.map((n) => n.length));
    const started = performance.now();
    const results: Measured[] = [];
    for (const name of readSide.names) {
      const [result] = await rebuildProjections(readSide, [name], {
        progress: () => new ProgressBar({ label: name.padEnd(width) }),
        digest: false,
      });
      if (!result) continue;
      const peakRssMb = rssMb();
      const digestStarted = performance.now();
      try {
        const digest = await readSide.runner.digest(name);
        const digestSeconds = (performance.now() - digestStarted) / 1000;
        results.push({ ...result, digest, peakRssMb, digestSeconds, digestPeakRssMb: rssMb() });
      } catch (error) {
        results.push({
          ...result,
          peakRssMb,
          digestError: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ results, seconds, peakRssMb: rssMb() })}\n`);
  } finally {
    await readSide.close();
  }
}

function describeRebuild(r: Measured): string {
  const digest =
    r.digestError !== undefined
      ? `digest FAILED (${r.digestError})`
      : `digest ${(r.digestSeconds ?? 0).toFixed(1)} s, peak RSS ${(r.digestPeakRssMb ?? 0).toFixed(0)} MiB`;
  return (
    `  ${r.name.padEnd(10)} ${formatCount(r.events)} events in ${r.seconds.toFixed(1)} s: ` +
    `${formatCount(r.eventsPerSecond)} events/s, peak RSS ${r.peakRssMb.toFixed(0)} MiB; ${digest}`
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--rebuild') return rebuildAll(process.argv[3] ?? '');
  const reuse = process.env.BENCH_DATA_DIR;
  const dir = reuse ?? fs.mkdtempSync(path.join(os.tmpdir(), 'als-bench-'));
  const file = path.join(dir, 'events.db');
  const cpus = os.cpus();
  const print = (line: string) => process.stdout.write(`${line}\n`);
  print(`node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, store ${file}`);
  try {
    if (reuse === undefined) {
      const total = intFromEnv('BENCH_EVENTS', 1_000_000);
      const generated = await generate(file, total);
      const appendRate = await appendThroughput(dir, intFromEnv('BENCH_APPENDS', 2000));
      const size =
        fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
      print(
        `store: ${formatCount(total)} events, ${formatCount(generated.tenants)} tenants, ${(size / 2 ** 20).toFixed(0)} MiB`,
      );
      print(
        `bulk append (2,000 events per append): ${formatCount(total / generated.seconds)} events/s (${generated.seconds.toFixed(1)} s)`,
      );
      print(
        `single appends (one event, one transaction, one fsync each): ${formatCount(appendRate)} events/s`,
      );
    }
    // A process of its own, so that the peak RSS is the rebuild's.
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rebuild', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`rebuild failed (exit ${child.status ?? child.signal})`);
    const rebuild = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as {
      results: Measured[];
      seconds: number;
      peakRssMb: number;
    };
    print(`rebuild all: ${rebuild.seconds.toFixed(1)} s, peak RSS ${rebuild.peakRssMb.toFixed(0)} MiB`);
    rebuild.results.forEach((r) => print(describeRebuild(r)));
    if (rebuild.results.some((r) => r.digestError !== undefined)) process.exitCode = 1;
  } finally {
    if (process.env.BENCH_KEEP || reuse !== undefined) {
      process.stderr.write(`kept ${dir} (DATA_DIR=${dir} npm run cli -- rebuild all)\n`);
    } else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
