// Starts the service in-process on a fresh data directory for HTTP tests, with API keys the test
// knows and a real DNS server on loopback.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import type { EventStore } from '#event-store';
import { createApp } from '../../apps/account-service/src/bootstrap.js';
import { ApiKeyRegistry, hashApiKey, type Scope } from '../../apps/account-service/src/common/api-keys.js';
import { loadConfig, type AppConfig } from '../../apps/account-service/src/config/config.js';
import { TestDnsServer } from './dns-server.js';

export const ADMIN_KEY = 'test-admin-key';
export const READER_KEY = 'test-reader-key';
export const LIMITED_KEY = 'test-limited-key';

export interface Harness {
  readonly app: INestApplication;
  readonly store: EventStore;
  readonly dns: TestDnsServer;
  readonly config: AppConfig;
  readonly http: () => ReturnType<typeof request>;
  /** Restricts LIMITED_KEY to the given tenants (takes effect for new requests). */
  limitTo(tenantIds: string[]): void;
  close(): Promise<void>;
}

/** `env.DATA_DIR` set: a second instance on an existing data directory, which it leaves in place. */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const ownsDataDir = env.DATA_DIR === undefined;
  // On PostgreSQL each harness gets a schema of its own, dropped on close (unless one was given).
  const ownsSchema = env.EVENT_STORE === 'postgres' && env.DATABASE_SCHEMA === undefined;
  if (env.EVENT_STORE === 'eventstoredb') {
    env = {
      EVENTSTORE_CONNECTION_STRING: process.env.EVENTSTORE_CONNECTION_STRING ?? '',
      EVENTSTORE_NAMESPACE: `e2e${randomBytes(6).toString('hex')}`,
      ...env,
    };
  }
  if (env.EVENT_STORE === 'postgres') {
    env = {
      DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      DATABASE_SCHEMA: `e2e_${randomBytes(6).toString('hex')}`,
      ...env,
    };
  }
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'als-e2e-'));
  const dns = new TestDnsServer();
  const dnsAddress = await dns.start();
  const config = loadConfig({
    DATA_DIR: dataDir,
    DNS_SERVERS: dnsAddress,
    EVENT_STORE: 'sqlite',
    READ_WAIT_MS: '300',
    ...env,
  });
  const keys = (limited: string[]) => [
    {
      appId: 'admin-portal',
      keyHash: hashApiKey(ADMIN_KEY),
      scopes: ['commands:write', 'directory:read'] as Scope[],
    },
    { appId: 'sign-in-screen', keyHash: hashApiKey(READER_KEY), scopes: ['lookup:read'] as Scope[] },
    {
      appId: 'tenant-app',
      keyHash: hashApiKey(LIMITED_KEY),
      scopes: ['commands:write', 'directory:read'] as Scope[],
      tenantIds: limited,
    },
  ];
  const registry = new ApiKeyRegistry(keys([]));
  const { app, store } = await createApp({ config, apiKeys: registry, logger: false });
  await app.init();
  return {
    app,
    store,
    dns,
    config,
    http: () => request(app.getHttpServer()),
    limitTo(tenantIds) {
      registry.replace(keys(tenantIds));
    },
    async close() {
      await app.close();
      await dns.stop();
      if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      if (ownsSchema) {
        const pool = new pg.Pool({ connectionString: config.databaseUrl });
        await pool.query(`DROP SCHEMA IF EXISTS "${config.databaseSchema}" CASCADE`);
        await pool.end();
      }
    },
  };
}

/** A second instance on the store of `first` (the same SQLite file, or PostgreSQL schema) and its DNS. */
export function startBeside(first: Harness): Promise<Harness> {
  const { eventStore, databaseSchema, dataDir, dnsServers } = first.config;
  return startHarness({
    EVENT_STORE: eventStore,
    ...(eventStore === 'postgres' ? { DATABASE_SCHEMA: databaseSchema } : { DATA_DIR: dataDir }),
    DNS_SERVERS: dnsServers.join(','),
  });
}
