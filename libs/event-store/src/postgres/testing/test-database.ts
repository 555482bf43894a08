// The PostgreSQL server of the integration specs (DATABASE_URL, else the machine's own on
// 127.0.0.1:5432), and a fresh schema per store, dropped afterwards, so that parallel test files
// and repeated runs never see each other's rows. Shared so that every *.int-spec.ts here reaches
// the server and fails the same way.
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export function newPool(max = 10): Pool {
  const pool = new Pool({ connectionString: DATABASE_URL, max, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined);
  return pool;
}

// One per test file (Vitest runs each file in a process of its own), for the stores that do not
// own their pool and for creating and dropping schemas.
let sharedPool: Pool | undefined;
let reachable: Promise<void> | undefined;

/** The shared pool, once the server answered; otherwise a failure that says what to do. */
export async function admin(): Promise<Pool> {
  sharedPool ??= newPool();
  const pool = sharedPool;
  reachable ??= pool.query('SELECT 1').then(
    () => undefined,
    (error: unknown) => {
      // Not a skip: CI runs a server, so an unreachable one is a broken environment.
      throw new Error(
        `PostgreSQL is not reachable at ${redacted(DATABASE_URL)} (${String(error)}). ` +
          'These integration tests need a running server: start it, or point DATABASE_URL at one.',
      );
    },
  );
  await reachable;
  return pool;
}

/** Ends the shared pool: call it from the test file's afterAll. */
export async function endAdmin(): Promise<void> {
  await sharedPool?.end();
  sharedPool = undefined;
  reachable = undefined;
}

/** A schema name no other run uses; the code under test creates it, the caller drops it. */
export async function freshSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const pool = await admin();
  const schema = `es_test_${randomBytes(6).toString('hex')}`;
  return { schema, drop: () => pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).then(() => undefined) };
}
