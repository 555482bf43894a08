// Service configuration from the environment (names fixed by API.md), read once at start.
import path from 'node:path';

export type EventStoreKind = 'sqlite' | 'memory' | 'postgres';

export interface AppConfig {
  readonly port: number;
  readonly dataDir: string;
  readonly eventStore: EventStoreKind;
  /** PostgreSQL connection string (EVENT_STORE=postgres). */
  readonly databaseUrl?: string;
  /** PostgreSQL schema holding events, checkpoints and idempotency records. */
  readonly databaseSchema: string;
  /** Host:port pairs for domain-verification TXT look-ups; empty: the system resolver. */
  readonly dnsServers: readonly string[];
  readonly apiKeysFile: string;
  readonly initialDomainSuffix: string;
  readonly consumerDomains: readonly string[];
  /** How long a read waits for `minPosition` before answering 503 projection_lagging. */
  readonly readWaitMs: number;
  /** How long an invitation's redeem code stays valid. */
  readonly invitationTtlHours: number;
  /** Processors not to start in this instance (operations and tests). */
  readonly disabledProcessors: readonly string[];
}

export class ConfigError extends Error {}

const list = (value: string | undefined, fallback: string): string[] =>
  (value ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`${name} must be a positive number, got ${raw}`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT must be a port number, got ${env.PORT}`);
  const eventStore = (env.EVENT_STORE ?? 'sqlite') as EventStoreKind;
  if (!['sqlite', 'memory', 'postgres'].includes(eventStore)) {
    throw new ConfigError(
      `EVENT_STORE=${eventStore} is not available in this build (sqlite, memory, postgres)`,
    );
  }
  if (eventStore === 'postgres' && !env.DATABASE_URL) {
    throw new ConfigError('EVENT_STORE=postgres needs DATABASE_URL (e.g. postgres://user@host:5432/db)');
  }
  const dataDir = path.resolve(env.DATA_DIR ?? './data');
  const dnsServers = list(env.DNS_SERVERS, '');
  for (const server of dnsServers) {
    if (!/^(\[[0-9a-fA-F:]+\]|[0-9.]+|[0-9a-fA-F:]+)(:\d{1,5})?$/.test(server)) {
      throw new ConfigError(`DNS_SERVERS entry "${server}" is not host:port with a numeric IP address`);
    }
  }
  return {
    port,
    dataDir,
    eventStore,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    databaseSchema: env.DATABASE_SCHEMA ?? 'event_store',
    dnsServers,
    apiKeysFile: path.resolve(env.API_KEYS_FILE ?? path.join(dataDir, 'api-keys.json')),
    initialDomainSuffix: (env.INITIAL_DOMAIN_SUFFIX ?? 'onmicrosoft.com').trim().toLowerCase(),
    consumerDomains: list(env.CONSUMER_DOMAINS, 'outlook.com,hotmail.com,live.com,msn.com').map((d) =>
      d.toLowerCase(),
    ),
    readWaitMs: positiveNumber(env, 'READ_WAIT_MS', 5000),
    invitationTtlHours: positiveNumber(env, 'INVITATION_TTL_HOURS', 720),
    disabledProcessors: list(env.PROCESSORS_DISABLED, ''),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
