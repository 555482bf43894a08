// What the write path throws besides a bug: typed, so each edge (HTTP, the Kafka intake) maps them
// once to its own answer (../common/command-problems.ts), and nothing inside speaks HTTP.
import type { Rejection } from '#domain';

/** A domain rule said no. */
export class DomainRejectionError extends Error {
  constructor(
    readonly rejection: Rejection,
    /** The command that was refused (its `type` and target ids go to the CommandRejected record). */
    readonly command?: unknown,
  ) {
    super(rejection.message);
    this.name = 'DomainRejectionError';
  }

  /** False when the target does not exist (unknown tenant, refused sign-up): recorded as the service's. */
  targetExists = true;
}

/** If-Match named another revision than the resource's current one. */
export class PreconditionFailedError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`If-Match "${expected}" does not match the current ETag "${actual}".`);
    this.name = 'PreconditionFailedError';
  }
}

/** The streams a command read kept changing under it, attempt after attempt. */
export class VersionConflictError extends Error {
  constructor() {
    super('The resource kept changing; retry the request.');
    this.name = 'VersionConflictError';
  }
}

/** The tenant is still in the one-stream layout: `cli migrate` has not run on this store. */
export class MigrationRequiredError extends Error {
  constructor(tenantId: string) {
    super(
      `Tenant ${tenantId} is stored in the one-stream layout; run the migration (npm run cli -- migrate).`,
    );
    this.name = 'MigrationRequiredError';
  }
}
