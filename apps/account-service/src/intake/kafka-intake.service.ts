// Runs the Kafka command intake with the app when KAFKA_BROKERS is set (and `kafka-intake` is not in
// PROCESSORS_DISABLED), stops it with the app, and reports it to /readyz. A broker that is away
// never holds up start-up: the consumer is started in the background and retried with a back-off.
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { setTimeout as wait } from 'node:timers/promises';
import {
  KafkaJsConsumer,
  KafkaJsPublisher,
  type IncomingMessage,
  type RecordConsumer,
  type RecordPublisher,
} from '#messaging';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { CommandBus } from '@nestjs/cqrs';
import { ExecuteDirectoryCommand } from '../command-pipeline/execute-directory-command.js';
import { CLOCK, type Clock } from '../command-pipeline/tokens.js';
import { CommandIntake, type IntakeStats } from './command-intake.js';
import { COMMAND_OUTCOME_STORE, type CommandOutcomeStore } from './outcome-store.js';

export const KAFKA_INTAKE = 'kafka-intake';
/** Optional override of the intake's consumer and publishers (tests); default: kafkajs on KAFKA_BROKERS. */
export const INTAKE_TRANSPORT = Symbol('INTAKE_TRANSPORT');

export interface IntakeTransport {
  readonly consumer: RecordConsumer;
  readonly results: RecordPublisher;
  readonly deadLetters: RecordPublisher;
}

/** Partitions of the result and dead-letter topics when the intake creates them. */
const REPLY_TOPIC_PARTITIONS = 6;
const MAX_BACKOFF_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export type IntakeCheck =
  | { readonly status: 'disabled' }
  | ({
      readonly status: 'ok' | 'degraded';
      readonly state: 'starting' | 'running' | 'retrying' | 'stopped';
      readonly topic: string;
      readonly resultTopic: string;
      readonly dlqTopic: string;
      readonly group: string;
      readonly failures: number;
      readonly lastError?: string;
    } & IntakeStats);

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

@Injectable()
export class KafkaIntakeService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('KafkaIntake');
  private intake?: CommandIntake;
  private transport?: IntakeTransport;
  private state: 'starting' | 'running' | 'retrying' | 'stopped' = 'starting';
  private failures = 0;
  private lastError?: string;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COMMAND_OUTCOME_STORE) private readonly outcomes: CommandOutcomeStore,
    @Inject(INTAKE_TRANSPORT) private readonly override: IntakeTransport | null,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.kafkaBrokers.length === 0 && !this.override) return;
    if (this.config.disabledProcessors.includes(KAFKA_INTAKE)) {
      this.logger.warn(`${KAFKA_INTAKE} is disabled by PROCESSORS_DISABLED`);
      return;
    }
    const transport = this.override ?? this.kafkaTransport();
    this.transport = transport;
    this.intake = new CommandIntake({
      outcomes: this.outcomes,
      results: transport.results,
      deadLetters: transport.deadLetters,
      execute: (tenantId, commands, meta) =>
        this.commands.execute(new ExecuteDirectoryCommand(tenantId, commands, meta)),
      clock: this.clock,
      invitationTtlHours: this.config.invitationTtlHours,
    });
    this.loop = this.start(transport.consumer, this.intake);
  }

  private kafkaTransport(): IntakeTransport {
    const { kafkaBrokers: brokers } = this.config;
    const kafkaLog = new Logger('kafkajs');
    const log = (_level: string, line: string) => kafkaLog.debug(line);
    const publisher = (topic: string) =>
      new KafkaJsPublisher({
        brokers,
        topic,
        clientId: 'account-service-intake',
        partitions: REPLY_TOPIC_PARTITIONS,
        log,
      });
    return {
      consumer: new KafkaJsConsumer({
        brokers,
        topic: this.config.kafkaCommandTopic,
        groupId: this.config.kafkaConsumerGroup,
        clientId: 'account-service-intake',
        log,
      }),
      results: publisher(this.config.kafkaResultTopic),
      deadLetters: publisher(this.config.kafkaDlqTopic),
    };
  }

  /** Starts the consumer, retrying with a capped back-off until it runs or the app stops. */
  private async start(consumer: RecordConsumer, intake: CommandIntake): Promise<void> {
    for (let backoff = 500; !this.stopping.signal.aborted; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      try {
        await consumer.start((m) => this.handle(intake, m));
        this.state = 'running';
        this.logger.log(
          `taking commands from ${this.config.kafkaCommandTopic} (group ${this.config.kafkaConsumerGroup}), ` +
            `results to ${this.config.kafkaResultTopic}, dead letters to ${this.config.kafkaDlqTopic}`,
        );
        return;
      } catch (error) {
        this.fail(error);
        this.state = 'retrying';
        await consumer.stop().catch(() => undefined);
        await wait(backoff, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private async handle(intake: CommandIntake, m: IncomingMessage): Promise<void> {
    try {
      await intake.handle(m);
      if (this.failures > 0) {
        this.failures = 0;
        this.lastError = undefined;
        this.state = 'running';
      }
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  private fail(error: unknown): void {
    this.failures += 1;
    this.lastError = message(error);
    if (this.failures === 1 || this.failures % 20 === 0)
      this.logger.warn(`command intake failing (${this.failures}): ${this.lastError}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    const transport = this.transport;
    if (!transport) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      (async () => {
        await transport.consumer.stop().catch(() => undefined);
        await this.loop?.catch(() => undefined);
        await transport.results.close().catch(() => undefined);
        await transport.deadLetters.close().catch(() => undefined);
      })(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.state = 'stopped';
  }

  /** checks.kafkaIntake of /readyz: 'degraded' while failing; the instance stays ready. */
  check(): IntakeCheck {
    if (!this.intake) return { status: 'disabled' };
    return {
      status: this.failures > 0 || this.state === 'retrying' ? 'degraded' : 'ok',
      state: this.state,
      topic: this.config.kafkaCommandTopic,
      resultTopic: this.config.kafkaResultTopic,
      dlqTopic: this.config.kafkaDlqTopic,
      group: this.config.kafkaConsumerGroup,
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...this.intake.stats(),
    };
  }
}

/** The intake's providers for AppModule. */
export function kafkaIntakeProviders(outcomes: CommandOutcomeStore, transport?: IntakeTransport): Provider[] {
  return [
    { provide: COMMAND_OUTCOME_STORE, useValue: outcomes },
    { provide: INTAKE_TRANSPORT, useValue: transport ?? null },
    KafkaIntakeService,
  ];
}
