// The @nestjs/cqrs command of the tenant directory: controllers send domain commands through the
// CommandBus; the handler runs them through the pipeline as one unit and maps rejections to problems.
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Inject } from '@nestjs/common';
import type { TenantCommand, TenantEvent, TenantState } from '#domain';
import {
  CommandMeta,
  CommandOutcome,
  CommandPipeline,
  DomainRejectionError,
  Precondition,
  rejectionToProblem,
} from './command-pipeline.js';
import { tenantCommand } from './tenant-command.js';

export type TenantOutcome = CommandOutcome<TenantState, TenantEvent>;

export class ExecuteTenantCommand extends Command<TenantOutcome> {
  constructor(
    readonly tenantId: string,
    readonly commands: readonly TenantCommand[],
    readonly meta: CommandMeta,
    readonly precondition?: Precondition<TenantState>,
  ) {
    super();
  }
}

@CommandHandler(ExecuteTenantCommand)
export class ExecuteTenantCommandHandler implements ICommandHandler<ExecuteTenantCommand, TenantOutcome> {
  constructor(@Inject(CommandPipeline) private readonly pipeline: CommandPipeline) {}

  async execute({ tenantId, commands, meta, precondition }: ExecuteTenantCommand): Promise<TenantOutcome> {
    try {
      return await this.pipeline.execute(tenantCommand(tenantId, commands, precondition), meta);
    } catch (error) {
      if (error instanceof DomainRejectionError) throw rejectionToProblem(error.rejection);
      throw error;
    }
  }
}
