// Runs the audit feed's Kafka relay with the app when KAFKA_BROKERS is set, stops it with the app,
// and reports it to /readyz. A broker that is down never holds up start-up or command handling: the
// relay retries in the background and catches up once the broker is back.
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { KafkaJsPublisher, type RecordPublisher } from '#messaging';
import type { CheckpointStore } from '#projections';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { AUDIT_FEED, type AuditFeed } from './audit-feed.js';
import { AUDIT_KAFKA_RELAY, AuditRelay, type RelayStatus } from './kafka-relay.js';

export const RELAY_CHECKPOINTS = Symbol('RELAY_CHECKPOINTS');
/** Optional override of the relay's publisher (tests); default: kafkajs on KAFKA_BROKERS. */
export const RELAY_PUBLISHER = Symbol('RELAY_PUBLISHER');

/** What /readyz shows under checks.kafka (positions as strings, like the other checks). */
export type KafkaCheck =
  | { readonly status: 'disabled' }
  | ({
      readonly status: 'ok' | 'degraded';
      readonly topic: string;
      readonly position: string;
      readonly head?: string;
    } & Omit<RelayStatus, 'position' | 'head'>);

@Injectable()
export class KafkaRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditKafkaRelay');
  private relay?: AuditRelay;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_FEED) private readonly feed: AuditFeed,
    @Inject(RELAY_CHECKPOINTS) private readonly checkpoints: CheckpointStore,
    @Inject(RELAY_PUBLISHER) private readonly publisher: RecordPublisher | null,
  ) {}

  get enabled(): boolean {
    return this.config.kafkaBrokers.length > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    if (this.config.disabledProcessors.includes(AUDIT_KAFKA_RELAY)) {
      this.logger.warn(`${AUDIT_KAFKA_RELAY} is disabled by PROCESSORS_DISABLED`);
      return;
    }
    const kafkaLog = new Logger('kafkajs');
    const publisher =
      this.publisher ??
      new KafkaJsPublisher({
        brokers: this.config.kafkaBrokers,
        topic: this.config.kafkaAuditTopic,
        clientId: 'account-service-audit-relay',
        partitions: this.config.kafkaAuditPartitions,
        // The relay reports every failure itself (log and /readyz); kafkajs's own lines are detail.
        log: (_level, line) => kafkaLog.debug(line),
      });
    this.relay = new AuditRelay(this.feed, this.checkpoints, publisher, { log: this.logger });
    this.relay.start();
    this.logger.log(
      `relaying the audit feed to ${this.config.kafkaAuditTopic} on ${this.config.kafkaBrokers.join(',')}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
  }

  /**
   * checks.kafka of /readyz. 'degraded' (relay retrying, Kafka unreachable) keeps the instance
   * ready: commands do not depend on Kafka, the audit records wait in the event store.
   */
  async check(): Promise<KafkaCheck> {
    if (!this.relay) return { status: 'disabled' };
    const { position, head, ...status } = await this.relay.status();
    return {
      status: status.state === 'retrying' ? 'degraded' : 'ok',
      topic: this.config.kafkaAuditTopic,
      ...status,
      position: String(position),
      ...(head !== undefined ? { head: String(head) } : {}),
    };
  }

  /** Resolves once the topic holds everything up to `position` (tests, operations). */
  caughtUp(position: number, timeoutMs?: number): Promise<void> {
    if (!this.relay) return Promise.reject(new Error('the Kafka relay is not running'));
    return this.relay.caughtUp(position, timeoutMs);
  }
}

/** The relay's providers for AppModule. */
export function kafkaRelayProviders(checkpoints: CheckpointStore, publisher?: RecordPublisher): Provider[] {
  return [
    { provide: RELAY_CHECKPOINTS, useValue: checkpoints },
    { provide: RELAY_PUBLISHER, useValue: publisher ?? null },
    KafkaRelayService,
  ];
}
