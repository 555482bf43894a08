// Prometheus metrics of the service: process defaults, HTTP responses and the event log head.
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { EventStore } from '#event-store';

@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly responses = new Counter({
    name: 'als_http_responses_total',
    help: 'HTTP responses by method and status code',
    labelNames: ['method', 'status'],
    registers: [this.registry],
  });

  constructor(store: EventStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'als_' });
    new Gauge({
      name: 'als_event_store_head_position',
      help: 'Global position of the last stored event',
      registers: [this.registry],
      async collect() {
        this.set(await store.headPosition());
      },
    });
  }

  middleware = (req: Request, res: Response, next: NextFunction): void => {
    res.once('finish', () => this.responses.inc({ method: req.method, status: String(res.statusCode) }));
    next();
  };

  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
