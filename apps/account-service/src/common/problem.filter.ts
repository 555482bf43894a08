// Every error leaves as application/problem+json; internals of unexpected errors are logged, not sent.
import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toProblem } from './problem.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function sendProblem(res: Response, req: Request, exception: unknown): void {
  const body = { ...toProblem(exception), instance: req.originalUrl };
  res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Problem');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    if (toProblem(exception).status >= 500)
      this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    if (res.headersSent) return;
    sendProblem(res, req, exception);
  }
}
