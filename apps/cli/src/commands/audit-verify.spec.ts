// `audit verify` on the read-model database as the service leaves it, on SQLite (the file in
// DATA_DIR) and on PostgreSQL (a schema of its own): every chain verified, an edit named, and
// "never built", a version mismatch and missing tables told apart, with their exit codes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryEventStore, type NewEvent } from '#event-store';
import { SERVICE_CHAIN } from '#audit';
import {
  AUDIT,
  AuditProjection,
  auditTablePrefix,
  PostgresReadModelDatabase,
  ReadModelRunner,
  SqliteReadModelDatabase,
  type ReadModelDatabase,
} from '#projections';
import { sampleLog, sampleRecords, TENANT_ID } from '../../../../libs/audit/src/testing/samples.js';
import {
  postgresReadModels,
  READ_MODEL_DATABASE_URL,
} from '../../../../libs/projections/src/testing/databases.js';
import { openReadModelDatabase } from '../../../account-service/src/bootstrap.js';
import { auditVerify } from './audit-verify.js';

// The command opens the database through bootstrap; here it opens the spec's (and nothing else of
// the service is loaded).
vi.mock('../../../account-service/src/bootstrap.js', () => ({ openReadModelDatabase: vi.fn() }));
const opener = vi.mocked(openReadModelDatabase);

interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** The database the spec writes, the environment that points the command at it, and a reopen. */
  open(dataDir: string): Promise<{
    readonly db: ReadModelDatabase;
    readonly env: NodeJS.ProcessEnv;
    reopen(): Promise<ReadModelDatabase>;
    dispose(): Promise<void>;
  }>;
}

const backends: readonly Backend[] = [
  {
    name: 'sqlite',
    async open(dataDir) {
      const file = path.join(dataDir, 'read-models.db');
      const db = new SqliteReadModelDatabase(new Database(file));
      return {
        db,
        env: { EVENT_STORE: 'sqlite', DATA_DIR: dataDir },
        reopen: async () => new SqliteReadModelDatabase(new Database(file)),
        dispose: () => db.close(),
      };
    },
  },
  {
    name: 'postgres',
    async open(dataDir) {
      const { db, dispose } = await postgresReadModels.open();
      const { schema } = db as PostgresReadModelDatabase;
      return {
        db,
        env: { EVENT_STORE: 'postgres', DATABASE_URL: READ_MODEL_DATABASE_URL, DATA_DIR: dataDir },
        reopen: () =>
          PostgresReadModelDatabase.connect({ connectionString: READ_MODEL_DATABASE_URL, schema, max: 2 }),
        dispose,
      };
    },
  },
];

describe.each(backends)('audit verify on $name', (backend) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    opener.mockReset();
  });

  async function database() {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-audit-verify-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const opened = await backend.open(dataDir);
    cleanups.push(() => opened.dispose());
    opener.mockImplementation(() => opened.reopen());
    const lines: string[] = [];
    const run = (...args: string[]) =>
      auditVerify([...args], { env: opened.env, stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    return { ...opened, dataDir, lines, run };
  }

  /** The sample log through the read-model runner, as the service would have projected it. */
  async function built() {
    const opened = await database();
    const store = new InMemoryEventStore();
    const runner = new ReadModelRunner(store, opened.db);
    await runner.register(new AuditProjection());
    for (const e of sampleLog()) {
      const { streamId, streamVersion: _v, globalPosition: _p, ...rest } = e;
      await store.append([{ streamId, expectedVersion: 'any', events: [{ ...rest } as NewEvent] }]);
    }
    runner.start();
    try {
      await runner.waitFor(AUDIT, await store.headPosition(), 5000);
    } finally {
      await runner.stop();
    }
    return opened;
  }

  it('verifies every chain, one line each, and the one asked for', async () => {
    const { run, lines } = await built();
    const chains = [...new Set(sampleRecords().map((r) => r.tenantId))].sort();
    expect(await run(), lines.join('\n')).toBe(0);
    expect(lines).toHaveLength(chains.length);
    expect(lines.every((l) => / ok \(\d+ records?\)$/.test(l))).toBe(true);
    lines.length = 0;
    expect(await run('--service')).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^service: ok/)]);
    expect(chains).toContain(SERVICE_CHAIN);
    lines.length = 0;
    expect(await run('--json')).toBe(0);
    const json = JSON.parse(lines[0]!) as { ok: boolean; checked: number; chains: { tenantId: string }[] };
    expect(json).toMatchObject({ ok: true, checked: sampleRecords().length });
    expect(json.chains.map((c) => c.tenantId)).toEqual(chains);
  });

  it('names the record edited behind the service’s back', async () => {
    const { db, run, lines } = await built();
    const table = `${auditTablePrefix(1)}records`;
    const id = (await db.get<{ id: string }>(`SELECT id FROM ${table} WHERE chain = ? AND sequence = 4`, [
      TENANT_ID,
    ]))!.id;
    expect(
      await db.run(`UPDATE ${table} SET hash = ? WHERE chain = ? AND sequence = 4`, [
        'f'.repeat(64),
        TENANT_ID,
      ]),
    ).toBe(1);
    expect(await run('--tenant', TENANT_ID)).toBe(1);
    expect(lines.at(-1)).toBe(
      `tenant ${TENANT_ID}: BROKEN at sequence 4 (hash_mismatch, record ${id}); 3 records verified before it`,
    );
    expect(await run('--service')).toBe(0);
    expect(await run()).toBe(1);
  });

  it('says the read model was never built: no state table, or no audit row in it', async () => {
    const { db, run, lines } = await database();
    expect(await run()).toBe(1);
    expect(lines.at(-1)).toMatch(
      /^error: the audit read model has never been built in .+: start the service once$/,
    );
    expect(lines.at(-1)).toContain(
      backend.name === 'postgres' ? 'in PostgreSQL schema rm_spec_' : 'read-models.db',
    );
    await db.exec(`CREATE TABLE read_model_state (name ${db.ddl.text} PRIMARY KEY, version ${db.ddl.int} NOT NULL,
      generation ${db.ddl.int} NOT NULL, position ${db.ddl.int} NOT NULL)${db.ddl.tableOptions}`);
    await db.run('INSERT INTO read_model_state (name, version, generation, position) VALUES (?, 1, 1, 0)', [
      'users',
    ]);
    lines.length = 0;
    expect(await run()).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/has never been built/)]);
  });

  it('refuses another version of the projection, and tables that are gone', async () => {
    const { db, run, lines } = await built();
    await db.run('UPDATE read_model_state SET version = ? WHERE name = ?', [9, AUDIT]);
    expect(await run()).toBe(1);
    expect(lines.at(-1)).toMatch(/is at version 9, this build has 1: run rebuild audit$/);
    await db.run('UPDATE read_model_state SET version = ? WHERE name = ?', [1, AUDIT]);
    await db.exec(`DROP TABLE ${auditTablePrefix(1)}chain_heads`);
    lines.length = 0;
    expect(await run()).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`error: the audit tables ${auditTablePrefix(1)}* are missing from `)).toBe(
      true,
    );
  });
});

describe('audit verify without read models', () => {
  it('fails on a data directory with no database, opening nothing', async () => {
    const lines: string[] = [];
    const io = { env: {}, stdout: (l: string) => lines.push(l), stderr: (l: string) => lines.push(l) };
    const nowhere = path.join(os.tmpdir(), 'als-audit-verify-nothing-here');
    expect(await auditVerify(['--data-dir', nowhere], io)).toBe(1);
    expect(lines.at(-1)).toBe(
      `error: ${path.join(nowhere, 'read-models.db')} does not exist: no read models here`,
    );
    expect(fs.existsSync(nowhere)).toBe(false);
    expect(await auditVerify([], { ...io, env: { EVENT_STORE: 'memory' } })).toBe(1);
    expect(lines.at(-1)).toMatch(/EVENT_STORE=memory keeps nothing between processes/);
    expect(opener).not.toHaveBeenCalled();
  });
});
