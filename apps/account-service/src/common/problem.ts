// RFC 9457 problem documents: the one shape every error leaves the service in.
import { HttpException, HttpStatus } from '@nestjs/common';
import { commandProblem } from './command-problems.js';

export interface FieldError {
  readonly field: string;
  readonly rule: string;
}

export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly errors?: readonly FieldError[];
  readonly instance?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const PROBLEM_TYPE_BASE = 'https://errors.account-lifecycle.dev/';

export function problem(
  status: number,
  code: string,
  detail: string,
  errors?: readonly FieldError[],
): ProblemDocument {
  return {
    type: PROBLEM_TYPE_BASE + code,
    title: TITLES[status] ?? HttpStatus[status] ?? 'Error',
    status,
    detail,
    code,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Thrown anywhere in the app to answer with a problem document. */
export class ProblemException extends HttpException {
  constructor(readonly problem: ProblemDocument) {
    super(problem, problem.status);
  }

  static of(status: number, code: string, detail: string, errors?: readonly FieldError[]): ProblemException {
    return new ProblemException(problem(status, code, detail, errors));
  }
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'insufficient_scope',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'version_conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/** Maps anything thrown to a problem document; unknown errors become a 500 without internals. */
export function toProblem(exception: unknown): ProblemDocument {
  if (exception instanceof ProblemException) return exception.problem;
  const refused = commandProblem(exception);
  if (refused !== undefined) return refused;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const message =
      typeof response === 'object' && response !== null && 'message' in response
        ? String((response as { message: unknown }).message)
        : exception.message;
    return problem(status, DEFAULT_CODES[status] ?? 'error', message);
  }
  // body-parser style errors carry an HTTP status and a type.
  if (typeof exception === 'object' && exception !== null && 'status' in exception) {
    const { status, type } = exception as { status: unknown; type?: unknown };
    if (typeof status === 'number' && status >= 400 && status < 500) {
      if (type === 'entity.parse.failed')
        return problem(400, 'validation_failed', 'The request body is not valid JSON.', [
          { field: 'body', rule: 'json' },
        ]);
      if (type === 'entity.too.large')
        return problem(413, 'payload_too_large', 'The request body is too large.');
      if (type === 'charset.unsupported' || type === 'encoding.unsupported')
        return problem(415, 'unsupported_media_type', 'Unsupported body charset or encoding.');
      return problem(status, DEFAULT_CODES[status] ?? 'error', 'The request could not be read.');
    }
  }
  return problem(500, 'internal_error', 'An unexpected error occurred.');
}
