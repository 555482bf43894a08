// The built service as a real process: first start creates an API key, and everything written
// survives SIGKILL and a restart on the same data directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../support/dns-server.js';
import {
  assertBuilt,
  freePort,
  killService,
  type ServiceProcess,
  startService,
} from '../support/service-process.js';

// Loose view of a JSON response body for assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

describe('service process', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-restart-'));
  const dns = new TestDnsServer();
  let env: Record<string, string>;
  let port: number;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    assertBuilt();
    env = { DATA_DIR: dataDir, DNS_SERVERS: await dns.start(), EVENT_STORE: 'sqlite' };
    port = await freePort();
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) await killService(service);
    await dns.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates an API key on first start, keeps every write across SIGKILL', async () => {
    service = await startService(env, port);
    const key = /API key: (als_[A-Za-z0-9_-]+)/.exec(service.output())?.[1];
    expect(key, service.output()).toBeDefined();
    const stored = fs.readFileSync(path.join(dataDir, 'api-keys.json'), 'utf8');
    expect(stored).not.toContain(key!);
    expect(stored).toMatch(/"keyHash": "sha256:[0-9a-f]{64}"/);

    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const call = async (method: string, url: string, body?: unknown, actingUser?: string) => {
      const res = await fetch(`${service!.base}${url}`, {
        method,
        headers: { ...headers, ...(actingUser ? { 'X-Acting-User': actingUser } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as Json };
    };

    const tenant = await call('POST', '/v1/tenants', {
      displayName: 'Contoso',
      kind: 'business',
      domainPrefix: 'contoso',
      admin: { displayName: 'Admin', userName: 'admin' },
    });
    expect(tenant.status).toBe(201);
    const { tenantId, adminUserId } = tenant.body;
    const domain = await call(
      'POST',
      `/v1/tenants/${tenantId}/domains`,
      { name: 'contoso.com' },
      adminUserId,
    );
    dns.setTxt('contoso.com', [domain.body.verificationRecord.value]);
    expect(
      (await call('POST', `/v1/tenants/${tenantId}/domains/contoso.com/verify`, undefined, adminUserId))
        .status,
    ).toBe(200);
    const alice = await call(
      'POST',
      `/v1/tenants/${tenantId}/users`,
      { userPrincipalName: 'alice@contoso.com', displayName: 'Alice' },
      adminUserId,
    );
    expect(alice.status).toBe(201);

    await killService(service);
    service = await startService(env, port);
    expect(service.output()).not.toContain('API key:');

    const after = await call('GET', `/v1/tenants/${tenantId}`);
    expect(after.status).toBe(200);
    expect(after.body.domains).toContainEqual({
      name: 'contoso.com',
      isInitial: false,
      isPrimary: false,
      isVerified: true,
    });
    const aliceAfter = await call('GET', `/v1/tenants/${tenantId}/users/${alice.body.userId}`);
    expect(aliceAfter.body.userPrincipalName).toBe('alice@contoso.com');
    const again = await call(
      'POST',
      `/v1/tenants/${tenantId}/users`,
      { userPrincipalName: 'ALICE@Contoso.com', displayName: 'Alice' },
      adminUserId,
    );
    expect(again.body.code).toBe('upn_taken');
  });
});

describe('durable license release', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-release-'));
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    if (service && service.child.exitCode === null) await killService(service);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('frees a deleted user’s seat after a restart between the deletion and the release', async () => {
    const port = await freePort();
    const env = { DATA_DIR: dataDir, EVENT_STORE: 'sqlite' };
    // First run: the reaction is switched off, as if the process died right after the deletion.
    service = await startService({ ...env, PROCESSORS_DISABLED: 'license-release' }, port);
    const key = /API key: (als_[A-Za-z0-9_-]+)/.exec(service.output())?.[1];
    const call = async (method: string, url: string, body?: unknown, actingUser?: string) => {
      const res = await fetch(`${service!.base}${url}`, {
        method,
        headers: {
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          ...(actingUser ? { 'X-Acting-User': actingUser } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as Json };
    };
    const tenant = await call('POST', '/v1/tenants', {
      displayName: 'Seats',
      kind: 'business',
      domainPrefix: 'seats',
      admin: { displayName: 'A', userName: 'admin' },
    });
    const { tenantId, adminUserId } = tenant.body;
    await call('POST', `/v1/tenants/${tenantId}/subscriptions`, { sku: 'E5', seats: 2 }, adminUserId);
    const user = await call(
      'POST',
      `/v1/tenants/${tenantId}/users`,
      { userPrincipalName: 'leaver@seats.onmicrosoft.com', displayName: 'Leaver' },
      adminUserId,
    );
    expect(
      (
        await call(
          'POST',
          `/v1/tenants/${tenantId}/users/${user.body.userId}/licenses`,
          { sku: 'E5' },
          adminUserId,
        )
      ).status,
    ).toBe(201);
    expect(
      (await call('DELETE', `/v1/tenants/${tenantId}/users/${user.body.userId}`, undefined, adminUserId))
        .status,
    ).toBe(204);
    expect((await call('GET', `/v1/tenants/${tenantId}`)).body.subscriptions[0].assignedSeats).toBe(1);

    await killService(service);
    service = await startService(env, port);
    const deadline = Date.now() + 10_000;
    let assigned = 1;
    while (assigned !== 0 && Date.now() < deadline) {
      assigned = (await call('GET', `/v1/tenants/${tenantId}`)).body.subscriptions[0].assignedSeats;
      if (assigned !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(assigned).toBe(0);
    const ready = await call('GET', '/readyz');
    expect(ready.body.checks.processors).toContainEqual(
      expect.objectContaining({ name: 'license-release', state: 'running' }),
    );
  });
});
