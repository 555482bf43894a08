// The door to a personal account: ExecutePersonalAccountCommand through the CommandBus, run by the
// pipeline on the account's own stream with its uniqueness claims (address, external logins).
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  isRejection,
  personalAccountClaimsFor,
  personalAccountDecider,
  streams,
  type ClaimKind,
  type PersonalAccountCommand,
  type PersonalAccountEvent,
  type PersonalAccountState,
} from '#domain';
import {
  CommandPipeline,
  type CommandMeta,
  type PipelineCommand,
} from '../command-pipeline/command-pipeline.js';
import { DomainRejectionError } from '../command-pipeline/errors.js';
import { claimFold, personalAccountFold } from '../command-pipeline/folds.js';
import { StreamNames } from '../command-pipeline/stream-names.js';
import type { StreamReads } from '../command-pipeline/stream-reads.js';

export interface PersonalAccountOutcome {
  readonly state: PersonalAccountState;
  readonly events: readonly PersonalAccountEvent[];
  readonly position: number;
  /** The account stream's version: the account's ETag. */
  readonly streamVersion: number;
}

/** What a command's builder may read first: whether a value is claimed (the read guards the append). */
export interface ClaimReads {
  isHeld(kind: ClaimKind, value: string): Promise<boolean>;
}

export type BuildPersonalAccountCommands = (
  claims: ClaimReads,
) => Promise<readonly PersonalAccountCommand[]> | readonly PersonalAccountCommand[];

export class ExecutePersonalAccountCommand extends Command<PersonalAccountOutcome> {
  constructor(
    readonly accountId: string,
    readonly build: BuildPersonalAccountCommands,
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

function personalAccountCommand(
  names: StreamNames,
  accountId: string,
  build: BuildPersonalAccountCommands,
): PipelineCommand<PersonalAccountOutcome> {
  const streamId = streams.personalAccount(accountId);
  const outcome = (
    reads: StreamReads,
    position: number,
    events: readonly unknown[],
  ): PersonalAccountOutcome => ({
    state: reads.peek<PersonalAccountState>(streamId) ?? personalAccountDecider.initialState,
    events: events as readonly PersonalAccountEvent[],
    position,
    streamVersion: reads.versionOf(streamId),
  });
  return {
    lockKeys: [streamId],
    streamId,
    async run(attempt) {
      let state = await attempt.reads.get(streamId, personalAccountFold);
      const commands = await build({
        isHeld: async (kind, value) =>
          (await attempt.reads.get(names.claim(kind, value), claimFold)).holder !== undefined,
      });
      for (const command of commands) {
        const decision = personalAccountDecider.decide(command, state, attempt.context);
        if (isRejection(decision)) {
          const refused = new DomainRejectionError(decision, command);
          refused.targetExists = false;
          throw refused;
        }
        for (const event of decision) {
          const { claims, releases } = personalAccountClaimsFor(event, state);
          for (const request of releases) await attempt.claim('Release', request, command);
          for (const request of claims) await attempt.claim('Claim', request, command);
          attempt.record(streamId, event);
          state = personalAccountDecider.evolve(state, event);
        }
      }
    },
    answer: (attempt, written) => outcome(attempt.reads, written.position, written.events),
    async replay(reads, written) {
      await reads.get(streamId, personalAccountFold);
      return outcome(reads, written.position, written.events);
    },
  };
}

@CommandHandler(ExecutePersonalAccountCommand)
export class ExecutePersonalAccountCommandHandler implements ICommandHandler<
  ExecutePersonalAccountCommand,
  PersonalAccountOutcome
> {
  constructor(
    @Inject(CommandPipeline) private readonly pipeline: CommandPipeline,
    @Inject(StreamNames) private readonly names: StreamNames,
  ) {}

  execute({ accountId, build, meta }: ExecutePersonalAccountCommand): Promise<PersonalAccountOutcome> {
    return this.pipeline.execute(personalAccountCommand(this.names, accountId, build), meta);
  }
}
