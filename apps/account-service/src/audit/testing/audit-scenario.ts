// Test helpers for the audit feed: keys with audit:read, a scenario of real commands (with hostile
// display names), an SSE client, and a reader of octet-counted syslog frames.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyRegistry, hashApiKey, type ApiKeyRecord } from '../../common/api-keys.js';

export const AUDIT_ADMIN_KEY = 'audit-test-admin-key';
export const AUDITOR_KEY = 'audit-test-auditor-key';
export const ANALYST_KEY = 'audit-test-analyst-key';

/** What the scenario did, for the assertions. */
export interface Scenario {
  readonly tenantA: { readonly tenantId: string; readonly adminUserId: string };
  readonly tenantB: { readonly tenantId: string; readonly adminUserId: string };
  /** The member of A with the hostile display name. */
  readonly memberA: { readonly userId: string; readonly displayName: string; readonly upn: string };
  readonly memberB: { readonly userId: string; readonly displayName: string };
  /** Position of the last command. */
  readonly position: number;
}

/** Display names the validation lets through and every SIEM format must carry intact. */
export const HOSTILE_DISPLAY_NAMES = {
  a: 'Zoë | O\'Brien = "boss" \\ back]slash [x] 🎉',
  b: 'Bob = | \\ "B-tenant" ünïcödé',
} as const;

/**
 * Sets the app's keys: the scenario's admin (commands), an auditor (audit:read, every tenant), an
 * analyst limited to `analystTenants` (audit:read), and the given extra keys.
 */
export function setAuditKeys(app: INestApplication, analystTenants: readonly string[] = []): void {
  const keys: ApiKeyRecord[] = [
    {
      appId: 'audit-admin',
      keyHash: hashApiKey(AUDIT_ADMIN_KEY),
      scopes: ['commands:write', 'directory:read', 'lookup:read'],
    },
    { appId: 'siem', keyHash: hashApiKey(AUDITOR_KEY), scopes: ['audit:read'] },
    {
      appId: 'tenant-analyst',
      keyHash: hashApiKey(ANALYST_KEY),
      scopes: ['audit:read'],
      tenantIds: [...analystTenants],
    },
  ];
  app.get(ApiKeyRegistry).replace(keys);
}

type Http = () => ReturnType<typeof request>;

export function commands(http: Http) {
  const auth = { Authorization: `Bearer ${AUDIT_ADMIN_KEY}` };
  const send = async (
    method: 'post' | 'put' | 'delete' | 'patch',
    url: string,
    body?: object,
    actingUser?: string,
    expected?: number,
  ) => {
    const req = http()[method](url).set(auth);
    if (actingUser) req.set('X-Acting-User', actingUser);
    const res = body === undefined ? await req : await req.send(body);
    if (expected !== undefined ? res.status !== expected : res.status >= 300) {
      throw new Error(`${method.toUpperCase()} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body as Record<string, unknown> & { position?: string };
  };
  return {
    send,
    signUp: async (prefix: string, displayName: string) => {
      const body = await send('post', '/v1/tenants', {
        displayName,
        kind: 'business',
        domainPrefix: prefix,
        admin: { displayName: `${displayName} admin`, userName: 'admin' },
      });
      return { tenantId: String(body.tenantId), adminUserId: String(body.adminUserId) };
    },
    member: async (tenantId: string, acting: string, upn: string, displayName: string) => {
      const body = await send(
        'post',
        `/v1/tenants/${tenantId}/users`,
        { userPrincipalName: upn, displayName },
        acting,
      );
      return String(body.userId);
    },
    signIn: (login: string, tenantId?: string) =>
      send('post', '/v1/sign-ins', {
        login,
        service: tenantId ? { kind: 'business', tenantId } : { kind: 'consumer' },
        mfaPerformed: false,
        ipAddress: '203.0.113.7',
        userAgent: 'audit-test "agent" | = \\',
      }),
  };
}

/**
 * Two tenants with a verified custom domain (A), members with hostile names, a refused command
 * (the last Global Administrator), failed sign-ins in both tenants and at the consumer service,
 * and a personal account (the service chain).
 */
export async function runScenario(
  http: Http,
  dns: { setTxt(name: string, values: string[]): void },
  prefix: string,
): Promise<Scenario> {
  const c = commands(http);
  const tenantA = await c.signUp(`${prefix}a`, `${prefix} A | Ltd = "Z" \\`);
  const tenantB = await c.signUp(`${prefix}b`, `${prefix} B Ltd`);
  const domain = `${prefix}a.example`;
  const added = await c.send(
    'post',
    `/v1/tenants/${tenantA.tenantId}/domains`,
    { name: domain },
    tenantA.adminUserId,
  );
  dns.setTxt(domain, [String((added.verificationRecord as { value: string }).value)]);
  await c.send(
    'post',
    `/v1/tenants/${tenantA.tenantId}/domains/${domain}/verify`,
    undefined,
    tenantA.adminUserId,
  );
  const upn = `zoe@${domain}`;
  const memberA = await c.member(tenantA.tenantId, tenantA.adminUserId, upn, HOSTILE_DISPLAY_NAMES.a);
  const memberB = await c.member(
    tenantB.tenantId,
    tenantB.adminUserId,
    `bob@${prefix}b.onmicrosoft.com`,
    HOSTILE_DISPLAY_NAMES.b,
  );
  // Refused: the last Global Administrator of A can't be removed (a CommandRejected in A's chain).
  await c.send(
    'delete',
    `/v1/tenants/${tenantA.tenantId}/role-assignments/GlobalAdministrator/${tenantA.adminUserId}`,
    undefined,
    tenantA.adminUserId,
    409,
  );
  await c.signIn(`nobody@${domain}`, tenantA.tenantId);
  await c.signIn(upn, tenantA.tenantId);
  await c.signIn(`nobody@${prefix}b.onmicrosoft.com`, tenantB.tenantId);
  await c.signIn('nobody@nowhere.example');
  await c.send('post', '/v1/personal-accounts', {
    email: `${prefix}.dana@example.net`,
    displayName: 'Dana | = \\',
  });
  const last = await c.signIn(upn, tenantA.tenantId);
  return {
    tenantA,
    tenantB,
    memberA: { userId: memberA, displayName: HOSTILE_DISPLAY_NAMES.a, upn },
    memberB: { userId: memberB, displayName: HOSTILE_DISPLAY_NAMES.b },
    position: Number(last.position),
  };
}

// ---------------------------------------------------------------- server-sent events

export interface SseEvent {
  readonly id?: string;
  readonly event?: string;
  readonly data: string;
}

/** Listens on a loopback port (once) and returns the base URL. */
export async function listen(app: INestApplication): Promise<string> {
  const server = app.getHttpServer() as http.Server;
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** An SSE connection that collects events (and comments) until closed. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  private buffer = '';
  private req: http.ClientRequest | undefined;
  private waiters: Array<() => void> = [];
  ended = false;

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    await new Promise<void>((resolve, reject) => {
      client.req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        res.on('end', () => {
          client.ended = true;
          client.wake();
        });
        res.on('error', () => undefined);
        resolve();
      });
      client.req.on('error', (error) => (client.status === 0 ? reject(error) : undefined));
    });
    return client;
  }

  /** The response body so far when the answer was not an event stream (a problem document). */
  get text(): string {
    return this.buffer;
  }

  async until(condition: (events: readonly SseEvent[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.events)) {
      if (this.ended) throw new Error(`the stream ended after ${this.events.length} events: ${this.buffer}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    if (!String(this.headers['content-type'] ?? '').startsWith('text/event-stream')) return;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'data') data.push(value);
        else fields[name] = value;
      }
      if (data.length > 0) {
        this.events.push({
          ...(fields.id !== undefined ? { id: fields.id } : {}),
          ...(fields.event !== undefined ? { event: fields.event } : {}),
          data: data.join('\n'),
        });
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }
}

// ---------------------------------------------------------------- octet counting

/** Splits RFC 6587 octet-counted frames ("<bytes> <message>"), checking each length in bytes. */
export function readOctetCounted(data: Buffer): string[] {
  const messages: string[] = [];
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) throw new Error(`no frame length at byte ${at}`);
    const lengthText = data.subarray(at, space).toString('ascii');
    if (!/^[1-9]\d*$/.test(lengthText)) throw new Error(`bad frame length "${lengthText}" at byte ${at}`);
    const length = Number(lengthText);
    const end = space + 1 + length;
    if (end > data.length) throw new Error(`frame at byte ${at} runs past the end`);
    messages.push(data.subarray(space + 1, end).toString('utf8'));
    at = end;
  }
  return messages;
}

export interface Rfc5424 {
  readonly pri: number;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  /** SD-PARAMs of the one SD-ELEMENT, unescaped. */
  readonly sdId: string;
  readonly params: Record<string, string>;
  readonly msg: string;
}

/** Parses an RFC 5424 message with one SD-ELEMENT (what toSyslog writes). */
export function parseRfc5424(message: string): Rfc5424 {
  const header = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(message);
  if (!header) throw new Error(`not RFC 5424: ${message.slice(0, 80)}`);
  let i = header[0].length;
  if (message[i] !== '[') throw new Error('no structured data');
  i += 1;
  const sdEnd = message.indexOf(' ', i);
  const sdId = message.slice(i, sdEnd);
  i = sdEnd;
  const params: Record<string, string> = {};
  while (message[i] === ' ') {
    i += 1;
    const eq = message.indexOf('="', i);
    const name = message.slice(i, eq);
    i = eq + 2;
    let value = '';
    while (message[i] !== '"') {
      if (i >= message.length) throw new Error('unterminated SD-PARAM');
      if (message[i] === '\\' && ['"', '\\', ']'].includes(message[i + 1] ?? '')) {
        value += message[i + 1];
        i += 2;
      } else {
        value += message[i];
        i += 1;
      }
    }
    params[name] = value;
    i += 1;
  }
  if (message[i] !== ']') throw new Error(`structured data not closed at ${i}`);
  i += 1;
  if (message[i] !== ' ') throw new Error('no MSG');
  const [, pri, timestamp, hostname, appName, procId, msgId] = header;
  return {
    pri: Number(pri),
    timestamp: timestamp!,
    hostname: hostname!,
    appName: appName!,
    procId: procId!,
    msgId: msgId!,
    sdId,
    params,
    msg: message.slice(i + 1),
  };
}
