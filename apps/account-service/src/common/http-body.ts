// Request body handling ahead of Nest's routing: JSON only, bounded size, and problem+json for
// everything body-parser refuses (bad JSON, too large, wrong content type).
import express, { type NextFunction, type Request, type Response } from 'express';
import { ProblemException } from './problem.js';
import { sendProblem } from './problem.filter.js';

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_TYPES = ['application/json', 'application/*+json'];

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function requireJsonContentType(req: Request, _res: Response, next: NextFunction): void {
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method) && hasBody(req) && !req.is(JSON_TYPES)) {
    next(ProblemException.of(415, 'unsupported_media_type', 'Send the request body as application/json.'));
    return;
  }
  next();
}

export const jsonBodyParser = express.json({ limit: MAX_BODY_BYTES, type: JSON_TYPES, strict: true });

export function bodyErrorHandler(error: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(error);
    return;
  }
  sendProblem(res, req, error);
}
