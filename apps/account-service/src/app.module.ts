// The service's module graph. Infrastructure (store, claim key, DNS, API keys) is built before
// Nest starts and handed in, so tests can swap any of it.
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import type { EventStore } from '#event-store';
import type { CheckpointStore, Coordination, ProcessorRunner, ReadModelRunner } from '#projections';
import { READ_MODEL_RUNNER, ReadSide } from './read-side/read-side.js';
import { ApiKeyRegistry } from './common/api-keys.js';
import { ApiKeyGuard } from './common/auth.js';
import { ProblemFilter } from './common/problem.filter.js';
import { StrictValidationPipe } from './common/validation.js';
import { APP_CONFIG, AppConfig } from './config/config.js';
import { StreamNames } from './command-pipeline/stream-names.js';
import { StreamLoader } from './command-pipeline/stream-loader.js';
import { ExecuteDirectoryCommandHandler } from './command-pipeline/execute-directory-command.js';
import { ExecutePersonalAccountCommandHandler } from './personal-accounts/personal-account-command.js';
import { CommandPipeline } from './command-pipeline/command-pipeline.js';
import { CLOCK, Clock, COORDINATION, EVENT_STORE } from './command-pipeline/tokens.js';
import { HealthController } from './health/health.controller.js';
import { Metrics } from './health/metrics.js';
import { IDEMPOTENCY_STORE, IdempotencyStore } from './idempotency/idempotency-store.js';
import { TXT_RESOLVER, TxtResolver } from './infrastructure/dns/txt-resolver.js';
import { DirectoryReader } from './tenants/directory-reader.js';
import { TenantsController } from './tenants/tenants.controller.js';
import { UsersController } from './users/users.controller.js';
import { ClaimLookup } from './command-pipeline/claim-lookup.js';
import { InvitationsController } from './invitations/invitations.controller.js';
import { LicensesController } from './licenses/licenses.controller.js';
import { PersonalAccountsController } from './personal-accounts/personal-accounts.controller.js';
import { PROCESSOR_RUNNER, Processors } from './processing/processors.js';
import { SignInsController } from './sign-ins/sign-ins.controller.js';
import { AUDIT_CONTROLLERS, auditProviders } from './audit/audit.module.js';
import { kafkaRelayProviders } from './audit/kafka-relay.service.js';
import { kafkaIntakeProviders } from './intake/kafka-intake.service.js';
import type { CommandOutcomeStore } from './intake/outcome-store.js';
import { SignInLookupController } from './sign-in-lookup/sign-in-lookup.controller.js';

export interface AppDependencies {
  readonly config: AppConfig;
  readonly store: EventStore;
  readonly streamNames: StreamNames;
  readonly streamLoader: StreamLoader;
  readonly idempotency: IdempotencyStore;
  readonly apiKeys: ApiKeyRegistry;
  readonly txtResolver: TxtResolver;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly processors: ProcessorRunner;
  readonly readModels: ReadModelRunner;
  readonly checkpoints: CheckpointStore;
  readonly commandOutcomes: CommandOutcomeStore;
  readonly coordination: Coordination;
}

@Module({})
export class AppModule {
  static register(deps: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [CqrsModule.forRoot()],
      controllers: [
        TenantsController,
        UsersController,
        InvitationsController,
        LicensesController,
        PersonalAccountsController,
        SignInsController,
        SignInLookupController,
        HealthController,
        ...AUDIT_CONTROLLERS,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: deps.config },
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: StreamNames, useValue: deps.streamNames },
        { provide: StreamLoader, useValue: deps.streamLoader },
        { provide: IDEMPOTENCY_STORE, useValue: deps.idempotency },
        { provide: ApiKeyRegistry, useValue: deps.apiKeys },
        { provide: TXT_RESOLVER, useValue: deps.txtResolver },
        { provide: CLOCK, useValue: deps.clock },
        { provide: Metrics, useValue: deps.metrics },
        { provide: PROCESSOR_RUNNER, useValue: deps.processors },
        { provide: READ_MODEL_RUNNER, useValue: deps.readModels },
        { provide: COORDINATION, useValue: deps.coordination },
        ReadSide,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_PIPE, useClass: StrictValidationPipe },
        { provide: APP_FILTER, useClass: ProblemFilter },
        CommandPipeline,
        ExecuteDirectoryCommandHandler,
        ExecutePersonalAccountCommandHandler,
        DirectoryReader,
        ClaimLookup,
        Processors,
        ...auditProviders(deps),
        ...kafkaRelayProviders(deps.checkpoints),
        ...kafkaIntakeProviders(deps.commandOutcomes),
      ],
    };
  }
}
