// Small HTTP helpers shared by the controllers: request metadata, If-Match, ETag, positions.
import { createParamDecorator, ExecutionContext, ParseUUIDPipe } from '@nestjs/common';
import type { Request, Response } from 'express';
import { v7 as uuidv7 } from 'uuid';
import type { CommandMeta } from '../command-pipeline/command-pipeline.js';
import { actingUserOf, type AuthenticatedRequest } from './auth.js';
import { ProblemException } from './problem.js';
import { validationProblem } from './validation.js';

const CORRELATION = /^[\x21-\x7e]{1,128}$/;

function commandMetaOf(ctx: ExecutionContext): CommandMeta {
  const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  const res = ctx.switchToHttp().getResponse<Response>();
  const header = req.headers['x-correlation-id'];
  if (header !== undefined && (typeof header !== 'string' || !CORRELATION.test(header))) {
    throw validationProblem([{ field: 'X-Correlation-Id', rule: 'printable_ascii_1_128' }]);
  }
  const correlationId = typeof header === 'string' ? header : uuidv7();
  res.setHeader('X-Correlation-Id', correlationId);
  return { appId: req.principal?.appId ?? 'unknown', correlationId, commandId: uuidv7() };
}

export const CommandContext = createParamDecorator((_: unknown, ctx: ExecutionContext) => commandMetaOf(ctx));

/** If-Match as a revision number; undefined when absent or `*`. */
function ifMatchOf(ctx: ExecutionContext): number | undefined {
  const value = ctx.switchToHttp().getRequest<Request>().headers['if-match'];
  if (value === undefined || value.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(value);
  if (!match)
    throw ProblemException.of(
      412,
      'precondition_failed',
      `If-Match ${value} is not an ETag of this service.`,
    );
  return Number(match[1]);
}

/** `?minPosition=` on reads: a non-negative integer. */
export const MinPosition = createParamDecorator((_: unknown, ctx: ExecutionContext): number | undefined => {
  const value = ctx.switchToHttp().getRequest<Request>().query['minPosition'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw validationProblem([{ field: 'minPosition', rule: 'non_negative_integer' }]);
  }
  return Number(value);
});

export const uuidParam = new ParseUUIDPipe({
  exceptionFactory: () => validationProblem([{ field: 'path', rule: 'uuid' }]),
});

export function setCommandHeaders(res: Response, position: number, etag?: number): void {
  res.setHeader('Event-Position', String(position));
  if (etag !== undefined) res.setHeader('ETag', `"${etag}"`);
}

/** What every administrative command route reads off the request. */
export interface AdminCommandContext {
  /** X-Acting-User: required, a UUID. */
  readonly actingUserId: string;
  /** If-Match as a revision (undefined when absent or `*`). */
  readonly ifMatch: number | undefined;
  readonly meta: CommandMeta;
}

/** X-Acting-User, If-Match and the command's metadata in one parameter. */
export const AdminCommand = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AdminCommandContext => ({
    actingUserId: actingUserOf(ctx),
    ifMatch: ifMatchOf(ctx),
    meta: commandMetaOf(ctx),
  }),
);
