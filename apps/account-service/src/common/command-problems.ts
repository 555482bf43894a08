// The write path's typed errors as problem documents: the one mapping every edge uses (the HTTP
// filter, the Kafka intake's results), so a refusal reads the same wherever a command came from.
import {
  DomainRejectionError,
  MigrationRequiredError,
  PreconditionFailedError,
  VersionConflictError,
} from '../command-pipeline/errors.js';
import { problem, type ProblemDocument } from './problem.js';

/** The problem a write-path error answers with; undefined for anything else (a bug, the store away). */
export function commandProblem(error: unknown): ProblemDocument | undefined {
  if (error instanceof DomainRejectionError) {
    const { rejection } = error;
    if (rejection.category === 'not_found') return problem(404, 'not_found', rejection.message);
    if (rejection.category === 'forbidden') return problem(403, rejection.code, rejection.message);
    return problem(409, rejection.code, rejection.message);
  }
  if (error instanceof PreconditionFailedError) return problem(412, 'precondition_failed', error.message);
  if (error instanceof VersionConflictError) return problem(409, 'version_conflict', error.message);
  if (error instanceof MigrationRequiredError) return problem(503, 'migration_required', error.message);
  return undefined;
}
