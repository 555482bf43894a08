// Service configuration from the environment (names fixed by API.md), read once at start.
import path from 'node:path';

export type EventStoreKind = 'sqlite' | 'memory' | 'postgres' | 'eventstoredb';

export interface AppConfig {
  readonly port: number;
  readonly dataDir: string;
  readonly eventStore: EventStoreKind;
  /** PostgreSQL connection string (EVENT_STORE=postgres). */
  readonly databaseUrl?: string;
  /** KurrentDB connection string (EVENT_STORE=eventstoredb). */
  readonly eventStoreConnectionString?: string;
  /** Prefix of this service's streams in KurrentDB (EVENTSTORE_NAMESPACE). */
  readonly eventStoreNamespace: string;
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
  /** Folded stream states kept in memory for the write path (STATE_CACHE_ENTRIES; 0: none). */
  readonly stateCacheEntries: number;
  /** Events folded beyond a stream's latest snapshot before a new one is written (SNAPSHOT_EVERY). */
  readonly snapshotEvery: number;
  /** Processors not to start in this instance (operations and tests). */
  readonly disabledProcessors: readonly string[];
  /** Kafka bootstrap brokers (KAFKA_BROKERS, host:port,...); empty: Kafka off. */
  readonly kafkaBrokers: readonly string[];
  /** The topic the audit feed is relayed to (KAFKA_AUDIT_TOPIC). */
  readonly kafkaAuditTopic: string;
  /** Partitions of that topic when the relay creates it (KAFKA_AUDIT_PARTITIONS). */
  readonly kafkaAuditPartitions: number;
  /** Kafka command intake (runs when KAFKA_BROKERS is set): commands, results, dead letters, group. */
  readonly kafkaCommandTopic: string;
  readonly kafkaResultTopic: string;
  readonly kafkaDlqTopic: string;
  readonly kafkaConsumerGroup: string;
  /** RFC 5424 receiver of the audit feed over TCP (SYSLOG_TARGET=host:port); undefined: off. */
  readonly syslogTarget?: { readonly host: string; readonly port: number };
  /** MSG of those messages (SYSLOG_FORMAT): the record as a CEF line (default) or its JSON. */
  readonly syslogFormat: 'cef' | 'json';
  /** Where the sign-in route sends a work account that tried the consumer service (WORK_MAILBOX_URL). */
  readonly workMailboxUrl: string;
}

export class ConfigError extends Error {}

const list = (value: string | undefined, fallback: string): string[] =>
  (value ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min)
    throw new ConfigError(`${name} must be a whole number >= ${min}, got ${raw}`);
  return value;
}

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
  if (!['sqlite', 'memory', 'postgres', 'eventstoredb'].includes(eventStore)) {
    throw new ConfigError(
      `EVENT_STORE=${eventStore} is not a store of this service (sqlite, memory, postgres, eventstoredb)`,
    );
  }
  if (eventStore === 'eventstoredb' && !env.EVENTSTORE_CONNECTION_STRING) {
    throw new ConfigError(
      'EVENT_STORE=eventstoredb needs EVENTSTORE_CONNECTION_STRING (e.g. kurrentdb://localhost:2113?tls=false)',
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
  const kafkaBrokers = list(env.KAFKA_BROKERS, '');
  for (const broker of kafkaBrokers) {
    if (!/^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/.test(broker))
      throw new ConfigError(`KAFKA_BROKERS entry "${broker}" is not host:port`);
  }
  const kafkaAuditPartitions = positiveNumber(env, 'KAFKA_AUDIT_PARTITIONS', 6);
  if (!Number.isInteger(kafkaAuditPartitions))
    throw new ConfigError(`KAFKA_AUDIT_PARTITIONS must be an integer, got ${env.KAFKA_AUDIT_PARTITIONS}`);
  const syslog = /^(?:\[([0-9a-fA-F:]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(env.SYSLOG_TARGET?.trim() ?? '');
  if (env.SYSLOG_TARGET?.trim() && (!syslog || Number(syslog[3]) < 1 || Number(syslog[3]) > 65535))
    throw new ConfigError(`SYSLOG_TARGET must be host:port (TCP), got ${env.SYSLOG_TARGET}`);
  const syslogFormat = (env.SYSLOG_FORMAT?.trim() || 'cef') as 'cef' | 'json';
  if (!['cef', 'json'].includes(syslogFormat))
    throw new ConfigError(`SYSLOG_FORMAT must be cef or json, got ${env.SYSLOG_FORMAT}`);
  const workMailboxUrl = env.WORK_MAILBOX_URL?.trim() || 'https://outlook.office.com/mail/';
  if (!/^https?:\/\/[^\s]+$/.test(workMailboxUrl) || !URL.canParse(workMailboxUrl)) {
    throw new ConfigError(`WORK_MAILBOX_URL must be an http(s) URL, got ${workMailboxUrl}`);
  }
  return {
    port,
    dataDir,
    eventStore,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.EVENTSTORE_CONNECTION_STRING
      ? { eventStoreConnectionString: env.EVENTSTORE_CONNECTION_STRING }
      : {}),
    databaseSchema: env.DATABASE_SCHEMA ?? 'event_store',
    eventStoreNamespace: env.EVENTSTORE_NAMESPACE?.trim() || 'accounts',
    dnsServers,
    apiKeysFile: path.resolve(env.API_KEYS_FILE ?? path.join(dataDir, 'api-keys.json')),
    initialDomainSuffix: (env.INITIAL_DOMAIN_SUFFIX ?? 'onmicrosoft.com').trim().toLowerCase(),
    consumerDomains: list(env.CONSUMER_DOMAINS, 'outlook.com,hotmail.com,live.com,msn.com').map((d) =>
      d.toLowerCase(),
    ),
    readWaitMs: positiveNumber(env, 'READ_WAIT_MS', 5000),
    invitationTtlHours: positiveNumber(env, 'INVITATION_TTL_HOURS', 720),
    stateCacheEntries: wholeNumber(env, 'STATE_CACHE_ENTRIES', 20_000),
    snapshotEvery: wholeNumber(env, 'SNAPSHOT_EVERY', 200, 1),
    disabledProcessors: list(env.PROCESSORS_DISABLED, ''),
    kafkaBrokers,
    kafkaAuditTopic: env.KAFKA_AUDIT_TOPIC?.trim() || 'account-service.audit',
    kafkaAuditPartitions,
    kafkaCommandTopic: env.KAFKA_COMMAND_TOPIC?.trim() || 'account-service.commands',
    kafkaResultTopic: env.KAFKA_RESULT_TOPIC?.trim() || 'account-service.command-results',
    kafkaDlqTopic: env.KAFKA_DLQ_TOPIC?.trim() || 'account-service.commands.dlq',
    kafkaConsumerGroup: env.KAFKA_CONSUMER_GROUP?.trim() || 'account-service',
    ...(syslog ? { syslogTarget: { host: syslog[1] ?? syslog[2] ?? '', port: Number(syslog[3]) } } : {}),
    syslogFormat,
    workMailboxUrl,
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
