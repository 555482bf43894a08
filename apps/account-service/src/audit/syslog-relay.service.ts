// Runs the audit feed's syslog relay with the app when SYSLOG_TARGET is set, stops it with the app,
// and reports it for /readyz. A receiver that is down never holds up start-up or commands: the
// relay retries in the background and catches up from its checkpoint once the receiver is back.
// With several instances it runs in the one holding its lease (see KafkaRelayService).
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { CheckpointStore, Coordination } from '#projections';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { COORDINATION } from '../command-pipeline/tokens.js';
import { AUDIT_FEED, type AuditFeed } from './audit-feed.js';
import { LeasedRelay } from './leased-relay.js';
import { AUDIT_SYSLOG, SyslogRelay, type SyslogRelayStatus } from './syslog-relay.js';

export const SYSLOG_CHECKPOINTS = Symbol('SYSLOG_CHECKPOINTS');

/** What /readyz can show under checks.syslog. */
export type SyslogCheck =
  { readonly status: 'disabled' } | ({ readonly status: 'ok' | 'degraded' } & SyslogRelayStatus);

@Injectable()
export class SyslogRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditSyslogRelay');
  private lease?: LeasedRelay<SyslogRelay>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_FEED) private readonly feed: AuditFeed,
    @Inject(SYSLOG_CHECKPOINTS) private readonly checkpoints: CheckpointStore,
    @Inject(COORDINATION) private readonly coordination: Coordination,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const target = this.config.syslogTarget;
    if (target === undefined) return;
    if (this.config.disabledProcessors.includes(AUDIT_SYSLOG)) {
      this.logger.warn(`${AUDIT_SYSLOG} is disabled by PROCESSORS_DISABLED`);
      return;
    }
    this.lease = new LeasedRelay(
      this.coordination,
      AUDIT_SYSLOG,
      () => {
        const relay = new SyslogRelay(this.feed, this.checkpoints, {
          target,
          format: this.config.syslogFormat,
          log: this.logger,
        });
        this.logger.log(`sending the audit feed to ${relay.target} (RFC 5424, ${this.config.syslogFormat})`);
        return relay;
      },
      this.logger,
    );
    await this.lease.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lease?.stop();
  }

  /**
   * For /readyz. 'degraded' (receiver unreachable, retrying) keeps the instance ready: commands do
   * not depend on the receiver, and the records wait in the audit read model.
   */
  async check(): Promise<SyslogCheck> {
    const target = this.config.syslogTarget;
    if (!this.lease || target === undefined) return { status: 'disabled' };
    const relay = this.lease.relay;
    if (!relay) {
      // Another instance runs it: its shared checkpoint says how far the receiver got.
      const { host, port } = target;
      return {
        status: 'ok',
        name: AUDIT_SYSLOG,
        state: 'standby',
        target: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        position: await this.checkpoints.get(AUDIT_SYSLOG),
        failures: 0,
        sent: 0,
      };
    }
    const status = await relay.status();
    return { status: status.state === 'retrying' ? 'degraded' : 'ok', ...status };
  }

  /** Resolves once the receiver has been sent everything up to `position` (tests, operations). */
  caughtUp(position: number, timeoutMs?: number): Promise<void> {
    const relay = this.lease?.relay;
    if (!relay) return Promise.reject(new Error('the syslog relay is not running in this instance'));
    return relay.caughtUp(position, timeoutMs);
  }
}
