// Operator commands on the service's store: rebuild, replay and export the log, compare read-model
// digests, issue API keys. Reads DATA_DIR / EVENT_STORE like the service. Run: npm run cli -- <command>.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../../account-service/src/config/config.js';
import { SCOPES } from '../../account-service/src/common/api-keys.js';
import { digestProjections, formatDigestResult } from './commands/digest.js';
import { exportEvents } from './commands/export-events.js';
import { keysCreate } from './commands/keys.js';
import { formatRebuildResult, rebuildProjections, type RebuildResult } from './commands/rebuild.js';
import { CliError, UsageError } from './errors.js';
import { ProgressBar } from './progress.js';

// The store (and with it Nest, the projections, …) is loaded only by the commands that open it, so
// that usage errors and `keys create` answer at once.
const readSideModule = () => import('./commands/read-side.js');

const USAGE = `usage: npm run cli -- <command> [options]

  rebuild <name|all> [--json] [--skip-digest]
      Replays the log into a new generation of the read model(s) beside the live one, then switches.
      Safe while the service runs on the same store. Shows progress on stderr; prints per read model
      events, seconds, events/s and the digest (unless skipped: it reads every row).
  replay <events.ndjson> [--data-dir <dir>] [--json]
      Loads an exported log into a fresh SQLite store (the directory must be missing or empty;
      default DATA_DIR), keeping every event's id, stream, version, time, actor and data, then builds
      every read model and prints their digests.
  export-events [--out <file>] [--after <position>]
      Writes the log as NDJSON, one event per line (stdout unless --out), page by page.
  migrate [--json]
      Brings a store written by an earlier version to today's stream layout (per-object streams).
      Run it with the service stopped; the service refuses to start on an older layout until then.
      Resumable; the history is kept as it is, so audit records and chain heads do not change.
  digest [name|all] [--json]
      Prints the digest of each live read model and the position it reflects.
  audit verify [--tenant <tenantId> | --service] [--data-dir <dir>] [--json]
      Walks the audit feed's hash chains as stored and names each chain's first broken link
      (exit 1 when one is broken).
  keys create --app-id <id> [--scope <scope>]... [--tenant <tenantId>]... [--file <path>]
      Issues a key, appends its hash to the key file (API_KEYS_FILE, default ./data/api-keys.json)
      and prints the key once. Scopes: ${SCOPES.join(', ')} (default: commands:write).
      Send SIGHUP to a running service to load the new key.

environment: DATA_DIR (default ./data), EVENT_STORE (sqlite, or postgres with DATABASE_URL)
exit codes: 0 done, 1 failed, 2 wrong usage`;

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function progressFor(names: readonly string[]): (name: string) => ProgressBar {
  const width = Math.max(10, ...names.map((n) => n.length));
  return (name) => new ProgressBar({ label: name.padEnd(width) });
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function rebuildCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    json: { type: 'boolean' },
    'skip-digest': { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('rebuild needs one read model name, or all');
  const { openReadSide, selectProjections } = await readSideModule();
  const readSide = await openReadSide(loadConfig());
  try {
    const names = selectProjections(readSide, positionals[0]);
    if (names.length === 0) process.stderr.write('no read models are registered: nothing to rebuild\n');
    const results = await rebuildProjections(readSide, names, {
      progress: progressFor(names),
      digest: !values['skip-digest'],
      ...(values.json ? {} : { onResult: (r: RebuildResult) => print(formatRebuildResult(r)) }),
    });
    if (values.json) print(JSON.stringify(results));
  } finally {
    await readSide.close();
  }
}

async function replayCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('replay needs the NDJSON file to load');
  const config = loadConfig(
    values['data-dir'] ? { ...process.env, DATA_DIR: values['data-dir'] } : process.env,
  );
  const file = path.resolve(positionals[0] ?? '');
  process.stderr.write(`replaying ${file} into ${config.dataDir}\n`);
  const { replay } = await import('./commands/replay.js');
  const result = await replay(file, config, { progress: progressFor(['load']) });
  if (values.json) {
    print(JSON.stringify(result));
    return;
  }
  print(`loaded ${result.events} events into ${path.join(result.dataDir, 'events.db')}`);
  result.readModels.forEach((r) => print(formatRebuildResult(r)));
}

async function exportCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, after: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`export-events takes no argument (got ${positionals[0]})`);
  const after = values.after === undefined ? 0 : Number(values.after);
  if (!Number.isInteger(after) || after < 0)
    throw new UsageError('--after must be a position (an integer >= 0)');
  // Opened up front: a path that can't be written fails here, with its reason, before any work.
  let fd: number | undefined;
  if (values.out) {
    try {
      fd = fs.openSync(values.out, 'w');
    } catch (error) {
      throw new CliError(
        `cannot write ${values.out}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const { openReadSide } = await readSideModule();
  const readSide = await openReadSide(loadConfig());
  const out = fd === undefined ? process.stdout : fs.createWriteStream('', { fd });
  try {
    const head = await readSide.store.headPosition();
    const bar = values.out ? new ProgressBar({ label: 'export' }) : undefined;
    const result = await exportEvents(readSide.store, out, {
      after,
      onPage: (position) => bar?.update(position - after, Math.max(head, position) - after),
    });
    bar?.done(result.events, result.events);
    if (values.out) {
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(resolve);
      });
      process.stderr.write(
        `wrote ${result.events} events (up to position ${result.lastPosition}) to ${values.out}\n`,
      );
    }
  } finally {
    await readSide.close();
  }
}

async function migrateCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`migrate takes no argument (got ${positionals[0]})`);
  const { openReadSide } = await readSideModule();
  const { migrate, formatMigrationResult } = await import('./commands/migrate.js');
  const readSide = await openReadSide(loadConfig());
  try {
    const bar = new ProgressBar({ label: 'migrate' });
    const result = await migrate(readSide, { tenant: (done, total) => bar.update(done, total) });
    bar.done(result.tenants, result.tenants);
    print(values.json ? JSON.stringify(result) : formatMigrationResult(result));
  } finally {
    await readSide.close();
  }
}

async function digestCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length > 1) throw new UsageError('digest takes at most one read model name');
  const { openReadSide, selectProjections } = await readSideModule();
  const readSide = await openReadSide(loadConfig(), { requireBuilt: true });
  try {
    const names = selectProjections(readSide, positionals[0]);
    if (names.length === 0) process.stderr.write('no read models are registered\n');
    const head = await readSide.store.headPosition();
    const results = await digestProjections(readSide, names);
    if (values.json) print(JSON.stringify({ head, readModels: results }));
    else results.forEach((r) => print(formatDigestResult(r, head)));
  } finally {
    await readSide.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'rebuild':
        await rebuildCommand(rest);
        return 0;
      case 'replay':
        await replayCommand(rest);
        return 0;
      case 'export-events':
        await exportCommand(rest);
        return 0;
      case 'digest':
        await digestCommand(rest);
        return 0;
      case 'migrate':
        await migrateCommand(rest);
        return 0;
      case 'audit': {
        if (rest[0] !== 'verify') throw new UsageError(`unknown audit command ${rest[0] ?? '(none)'}`);
        const { auditVerify } = await import('./commands/audit-verify.js');
        return await auditVerify(rest.slice(1));
      }
      case 'keys':
        if (rest[0] !== 'create') throw new UsageError(`unknown keys command ${rest[0] ?? '(none)'}`);
        keysCreate(rest.slice(1));
        return 0;
      case undefined:
        process.stderr.write(`${USAGE}\n`);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    // An operator error explains itself; anything else is a bug, and its stack helps.
    const message =
      error instanceof CliError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

// `export-events | head`: the reader went away, which ends the export, not in a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv.slice(2));
