// Liveness, readiness (the event store answers) and Prometheus metrics.
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { EventStore } from '#event-store';
import { Public } from '../common/auth.js';
import { EVENT_STORE } from '../command-pipeline/tokens.js';
import { Metrics } from './metrics.js';
import { Processors } from '../processing/processors.js';
import { ReadSide } from '../read-side/read-side.js';
import { KafkaRelayService } from '../audit/kafka-relay.service.js';
import { SyslogRelayService } from '../audit/syslog-relay.service.js';
import { KafkaIntakeService } from '../intake/kafka-intake.service.js';

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(Processors) private readonly processors: Processors,
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(KafkaRelayService) private readonly kafka: KafkaRelayService,
    @Inject(SyslogRelayService) private readonly syslog: SyslogRelayService,
    @Inject(KafkaIntakeService) private readonly intake: KafkaIntakeService,
  ) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res({ passthrough: true }) res: Response) {
    const processors = this.processors.status().map((p) => ({ ...p, position: String(p.position) }));
    const readModels = this.readSide.status().map((p) => ({ ...p, position: String(p.position) }));
    const failed = [...processors, ...readModels].filter((p) => p.state === 'failed');
    // Kafka down is reported ('degraded') but never makes the instance unready: commands don't need it.
    // Relays report 'degraded' while their receiver is down but keep the instance ready: the
    // records wait safely in the log, and commands must go on being accepted.
    const kafka = await this.kafka.check();
    const syslog = await this.syslog.check();
    const kafkaIntake = this.intake.check();
    try {
      const head = await this.store.headPosition();
      if (failed.length > 0) res.status(503);
      return {
        status: failed.length > 0 ? 'not_ready' : 'ready',
        checks: {
          eventStore: { status: 'ok', headPosition: String(head) },
          processors,
          readModels,
          kafka,
          syslog,
          kafkaIntake,
        },
      };
    } catch (error) {
      res.status(503);
      return {
        status: 'not_ready',
        checks: {
          eventStore: { status: 'failing', detail: String(error) },
          processors,
          readModels,
          kafka,
          syslog,
          kafkaIntake,
        },
      };
    }
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
