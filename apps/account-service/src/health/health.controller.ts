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

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(Processors) private readonly processors: Processors,
    @Inject(ReadSide) private readonly readSide: ReadSide,
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
    try {
      const head = await this.store.headPosition();
      if (failed.length > 0) res.status(503);
      return {
        status: failed.length > 0 ? 'not_ready' : 'ready',
        checks: { eventStore: { status: 'ok', headPosition: String(head) }, processors, readModels },
      };
    } catch (error) {
      res.status(503);
      return {
        status: 'not_ready',
        checks: { eventStore: { status: 'failing', detail: String(error) }, processors, readModels },
      };
    }
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
