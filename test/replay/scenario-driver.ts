// Drives the real service in-process over HTTP on a fresh data directory, with a clock the scenario
// moves forward (a year of history in seconds) and a DNS server it controls. What the scenario
// writes is then exported as a replay fixture: the events are the ones the service really records.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import type { EventStore } from '#event-store';
import { createApp } from '../../apps/account-service/src/bootstrap.js';
import { ApiKeyRegistry, hashApiKey, type Scope } from '../../apps/account-service/src/common/api-keys.js';
import { loadConfig } from '../../apps/account-service/src/config/config.js';
import { TestDnsServer } from '../support/dns-server.js';

/** The upstream apps of the scenario, each with its own key (they show up as event actors). */
export const APPS = {
  adminPortal: { key: 'scenario-admin-portal', scopes: ['commands:write', 'directory:read'] },
  signInFrontEnd: { key: 'scenario-sign-in', scopes: ['commands:write', 'lookup:read'] },
  selfService: { key: 'scenario-self-service', scopes: ['commands:write'] },
} as const satisfies Record<string, { key: string; scopes: Scope[] }>;
export type AppName = keyof typeof APPS;

// Loose view of a JSON response body.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export interface CallOptions {
  /** X-Acting-User. */
  readonly as?: string;
  readonly app?: AppName;
  /** Expected status; default: any 2xx. */
  readonly expect?: number;
}

export interface ScenarioDriver {
  readonly store: EventStore;
  readonly dns: TestDnsServer;
  readonly dataDir: string;
  /** The scenario's clock. */
  now(): Date;
  /** Moves the clock to a date (never backwards). */
  at(iso: string): void;
  call(method: string, url: string, body?: unknown, options?: CallOptions): Promise<Json>;
  close(): Promise<void>;
}

export async function startScenario(startIso: string): Promise<ScenarioDriver> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-scenario-'));
  const dns = new TestDnsServer();
  const config = loadConfig({ DATA_DIR: dataDir, DNS_SERVERS: await dns.start(), EVENT_STORE: 'sqlite' });
  let clock = Date.parse(startIso);
  const apiKeys = new ApiKeyRegistry(
    Object.entries(APPS).map(([appId, { key, scopes }]) => ({
      appId: appId.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      keyHash: hashApiKey(key),
      scopes: [...scopes],
    })),
  );
  // Each reading moves time on by a second: events keep a strict order in time, as in real life.
  const readClock = { now: () => new Date((clock += 1000)) };
  const { app, store }: { app: INestApplication; store: EventStore } = await createApp({
    config,
    apiKeys,
    clock: readClock,
    logger: false,
  });
  await app.init();
  const http = () => request(app.getHttpServer());
  return {
    store,
    dns,
    dataDir,
    now: () => new Date(clock),
    at(iso) {
      clock = Math.max(clock, Date.parse(iso));
    },
    async call(method, url, body, options = {}) {
      const verb = method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      let req = http()
        [verb](url)
        .set('Authorization', `Bearer ${APPS[options.app ?? 'adminPortal'].key}`);
      if (options.as) req = req.set('X-Acting-User', options.as);
      const res = body === undefined ? await req : await req.send(body as object);
      const ok =
        options.expect === undefined ? res.status >= 200 && res.status < 300 : res.status === options.expect;
      if (!ok) {
        throw new Error(
          `${method} ${url} answered ${res.status}, expected ${options.expect ?? '2xx'}: ${JSON.stringify(res.body)}`,
        );
      }
      return res.body as Json;
    },
    async close() {
      await app.close();
      await dns.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
