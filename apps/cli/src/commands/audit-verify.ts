// `audit verify [--tenant <id> | --service] [--data-dir <dir>] [--json]`: walks the audit read
// model's hash chains as stored in the data directory (read-only: a running service may keep
// writing) and prints, per chain, that it holds or the first broken link.
// Exit codes: 0 every chain verified, 1 a chain is broken (or the read model can't be read),
// 2 wrong usage.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { SERVICE_CHAIN } from '#audit';
import { AUDIT, AuditProjection, AuditRecords, auditTablePrefix, type ChainVerification } from '#projections';
import { loadConfig, type AppConfig } from '../../../account-service/src/config/config.js';

export const AUDIT_VERIFY_USAGE = `usage: npm run cli -- audit verify [--tenant <tenantId> | --service] [--data-dir <dir>] [--json]
    Verifies the audit hash chain of one tenant (--tenant), of the service chain (--service), or of
    every chain, as stored in the read model of DATA_DIR, and names each chain's first broken link.
    exit codes: 0 every chain verified, 1 a chain is broken or the read model can't be read, 2 wrong usage`;

export interface AuditVerifyIo {
  /** Default: process.env (DATA_DIR, EVENT_STORE as for the service). */
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

/** The SQLite file that holds the read models, as bootstrap's openStorage places it. */
export function readModelFile(config: AppConfig): string {
  if (config.eventStore === 'memory')
    throw new Failure(
      'EVENT_STORE=memory keeps nothing between processes: point DATA_DIR at a durable store',
    );
  return path.join(config.dataDir, config.eventStore === 'postgres' ? 'read-models.db' : 'events.db');
}

function openAuditTables(file: string): { db: Database.Database; records: AuditRecords } {
  if (!fs.existsSync(file)) throw new Failure(`${file} does not exist: no read models here`);
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    const hasState = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'read_model_state'")
      .get();
    const row = hasState
      ? (db.prepare('SELECT version, generation FROM read_model_state WHERE name = ?').get(AUDIT) as
          { version: number; generation: number } | undefined)
      : undefined;
    if (!row)
      throw new Failure(`the audit read model has never been built in ${file}: start the service once`);
    const version = new AuditProjection().version;
    if (row.version !== version) {
      throw new Failure(
        `the audit read model in ${file} is at version ${row.version}, this build has ${version}: run rebuild ${AUDIT}`,
      );
    }
    const prefix = auditTablePrefix(row.generation);
    const tables = db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)")
      .pluck()
      .get(`${prefix}records`, `${prefix}chain_heads`) as number;
    if (tables !== 2) throw new Failure(`the audit tables ${prefix}* are missing from ${file}`);
    return { db, records: new AuditRecords({ db, prefix: () => prefix }) };
  } catch (error) {
    db.close();
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
  let opened: { db: Database.Database; records: AuditRecords } | undefined;
  try {
    const config = loadConfig(values['data-dir'] ? { ...env, DATA_DIR: values['data-dir'] } : env);
    opened = openAuditTables(readModelFile(config));
    const { records } = opened;
    const chains =
      values.tenant !== undefined
        ? [values.tenant.toLowerCase()]
        : values.service
          ? [SERVICE_CHAIN]
          : records.chains();
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
    opened?.db.close();
  }
}
