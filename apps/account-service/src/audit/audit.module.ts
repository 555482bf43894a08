// The audit feed's pieces for AppModule: the feed over the audit read model (AUDIT_FEED, which the
// Kafka relay consumes too), the HTTP routes, and the syslog relay.
import type { Provider, Type } from '@nestjs/common';
import { AuditRecords, type CheckpointStore, type ReadModelRunner } from '#projections';
import { READ_MODEL_RUNNER } from '../read-side/read-side.js';
import { AUDIT_FEED, type AuditFeed } from './audit-feed.js';
import { AuditController, AuditStreams } from './audit.controller.js';
import { SYSLOG_CHECKPOINTS, SyslogRelayService } from './syslog-relay.service.js';

export const AUDIT_CONTROLLERS: Type[] = [AuditController];

/** `checkpoints`: the service's CheckpointStore (bootstrap's), where the syslog relay keeps its place. */
export function auditProviders(deps: { readonly checkpoints: CheckpointStore }): Provider[] {
  return [
    {
      provide: AuditRecords,
      useFactory: (runner: ReadModelRunner) => AuditRecords.of(runner),
      inject: [READ_MODEL_RUNNER],
    },
    {
      provide: AUDIT_FEED,
      useFactory: (records: AuditRecords): AuditFeed => records,
      inject: [AuditRecords],
    },
    { provide: SYSLOG_CHECKPOINTS, useValue: deps.checkpoints },
    AuditStreams,
    SyslogRelayService,
  ];
}
