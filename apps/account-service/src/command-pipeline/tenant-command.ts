// A tenant directory command for the pipeline: the tenant's stream, its decider and its claims.
import { claimsFor, TenantCommand, tenantDecider, TenantEvent, TenantState } from '#domain';
import type { Precondition, StreamCommand } from './command-pipeline.js';

export const tenantStreamId = (tenantId: string): string => `tenant-${tenantId}`;

export function tenantCommand(
  tenantId: string,
  commands: readonly TenantCommand[],
  precondition?: Precondition<TenantState>,
): StreamCommand<TenantCommand, TenantState, TenantEvent> {
  const actingUserId = commands[0]?.actingUserId;
  return {
    streamId: tenantStreamId(tenantId),
    tenantId,
    ...(actingUserId ? { actingUserId } : {}),
    decider: tenantDecider,
    commands: () => commands,
    claimsFor,
    ...(precondition ? { precondition } : {}),
  };
}
