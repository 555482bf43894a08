// Durable reaction: when a user is deleted, free the licenses they hold. It is a checkpointed
// subscriber of the event log (not the in-memory EventBus), so a crash or restart between the
// deletion and the release only delays the release.
import { licensesToFree, tenantDecider } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { EventProcessor } from '#projections';
import { CommandPipeline } from '../command-pipeline/command-pipeline.js';
import { tenantCommand, tenantStreamId } from '../command-pipeline/tenant-command.js';

export const LICENSE_RELEASE = 'license-release';

export class LicenseReleaseProcessor implements EventProcessor {
  readonly name = LICENSE_RELEASE;

  constructor(private readonly pipeline: CommandPipeline) {}

  async handle(event: RecordedEvent): Promise<void> {
    if (event.type !== 'UserDeleted' || !event.tenantId) return;
    const userId = event.data['userId'];
    if (typeof userId !== 'string') return;
    const { state } = await this.pipeline.load(tenantDecider, tenantStreamId(event.tenantId));
    // Restored before we got here: the user keeps their licenses.
    if (!state.users.get(userId)?.deleted) return;
    const skus = licensesToFree(state, userId);
    if (skus.length === 0) return;
    await this.pipeline.execute(
      tenantCommand(
        event.tenantId,
        skus.map((sku) => ({
          type: 'RemoveLicense' as const,
          initiatedBy: 'system' as const,
          data: { userId, sku, reason: 'user_deleted' as const },
        })),
      ),
      { appId: 'account-service', correlationId: event.correlationId, commandId: event.eventId },
    );
  }
}
