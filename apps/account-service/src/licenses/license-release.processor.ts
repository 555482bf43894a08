// Durable reaction: when a user is deleted, free the licenses they hold. It is a checkpointed
// subscriber of the event log (not the in-memory EventBus), so a crash or restart between the
// deletion and the release only delays the release. It reads the deleted user's stream alone.
import type { CommandBus } from '@nestjs/cqrs';
import { licensesToFree } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { EventProcessor } from '#projections';
import { ExecuteDirectoryCommand } from '../command-pipeline/execute-directory-command.js';
import type { DirectoryReader } from '../tenants/directory-reader.js';

export const LICENSE_RELEASE = 'license-release';

export class LicenseReleaseProcessor implements EventProcessor {
  readonly name = LICENSE_RELEASE;

  constructor(
    private readonly commands: CommandBus,
    private readonly reader: DirectoryReader,
  ) {}

  handles(event: RecordedEvent): boolean {
    return event.type === 'UserDeleted' && event.tenantId !== undefined;
  }

  async handle(event: RecordedEvent): Promise<void> {
    if (!this.handles(event) || !event.tenantId) return;
    const userId = event.data['userId'];
    if (typeof userId !== 'string') return;
    // Restored before we got here: the user keeps their licenses.
    const skus = licensesToFree(await this.reader.user(event.tenantId, userId));
    if (skus.length === 0) return;
    await this.commands.execute(
      new ExecuteDirectoryCommand(
        event.tenantId,
        skus.map((sku) => ({
          type: 'RemoveLicense' as const,
          initiatedBy: 'system' as const,
          data: { userId, sku, reason: 'user_deleted' as const },
        })),
        { appId: 'account-service', correlationId: event.correlationId, commandId: event.eventId },
      ),
    );
  }
}
