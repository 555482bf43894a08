// `audit verify [--tenant <id> | --service] [--data-dir <dir>] [--json]`: walks the audit read
// model's hash chains where the service keeps them (the SQLite file in the data directory, or the
// PostgreSQL schema the instances share) and prints, per chain, that it holds or the first broken
// link. It only reads: a running service may keep writing.
// Exit codes: 0 every chain verified, 1 a chain is broken (or the read model can't be read),
// 2 wrong usage.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_CHAIN } from '#audit';
import {
  AUDIT,
  AuditProjection,
  AuditRecords,
  auditTablePrefix,
  PostgresReadModelDatabase,
  type ChainVerification,
  type ReadModelDatabase,
} from '#projections';
import { openReadModelDatabase } from '../../../account-service/src/bootstrap.js';
import { loadConfig, type AppConfig } from '../../../account-service/src/config/config.js';

export const AUDIT_VERIFY_USAGE = `usage: npm run cli -- audit verify [--tenant <tenantId> | --service] [--data-dir <dir>] [--json]
    Verifies the audit hash chain of one tenant (--tenant), of the service chain (--service), or of
    every chain, as stored in the read models the service keeps (DATA_DIR's read-models.db, or with
    EVENT_STORE=postgres the PostgreSQL schema DATABASE_SCHEMA), and names each chain's first broken link.
    exit codes: 0 every chain verified, 1 a chain is broken or the read model can't be read, 2 wrong usage`;

export interface AuditVerifyIo {
  /** Default: process.env (DATA_DIR, EVENT_STORE, DATABASE_URL, DATABASE_SCHEMA as for the service). */
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
}

class Failure extends Error {}

const label = (chain: string): string => (chain === SERVICE_CHAIN ? 'service' : `tenant ${chain}`);

export function formatVerification(v: ChainVerification): string {
  if (v.ok) return `${label(v.tenantId)}: ok (${v.checked} record${v.checked === 1 ? '' : 's'})`;
  const record = v.recordId !== undefined ? `, record ${v.recordId}` : '';
  return `${label(v.tenantId)}: BROKEN at sequence ${v.firstBrokenSequence ?? '?'} (${v.reason ?? 'unknown'}${record}); ${v.checked} record${v.checked === 1 ? '' : 's'} verified before it`;
}

/**
 * The SQLite file that holds the read models, as bootstrap's openReadModelDatabase places it;
 * undefined where they live in PostgreSQL.
 */
export function readModelFile(config: AppConfig): string | undefined {
  if (config.eventStore === 'memory')
    throw new Failure(
      'EVENT_STORE=memory keeps nothing between processes: point DATA_DIR at a durable store',
    );
  if (config.eventStore === 'postgres') return undefined;
  // A file of their own beside the events (EVENT_STORE=sqlite) or the instance's (eventstoredb).
  return path.join(config.dataDir, 'read-models.db');
}

/**
 * Whether a statement failed because its table is not there: how "never built" looks on either
 * database (SQLite: "no such table"; PostgreSQL: undefined_table).
 */
function isMissingTable(error: unknown): boolean {
  if (error instanceof Error && 'code' in error && error.code === '42P01') return true;
  return error instanceof Error && /no such table|relation "[^"]*" does not exist/i.test(error.message);
}

interface AuditState {
  readonly version: number;
  readonly generation: number;
}

/** The audit projection's checkpoint row; undefined when the state table or the row is missing. */
async function auditState(db: ReadModelDatabase): Promise<AuditState | undefined> {
  try {
    return await db.get<AuditState>('SELECT version, generation FROM read_model_state WHERE name = ?', [
      AUDIT,
    ]);
  } catch (error) {
    if (isMissingTable(error)) return undefined;
    throw error;
  }
}

async function tableExists(db: ReadModelDatabase, table: string): Promise<boolean> {
  try {
    await db.get(`SELECT 1 AS present FROM ${table} LIMIT 1`);
    return true;
  } catch (error) {
    if (isMissingTable(error)) return false;
    throw error;
  }
}

async function openAuditTables(config: AppConfig): Promise<{ db: ReadModelDatabase; records: AuditRecords }> {
  const file = readModelFile(config);
  // Checked first: opening a file that isn't there would create an empty one in the wrong place.
  if (file !== undefined && !fs.existsSync(file))
    throw new Failure(`${file} does not exist: no read models here`);
  const db = await openReadModelDatabase(config, { readOnly: true });
  try {
    const where =
      db instanceof PostgresReadModelDatabase ? `PostgreSQL schema ${db.schema}` : (file ?? 'the database');
    const row = await auditState(db);
    if (!row)
      throw new Failure(`the audit read model has never been built in ${where}: start the service once`);
    const { version } = new AuditProjection();
    if (row.version !== version) {
      throw new Failure(
        `the audit read model in ${where} is at version ${row.version}, this build has ${version}: run rebuild ${AUDIT}`,
      );
    }
    const prefix = auditTablePrefix(row.generation);
    for (const table of ['records', 'chain_heads']) {
      if (!(await tableExists(db, `${prefix}${table}`)))
        throw new Failure(`the audit tables ${prefix}* are missing from ${where}`);
    }
    // Each read asks which generation is live: a rebuild the service finishes meanwhile is followed
    // (verify starts the chain again on the new tables), as long as it is this build's version.
    const live = async (): Promise<string> => {
      const now = await auditState(db);
      return auditTablePrefix(now !== undefined && now.version === version ? now.generation : row.generation);
    };
    return { db, records: new AuditRecords({ db, prefix: live }) };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** Exit code: 0 ok, 1 broken (or unreadable), 2 usage. */
export async function auditVerify(args: readonly string[], io: AuditVerifyIo = {}): Promise<number> {
  const out = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  let values: { tenant?: string; service?: boolean; 'data-dir'?: string; json?: boolean; help?: boolean };
  try {
    const parsed = parseArgs({
      args: [...args],
      options: {
        tenant: { type: 'string' },
        service: { type: 'boolean' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
    values = parsed.values;
    if (values.help) {
      out(AUDIT_VERIFY_USAGE);
      return 0;
    }
    if (values.tenant !== undefined && values.service)
      throw new Error('--tenant and --service exclude each other');
    if (values.tenant !== undefined && !/^[0-9a-f-]{1,64}$/i.test(values.tenant))
      throw new Error(`--tenant ${values.tenant} is not a tenant id`);
  } catch (error) {
    err(`error: ${error instanceof Error ? error.message : String(error)}\n\n${AUDIT_VERIFY_USAGE}`);
    return 2;
  }
  const env = io.env ?? process.env;
  let opened: { db: ReadModelDatabase; records: AuditRecords } | undefined;
  try {
    const config = loadConfig(values['data-dir'] ? { ...env, DATA_DIR: values['data-dir'] } : env);
    opened = await openAuditTables(config);
    const { records } = opened;
    const chains =
      values.tenant !== undefined
        ? [values.tenant.toLowerCase()]
        : values.service
          ? [SERVICE_CHAIN]
          : await records.chains();
    if (chains.length === 0) err('the audit read model holds no records yet');
    const results: ChainVerification[] = [];
    for (const chain of chains) {
      const result = await records.verify(chain);
      results.push(result);
      if (!values.json) out(formatVerification(result));
    }
    const ok = results.every((r) => r.ok);
    if (values.json) {
      out(JSON.stringify({ ok, checked: results.reduce((n, r) => n + r.checked, 0), chains: results }));
    }
    return ok ? 0 : 1;
  } catch (error) {
    err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await opened?.db.close();
  }
}
