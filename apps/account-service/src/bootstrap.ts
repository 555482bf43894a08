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
  PostgresEventStore,
  SqliteEventStore,
} from '#event-store';
import Database from 'better-sqlite3';
import {
  CheckpointStore,
  MemoryCheckpointStore,
  PostgresCheckpointStore,
  ProcessorRunner,
  ReadModelRunner,
  SqliteCheckpointStore,
} from '#projections';
import { readModelProjections } from './read-side/registry.js';
import { AppModule } from './app.module.js';
import { ApiKeyRegistry } from './common/api-keys.js';
import { bodyErrorHandler, jsonBodyParser, requireJsonContentType } from './common/http-body.js';
import { AppConfig } from './config/config.js';
import { ClaimStreams } from './command-pipeline/claim-streams.js';
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
  readonly idempotency: IdempotencyStore;
  readonly checkpoints: CheckpointStore;
  /** Outcomes of the Kafka command intake, by commandId. */
  readonly commandOutcomes: CommandOutcomeStore;
  /** Read models: a connection of their own (their batches are transactions). */
  readonly readModels: Database.Database;
}

function openSqlite(file: string): Database.Database {
  const db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
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
      idempotency: await PostgresIdempotencyStore.create(store.pool, config.databaseSchema),
      checkpoints: await PostgresCheckpointStore.create(store.pool, config.databaseSchema),
      commandOutcomes: await PostgresCommandOutcomeStore.create(store.pool, config.databaseSchema),
      // Read models stay per instance (a local SQLite file, rebuilt from the log when missing).
      readModels: openSqlite(path.join(config.dataDir, 'read-models.db')),
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
      idempotency: new SqliteIdempotencyStore(local),
      checkpoints: new SqliteCheckpointStore(local),
      commandOutcomes: new SqliteCommandOutcomeStore(local),
      readModels: openSqlite(path.join(config.dataDir, 'read-models.db')),
    };
  }
  if (config.eventStore === 'memory') {
    return {
      store: new InMemoryEventStore(),
      idempotency: new MemoryIdempotencyStore(),
      checkpoints: new MemoryCheckpointStore(),
      commandOutcomes: new MemoryCommandOutcomeStore(),
      readModels: new Database(':memory:'),
    };
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, 'events.db');
  const store = new SqliteEventStore(file);
  const readModels = openSqlite(file);
  return {
    store,
    idempotency: new SqliteIdempotencyStore(store.db),
    checkpoints: new SqliteCheckpointStore(store.db),
    commandOutcomes: new SqliteCommandOutcomeStore(store.db),
    readModels,
  };
}

export async function createApp(options: CreateAppOptions): Promise<Service> {
  const { config } = options;
  const apiKeys = options.apiKeys ?? ApiKeyRegistry.fromFile(config.apiKeysFile);
  const { store, idempotency, checkpoints, commandOutcomes, readModels } = await openStorage(config);
  const readModelRunner = new ReadModelRunner(store, readModels, {
    onFailure: (name, error) =>
      Logger.error(
        `read model ${name} stopped: ${error instanceof Error ? error.message : String(error)}`,
        'ReadSide',
      ),
  });
  for (const projection of readModelProjections()) readModelRunner.register(projection);
  await idempotency.purgeBefore(new Date(Date.now() - IDEMPOTENCY_RETENTION_MS));
  const claimStreams = await ClaimStreams.load(store);
  const metrics = new Metrics(store);
  const app = await NestFactory.create(
    AppModule.register({
      config,
      store,
      claimStreams,
      idempotency,
      apiKeys,
      txtResolver: options.txtResolver ?? new NodeTxtResolver(config.dnsServers),
      clock: options.clock ?? systemClock,
      metrics,
      readModels: readModelRunner,
      checkpoints,
      commandOutcomes,
      processors: new ProcessorRunner(store, checkpoints, (name, error) =>
        Logger.error(
          `processor ${name} stopped: ${error instanceof Error ? error.message : String(error)}`,
          'Processors',
        ),
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
  app.enableShutdownHooks();
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await store.close();
    readModels.close();
  };
  return { app, store, readModels: readModelRunner };
}
