// Idempotency-Key on POST/PATCH/PUT/DELETE: the first response of an app's key is stored before it
// is sent; a repeat with the same request gets that response again and runs nothing. A repeat
// while the first is still running waits for it. The same key with a different request is refused.
import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Logger } from '@nestjs/common';
import { ApiKeyRegistry } from '../common/api-keys.js';
import { ProblemException } from '../common/problem.js';
import { sendProblem } from '../common/problem.filter.js';
import { validationProblem } from '../common/validation.js';
import { IdempotencyStore, StoredResponse } from './idempotency-store.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const KEY = /^[\x21-\x7e]{1,255}$/;
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', 'event-position'];
/** Auth failures and throttling depend on the moment, not the request: they are not remembered. */
const NOT_STORED = new Set([401, 403, 429]);
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

const logger = new Logger('Idempotency');

export function idempotencyMiddleware(store: IdempotencyStore, registry: ApiKeyRegistry) {
  const inFlight = new Map<string, Promise<void>>();

  const replay = (res: Response, stored: StoredResponse): void => {
    for (const [name, value] of Object.entries(stored.headers)) res.setHeader(name, value);
    res.setHeader('Idempotent-Replayed', 'true');
    res.status(stored.status).send(stored.body);
  };

  return async function idempotency(req: Request, res: Response, next: NextFunction): Promise<void> {
    const key = req.headers['idempotency-key'];
    if (!MUTATING.has(req.method) || key === undefined) return next();
    if (typeof key !== 'string' || !KEY.test(key)) {
      return sendProblem(
        res,
        req,
        validationProblem([{ field: 'Idempotency-Key', rule: 'printable_ascii_1_255' }]),
      );
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const principal = bearer ? registry.authenticate(bearer) : undefined;
    if (!principal) return next(); // the guard answers 401; nothing to remember

    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify([
          req.method,
          req.path,
          req.headers['x-acting-user'] ?? '',
          req.headers['if-match'] ?? '',
          req.body ?? null,
        ]),
      )
      .digest('hex');
    const slot = `${principal.appId}\u0000${key}`;
    for (;;) {
      const running = inFlight.get(slot);
      if (!running) break;
      await running;
    }
    const stored = await store.find(principal.appId, key);
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        return sendProblem(
          res,
          req,
          ProblemException.of(
            409,
            'idempotency_key_reused',
            'This Idempotency-Key was already used for a different request.',
          ),
        );
      }
      return replay(res, stored);
    }

    let done!: () => void;
    inFlight.set(slot, new Promise<void>((resolve) => (done = resolve)));
    const finish = () => {
      inFlight.delete(slot);
      done();
    };
    res.once('finish', finish);
    res.once('close', finish);

    const originalSend = res.send.bind(res);
    res.send = ((body?: unknown) => {
      res.send = originalSend;
      if (res.statusCode >= 500 || NOT_STORED.has(res.statusCode)) return originalSend(body as never);
      const headers: Record<string, string> = {};
      for (const name of REPLAYED_HEADERS) {
        const value = res.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      // The record is stored before the response leaves, so a retry that follows it finds it.
      store
        .save({
          appId: principal.appId,
          key,
          fingerprint,
          status: res.statusCode,
          headers,
          body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
          createdAt: new Date().toISOString(),
        })
        .catch((error: unknown) => logger.error(`idempotency record not stored: ${String(error)}`))
        .finally(() => originalSend(body as never));
      return res;
    }) as Response['send'];
    next();
  };
}
