// A personal-account command for the pipeline: the account's stream, decider and claims.
import {
  personalAccountClaimsFor,
  PersonalAccountCommand,
  personalAccountDecider,
  PersonalAccountEvent,
  PersonalAccountState,
} from '#domain';
import type { ContextReader, StreamCommand } from '../command-pipeline/command-pipeline.js';

export const personalAccountStreamId = (accountId: string): string => `personal-account-${accountId}`;

export function personalAccountCommand(
  accountId: string,
  commands: (
    reader: ContextReader,
  ) => Promise<readonly PersonalAccountCommand[]> | readonly PersonalAccountCommand[],
): StreamCommand<PersonalAccountCommand, PersonalAccountState, PersonalAccountEvent> {
  return {
    streamId: personalAccountStreamId(accountId),
    decider: personalAccountDecider,
    commands,
    claimsFor: personalAccountClaimsFor,
  };
}
