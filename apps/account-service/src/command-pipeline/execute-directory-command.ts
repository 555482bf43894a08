// The one door to a tenant's directory: controllers, the Kafka intake and the license release all
// send ExecuteDirectoryCommand through the CommandBus; its handler runs the commands through the
// pipeline as one unit. Refusals leave as typed errors (./errors.ts), mapped once at each edge.
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { streams, type TenantCommand, type TenantState } from '#domain';
import { CommandPipeline, type CommandMeta } from './command-pipeline.js';
import { directoryCommand, type DirectoryOutcome, type DirectoryPrecondition } from './directory-command.js';
import { tenantFold } from './folds.js';
import { StreamLoader } from './stream-loader.js';
import { StreamNames } from './stream-names.js';

export class ExecuteDirectoryCommand extends Command<DirectoryOutcome> {
  constructor(
    readonly tenantId: string,
    readonly commands: readonly TenantCommand[],
    readonly meta: CommandMeta,
    readonly precondition?: DirectoryPrecondition,
  ) {
    super();
  }
}

@CommandHandler(ExecuteDirectoryCommand)
export class ExecuteDirectoryCommandHandler implements ICommandHandler<
  ExecuteDirectoryCommand,
  DirectoryOutcome
> {
  constructor(
    @Inject(CommandPipeline) private readonly pipeline: CommandPipeline,
    @Inject(StreamNames) private readonly names: StreamNames,
    @Inject(StreamLoader) private readonly loader: StreamLoader,
  ) {}

  execute({ tenantId, commands, meta, precondition }: ExecuteDirectoryCommand): Promise<DirectoryOutcome> {
    const cached = this.loader.cache.get<TenantState>(streams.tenant(tenantId), tenantFold.schema)?.state;
    return this.pipeline.execute(
      directoryCommand(this.names, tenantId, commands, {
        ...(precondition ? { precondition } : {}),
        ...(cached ? { cached } : {}),
      }),
      meta,
    );
  }
}
