// The rules of one claim stream: a free value goes to the first claimant; claiming or releasing
// again is harmless, so a retried command or a re-run process manager changes nothing.

import { reject, type Decider, type Decision } from '../shared/decider.js';
import type { ClaimCommand, ClaimEvent, ClaimKind, ClaimState } from './types.js';

const TAKEN_MESSAGES: Record<ClaimKind, string> = {
  upn: 'The user principal name is already used by another account',
  domain: 'The domain is already held by another tenant',
  invitation: 'An invitation with this id already exists',
  guest: 'A guest of this tenant already has this address',
  address: 'The address is already used by another personal account',
  external_login: 'The external login is already linked to another personal account',
};

const initialClaimState: ClaimState = {};

function decide(command: ClaimCommand, state: ClaimState): Decision<ClaimEvent> {
  const { kind, ownerId, takenCode } = command.request;
  switch (command.type) {
    case 'Claim':
      if (state.holder === undefined) return [{ type: 'UniquenessClaimed', data: { kind, ownerId } }];
      if (state.holder === ownerId) return [];
      // The message names no value: it may be personal data.
      return reject(takenCode, TAKEN_MESSAGES[kind]);
    case 'Release':
      // Releasing what one doesn't hold must not free someone else's claim.
      return state.holder === ownerId ? [{ type: 'UniquenessReleased', data: { kind, ownerId } }] : [];
  }
}

function evolve(state: ClaimState, event: ClaimEvent): ClaimState {
  switch (event.type) {
    case 'UniquenessClaimed':
      return { holder: event.data.ownerId };
    case 'UniquenessReleased':
      return state.holder === event.data.ownerId ? {} : state;
    default:
      return state;
  }
}

export const claimDecider: Decider<ClaimCommand, ClaimState, ClaimEvent> = {
  initialState: initialClaimState,
  decide,
  evolve,
};
