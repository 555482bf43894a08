// Which uniqueness claims a personal account event takes and which it gives back: one account per
// address, and one account per external login, across the whole service.

import type { ClaimsForEvent } from '../claim/types.js';
import type { ClaimRequest } from '../claim/types.js';
import type { PersonalAccountEvent, PersonalAccountState } from './types.js';

/** `state` is the account's state before `event`. */
export function personalAccountClaimsFor(
  event: PersonalAccountEvent,
  state: PersonalAccountState,
): ClaimsForEvent {
  switch (event.type) {
    case 'PersonalAccountRegistered':
      return {
        claims: [
          {
            kind: 'address',
            value: event.data.email.toLowerCase(),
            ownerId: event.data.accountId,
            takenCode: 'address_taken',
          },
        ],
        releases: [],
      };
    case 'ExternalLoginLinked':
      return {
        claims: [externalLoginClaim(event.data.provider, event.data.subject, event.data.accountId)],
        releases: [],
      };
    case 'ExternalLoginUnlinked':
      return {
        claims: [],
        releases: [externalLoginClaim(event.data.provider, event.data.subject, event.data.accountId)],
      };
    case 'PersonalAccountClosed':
      // The address stays claimed: addresses are not recycled, so mail meant for the closed account
      // never reaches a newcomer. External logins go back to their owners to link elsewhere.
      return {
        claims: [],
        releases: [...state.externalLogins].map(([provider, subject]) =>
          externalLoginClaim(provider, subject, event.data.accountId),
        ),
      };
    default:
      return { claims: [], releases: [] };
  }
}

// The subject keeps its case: providers' ids are case-sensitive, and two subjects that differ in
// case may be two people.
const externalLoginClaim = (provider: string, subject: string, accountId: string): ClaimRequest => ({
  kind: 'external_login',
  value: `${provider.toLowerCase()}:${subject}`,
  ownerId: accountId,
  takenCode: 'external_login_taken',
});
