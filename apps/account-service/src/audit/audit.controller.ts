// The audit feed over HTTP (scope audit:read): pull (JSON pages or streamed exports in NDJSON,
// OCSF, CEF and syslog), tail (server-sent events, resumable with Last-Event-ID), and chain
// verification. Every route reads only the chains the key may read (see audit-access.ts).
import os from 'node:os';
import {
  BeforeApplicationShutdown,
  Controller,
  Get,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AUDIT, AuditRecords, type ChainVerification } from '#projections';
import type { ApiPrincipal } from '../common/api-keys.js';
import { CurrentPrincipal, RequireScope } from '../common/auth.js';
import { validationProblem } from '../common/validation.js';
import { ReadSide } from '../read-side/read-side.js';
import { readableChains } from './audit-access.js';
import { CONTENT_TYPES, ClientGone, exportRecords, formatter, tail } from './audit-streaming.js';
import { AuditRecordsQuery, AuditStreamQuery, AuditVerifyQuery } from './dto.js';

/** Heartbeat comment on an idle event stream. */
export const SSE_HEARTBEAT_MS = 15_000;
export const DEFAULT_PAGE = 100;

const position = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : Number(value);

/** Open event streams, ended before the HTTP server closes (or it would wait for the clients). */
@Injectable()
export class AuditStreams implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly open = new Set<AbortController>();

  track(): AbortController {
    const controller = new AbortController();
    this.open.add(controller);
    controller.signal.addEventListener('abort', () => this.open.delete(controller), { once: true });
    return controller;
  }

  onModuleDestroy(): void {
    this.closeAll();
  }

  beforeApplicationShutdown(): void {
    this.closeAll();
  }

  private closeAll(): void {
    for (const controller of [...this.open]) controller.abort();
  }
}

/** The verification answer for one chain (the service chain's tenantId is ''). */
const verification = (v: ChainVerification) => ({
  ok: v.ok,
  checked: v.checked,
  ...(v.firstBrokenSequence !== undefined ? { firstBrokenSequence: v.firstBrokenSequence } : {}),
  ...(v.reason !== undefined ? { reason: v.reason } : {}),
  ...(v.recordId !== undefined ? { recordId: v.recordId } : {}),
  tenantId: v.tenantId,
});

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  private readonly logger = new Logger('Audit');
  private readonly syslog = { hostname: os.hostname(), procId: String(process.pid) };

  constructor(
    @Inject(AuditRecords) private readonly records: AuditRecords,
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(AuditStreams) private readonly streams: AuditStreams,
  ) {}

  /**
   * `format=json` (default): `{ value: [records], nextCursor? }`, at most `limit` (default 100)
   * records; nextCursor when the page is full. Other formats stream every matching record up to the
   * head as it was when the request came (header `Audit-Head`), or `limit` of them.
   */
  @Get('records')
  @RequireScope('audit:read')
  @ApiProduces('application/json', 'application/x-ndjson', 'text/plain', 'application/octet-stream')
  async list(
    @Query() query: AuditRecordsQuery,
    @CurrentPrincipal() principal: ApiPrincipal,
    @Res() res: Response,
  ): Promise<void> {
    const tenantIds = readableChains(principal, query.tenantId);
    if (query.from !== undefined && query.to !== undefined && Date.parse(query.from) > Date.parse(query.to)) {
      throw validationProblem([{ field: 'to', rule: 'not_before_from' }]);
    }
    await this.readSide.catchUp(AUDIT, position(query.minPosition));
    const filter = {
      after: position(query.after) ?? 0,
      ...(tenantIds !== undefined ? { tenantIds } : {}),
      ...(query.category !== undefined ? { category: query.category } : {}),
      ...(query.from !== undefined ? { from: query.from } : {}),
      ...(query.to !== undefined ? { to: query.to } : {}),
    };
    const format = query.format ?? 'json';
    if (format === 'json') {
      const limit = query.limit ?? DEFAULT_PAGE;
      const value = await this.records.after({ ...filter, limit });
      const last = value.at(-1);
      res.json({
        value,
        ...(value.length === limit && last !== undefined ? { nextCursor: String(last.globalPosition) } : {}),
      });
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', CONTENT_TYPES[format]);
    res.setHeader('Cache-Control', 'no-store');
    try {
      await exportRecords(
        res,
        this.records,
        { ...filter, ...(query.limit !== undefined ? { limit: query.limit } : {}) },
        formatter(format, this.syslog),
      );
      res.end();
    } catch (error) {
      if (!(error instanceof ClientGone)) {
        this.logger.error(`audit export stopped: ${error instanceof Error ? error.message : String(error)}`);
      }
      // Headers are gone: a cut connection is the only way left to say the export is incomplete.
      res.destroy();
    }
  }

  /**
   * Server-sent events: `id` = global cursor, `event` = directoryAudit | signIn, `data` = the
   * record. Resumes after `Last-Event-ID` (or `?after=`); without either, starts at the head.
   */
  @Get('stream')
  @RequireScope('audit:read')
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this global cursor' })
  async stream(
    @Query() query: AuditStreamQuery,
    @CurrentPrincipal() principal: ApiPrincipal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const tenantIds = readableChains(principal, query.tenantId);
    const header = req.headers['last-event-id'];
    if (header !== undefined && (typeof header !== 'string' || !/^\s*\d{1,15}\s*$/.test(header))) {
      throw validationProblem([{ field: 'Last-Event-ID', rule: 'non_negative_integer' }]);
    }
    const after =
      header !== undefined ? Number(header) : (position(query.after) ?? (await this.records.head()));
    const controller = this.streams.track();
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.on('close', () => controller.abort());
    try {
      res.write('retry: 2000\n\n');
      await tail(res, this.records, {
        after,
        ...(tenantIds !== undefined ? { tenantIds } : {}),
        ...(query.category !== undefined ? { category: query.category } : {}),
        heartbeatMs: SSE_HEARTBEAT_MS,
        signal: controller.signal,
      });
      res.end();
    } catch (error) {
      if (!(error instanceof ClientGone)) {
        this.logger.error(`audit stream stopped: ${error instanceof Error ? error.message : String(error)}`);
      }
      res.destroy();
    } finally {
      controller.abort();
    }
  }

  /**
   * Walks a chain and names its first broken link: `{ ok, checked, firstBrokenSequence?, reason?,
   * recordId?, tenantId }`. Without tenantId: every chain the key may read, as
   * `{ ok, checked, chains: [...] }` (plus the first broken chain's tenantId and sequence).
   */
  @Get('verify')
  @RequireScope('audit:read')
  async verify(@Query() query: AuditVerifyQuery, @CurrentPrincipal() principal: ApiPrincipal) {
    const tenantIds = readableChains(principal, query.tenantId);
    await this.readSide.catchUp(AUDIT, position(query.minPosition));
    if (query.tenantId !== undefined) {
      return verification(await this.records.verify(tenantIds?.[0] ?? ''));
    }
    const chains = tenantIds ?? (await this.records.chains());
    const results = [];
    for (const chain of chains) results.push(verification(await this.records.verify(chain)));
    const broken = results.find((r) => !r.ok);
    return {
      ok: broken === undefined,
      checked: results.reduce((sum, r) => sum + r.checked, 0),
      ...(broken
        ? {
            tenantId: broken.tenantId,
            firstBrokenSequence: broken.firstBrokenSequence,
            reason: broken.reason,
          }
        : {}),
      chains: results,
    };
  }
}
