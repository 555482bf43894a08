// Builds the whole service from a configuration: used by main.ts and by the HTTP tests.
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { INestApplication, Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import {
  EventStore,
  EventStoreDbEventStore,
  InMemoryEventStore,
  InMemorySnapshotStore,
  PostgresEventStore,
  PostgresSnapshotStore,
  SnapshotStore,
  SqliteEventStore,
  SqliteSnapshotStore,
} from '#event-store';
import Database from 'better-sqlite3';
import {
  CheckpointStore,
  type Coordination,
  MemoryCheckpointStore,
  PostgresCheckpointStore,
  PostgresCoordination,
  PostgresReadModelDatabase,
  ProcessorRunner,
  type ReadModelDatabase,
  ReadModelRunner,
  SoleInstance,
  SqliteCheckpointStore,
  SqliteReadModelDatabase,
} from '#projections';
import { readModelProjections } from './read-side/registry.js';
import { AppModule } from './app.module.js';
import { ApiKeyRegistry } from './common/api-keys.js';
import { bodyErrorHandler, jsonBodyParser, requireJsonContentType } from './common/http-body.js';
import { AppConfig } from './config/config.js';
import { StreamNames } from './command-pipeline/stream-names.js';
import { StateCache } from './command-pipeline/state-cache.js';
import { StreamLoader } from './command-pipeline/stream-loader.js';
import { checkStoreLayout } from './migration/store-layout.js';
import { Clock, systemClock } from './command-pipeline/tokens.js';
import { Metrics } from './health/metrics.js';
import {
  IdempotencyStore,
  MemoryIdempotencyStore,
  PostgresIdempotencyStore,
  SqliteIdempotencyStore,
} from './idempotency/idempotency-store.js';
import { IDEMPOTENCY_RETENTION_MS, idempotencyMiddleware } from './idempotency/idempotency.middleware.js';
import {
  CommandOutcomeStore,
  MemoryCommandOutcomeStore,
  PostgresCommandOutcomeStore,
  SqliteCommandOutcomeStore,
} from './intake/outcome-store.js';
import { NodeTxtResolver, TxtResolver } from './infrastructure/dns/txt-resolver.js';

export interface CreateAppOptions {
  readonly config: AppConfig;
  readonly apiKeys?: ApiKeyRegistry;
  readonly txtResolver?: TxtResolver;
  readonly clock?: Clock;
  readonly logger?: false | LogLevel[];
}

export interface Service {
  readonly app: INestApplication;
  readonly store: EventStore;
  readonly readModels: ReadModelRunner;
}

interface Storage {
  readonly store: EventStore;
  /** Folded state of streams that grow long, beside the events. */
  readonly snapshots: SnapshotStore;
  readonly idempotency: IdempotencyStore;
  readonly checkpoints: CheckpointStore;
  /** Outcomes of the Kafka command intake, by commandId. */
  readonly commandOutcomes: CommandOutcomeStore;
  /** Read models: a database (or connection) of their own (their batches are transactions). */
  readonly readModels: ReadModelDatabase;
  /** Who runs which projection, processor and relay when several instances share the store. */
  readonly coordination: Coordination;
}

/**
 * `FULL`: a commit is on disk before it returns (events, idempotency records, checkpoints).
 * `NORMAL` (read models): in WAL mode a crash can only roll back the last commits, never corrupt;
 * a read model's batch commits with its checkpoint, so what rolls back is applied again from the
 * log. That saves a disk sync per batch on the path every command's events take.
 */
function openSqlite(file: string, synchronous: 'FULL' | 'NORMAL' = 'FULL'): Database.Database {
  const db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  return db;
}

/**
 * Where the read models live: PostgreSQL's schema beside the events, shared by every instance; else
 * a SQLite file of their own in DATA_DIR (in memory for the memory store). Their own file, not the
 * events' one: a batch transaction spans awaits, and must never hold the lock appends need.
 */
export async function openReadModelDatabase(
  config: AppConfig,
  options: { readonly readOnly?: boolean } = {},
): Promise<ReadModelDatabase> {
  if (config.eventStore === 'postgres') {
    return PostgresReadModelDatabase.connect({
      connectionString: config.databaseUrl ?? '',
      schema: config.databaseSchema,
      ...(options.readOnly ? { readOnly: true } : {}),
    });
  }
  if (config.eventStore === 'memory') return new SqliteReadModelDatabase(new Database(':memory:'));
  const file = path.join(config.dataDir, 'read-models.db');
  // Read-only (audit verify): a role or a file that allows reading only is enough, nothing is created.
  if (options.readOnly)
    return new SqliteReadModelDatabase(
      new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 }),
    );
  fs.mkdirSync(config.dataDir, { recursive: true });
  return new SqliteReadModelDatabase(openSqlite(file, 'NORMAL'));
}

/** Leases among instances: on PostgreSQL several may share the store; elsewhere this one is alone. */
export function openCoordination(config: AppConfig): Coordination {
  if (config.eventStore !== 'postgres') return new SoleInstance();
  return new PostgresCoordination(config.databaseUrl ?? '', config.databaseSchema, (level, message) =>
    level === 'warn' ? Logger.warn(message, 'Coordination') : Logger.log(message, 'Coordination'),
  );
}

/** Read models that older versions kept in the events' file: rebuilt in their own file now. */
function dropLegacyReadModels(db: Database.Database): void {
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND (substr(name, 1, 3) = 'rm_' OR name = 'read_model_state')",
    )
    .pluck()
    .all() as string[];
  if (tables.length === 0) return;
  db.transaction(() => {
    for (const table of tables) db.exec(`DROP TABLE IF EXISTS "${table}"`);
  })();
}

/** The event store and, in the same database, idempotency records and checkpoints. */
export async function openStorage(config: AppConfig): Promise<Storage> {
  if (config.eventStore === 'postgres') {
    const store = await PostgresEventStore.connect({
      connectionString: config.databaseUrl ?? '',
      schema: config.databaseSchema,
    });
    fs.mkdirSync(config.dataDir, { recursive: true });
    return {
      store,
      snapshots: await PostgresSnapshotStore.create(store.pool, config.databaseSchema),
      idempotency: await PostgresIdempotencyStore.create(store.pool, config.databaseSchema),
      checkpoints: await PostgresCheckpointStore.create(store.pool, config.databaseSchema),
      commandOutcomes: await PostgresCommandOutcomeStore.create(store.pool, config.databaseSchema),
      readModels: await openReadModelDatabase(config),
      coordination: openCoordination(config),
    };
  }
  if (config.eventStore === 'eventstoredb') {
    const store = await EventStoreDbEventStore.connect({
      connectionString: config.eventStoreConnectionString ?? '',
      namespace: config.eventStoreNamespace,
    });
    // Idempotency records, checkpoints and read models of this instance stay in a local SQLite file.
    fs.mkdirSync(config.dataDir, { recursive: true });
    const local = openSqlite(path.join(config.dataDir, 'instance.db'));
    return {
      store,
      snapshots: new SqliteSnapshotStore(local),
      idempotency: new SqliteIdempotencyStore(local),
      checkpoints: new SqliteCheckpointStore(local),
      commandOutcomes: new SqliteCommandOutcomeStore(local),
      readModels: await openReadModelDatabase(config),
      coordination: openCoordination(config),
    };
  }
  if (config.eventStore === 'memory') {
    return {
      store: new InMemoryEventStore(),
      snapshots: new InMemorySnapshotStore(),
      idempotency: new MemoryIdempotencyStore(),
      checkpoints: new MemoryCheckpointStore(),
      commandOutcomes: new MemoryCommandOutcomeStore(),
      readModels: await openReadModelDatabase(config),
      coordination: openCoordination(config),
    };
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, 'events.db');
  const store = new SqliteEventStore(file);
  dropLegacyReadModels(store.db);
  return {
    store,
    snapshots: new SqliteSnapshotStore(store.db),
    idempotency: new SqliteIdempotencyStore(store.db),
    checkpoints: new SqliteCheckpointStore(store.db),
    commandOutcomes: new SqliteCommandOutcomeStore(store.db),
    readModels: await openReadModelDatabase(config),
    coordination: openCoordination(config),
  };
}

export async function createApp(options: CreateAppOptions): Promise<Service> {
  const { config } = options;
  const apiKeys = options.apiKeys ?? ApiKeyRegistry.fromFile(config.apiKeysFile);
  const { store, snapshots, idempotency, checkpoints, commandOutcomes, readModels, coordination } =
    await openStorage(config);
  // Refuses a store written in an older layout until it is migrated (npm run cli -- migrate).
  await checkStoreLayout(store);
  const readModelRunner = new ReadModelRunner(store, readModels, {
    coordination,
    onRetry: (name, error, inMs) =>
      Logger.warn(
        `read model ${name}: ${error instanceof Error ? error.message : String(error)}; retrying in ${inMs} ms`,
        'ReadSide',
      ),
    onFailure: (name, error) =>
      Logger.error(
        `read model ${name} stopped: ${error instanceof Error ? error.message : String(error)}`,
        'ReadSide',
      ),
  });
  for (const projection of readModelProjections()) await readModelRunner.register(projection);
  await idempotency.purgeBefore(new Date(Date.now() - IDEMPOTENCY_RETENTION_MS));
  const streamNames = await StreamNames.load(store);
  const streamLoader = new StreamLoader(store, snapshots, new StateCache(config.stateCacheEntries), {
    snapshotEvery: config.snapshotEvery,
  });
  const metrics = new Metrics(store);
  const app = await NestFactory.create(
    AppModule.register({
      config,
      store,
      streamNames,
      streamLoader,
      idempotency,
      apiKeys,
      txtResolver: options.txtResolver ?? new NodeTxtResolver(config.dnsServers),
      clock: options.clock ?? systemClock,
      metrics,
      readModels: readModelRunner,
      checkpoints,
      commandOutcomes,
      coordination,
      processors: new ProcessorRunner(
        store,
        checkpoints,
        (name, error) =>
          Logger.error(
            `processor ${name} stopped: ${error instanceof Error ? error.message : String(error)}`,
            'Processors',
          ),
        coordination,
      ),
    }),
    { bodyParser: false, logger: options.logger ?? ['log', 'warn', 'error'] },
  );
  app.use(metrics.middleware);
  app.use(requireJsonContentType);
  app.use(jsonBodyParser);
  app.use(bodyErrorHandler);
  app.use(idempotencyMiddleware(idempotency, apiKeys));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Account lifecycle service')
      .setDescription('Event-sourced system of record for personal and work-or-school accounts. See API.md.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await coordination.close();
    await store.close();
    await readModels.close();
  };
  return { app, store, readModels: readModelRunner };
}
