// Runs the audit feed's Kafka relay with the app when KAFKA_BROKERS is set, stops it with the app,
// and reports it to /readyz. A broker that is down never holds up start-up or command handling: the
// relay retries in the background and catches up once the broker is back. With several instances
// the relay runs in the one holding its lease, and resumes from the shared checkpoint in another
// when that one dies.
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { KafkaJsPublisher, type RecordPublisher } from '#messaging';
import type { CheckpointStore, Coordination } from '#projections';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { COORDINATION } from '../command-pipeline/tokens.js';
import { AUDIT_FEED, type AuditFeed } from './audit-feed.js';
import { LeasedRelay } from './leased-relay.js';
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
  private lease?: LeasedRelay<AuditRelay>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_FEED) private readonly feed: AuditFeed,
    @Inject(RELAY_CHECKPOINTS) private readonly checkpoints: CheckpointStore,
    @Inject(RELAY_PUBLISHER) private readonly publisher: RecordPublisher | null,
    @Inject(COORDINATION) private readonly coordination: Coordination,
  ) {}

  get enabled(): boolean {
    return this.config.kafkaBrokers.length > 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    if (this.config.disabledProcessors.includes(AUDIT_KAFKA_RELAY)) {
      this.logger.warn(`${AUDIT_KAFKA_RELAY} is disabled by PROCESSORS_DISABLED`);
      return;
    }
    this.lease = new LeasedRelay(
      this.coordination,
      AUDIT_KAFKA_RELAY,
      () => {
        this.logger.log(
          `relaying the audit feed to ${this.config.kafkaAuditTopic} on ${this.config.kafkaBrokers.join(',')}`,
        );
        return new AuditRelay(this.feed, this.checkpoints, this.newPublisher(), { log: this.logger });
      },
      this.logger,
    );
    await this.lease.start();
  }

  /** A publisher per run: stopping the relay closes the one it had. */
  private newPublisher(): RecordPublisher {
    if (this.publisher) return this.publisher;
    const kafkaLog = new Logger('kafkajs');
    return new KafkaJsPublisher({
      brokers: this.config.kafkaBrokers,
      topic: this.config.kafkaAuditTopic,
      clientId: 'account-service-audit-relay',
      partitions: this.config.kafkaAuditPartitions,
      // The relay reports every failure itself (log and /readyz); kafkajs's own lines are detail.
      log: (_level, line) => kafkaLog.debug(line),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lease?.stop();
  }

  /**
   * checks.kafka of /readyz. 'degraded' (relay retrying, Kafka unreachable) keeps the instance
   * ready: commands do not depend on Kafka, the audit records wait in the event store.
   */
  async check(): Promise<KafkaCheck> {
    if (!this.lease) return { status: 'disabled' };
    const relay = this.lease.relay;
    if (!relay) {
      // Another instance runs it: its shared checkpoint says how far the topic is.
      return {
        status: 'ok',
        topic: this.config.kafkaAuditTopic,
        name: AUDIT_KAFKA_RELAY,
        state: 'standby',
        position: String(await this.checkpoints.get(AUDIT_KAFKA_RELAY)),
        failures: 0,
        published: 0,
      };
    }
    const { position, head, ...status } = await relay.status();
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
    const relay = this.lease?.relay;
    if (!relay) return Promise.reject(new Error('the Kafka relay is not running in this instance'));
    return relay.caughtUp(position, timeoutMs);
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
