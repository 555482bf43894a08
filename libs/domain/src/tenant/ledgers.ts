// Two counters that rules across many objects need, each in a stream of its own so that the
// objects they count never have to be read: the seats in use of a subscription
// (`seats-<subscriptionId>`), and the accounts whose UPN is in a custom domain (one stream per
// tenant and domain). A license assignment and a member creation each write one counter beside
// their own stream, in one atomic append; the counter's expected version is what makes "seats never
// oversubscribed" and "no account left in a removed domain" hold under any concurrency.

import type { DirectoryEvent } from './events.js';

export interface SeatLedgerState {
  /** Licenses holding a seat of the subscription. */
  readonly assigned: number;
}

export const initialSeatLedger: SeatLedgerState = { assigned: 0 };

export function evolveSeatLedger(state: SeatLedgerState, event: DirectoryEvent): SeatLedgerState {
  switch (event.type) {
    case 'SeatTaken':
      return { assigned: state.assigned + 1 };
    case 'SeatReleased':
      return { assigned: Math.max(0, state.assigned - 1) };
    case 'SeatsMigrated':
      return { assigned: event.data.assigned };
    default:
      return state;
  }
}

export interface DomainUseState {
  /** Accounts (deleted ones included: they can be restored) whose UPN is in the domain. */
  readonly accounts: number;
}

export const initialDomainUse: DomainUseState = { accounts: 0 };

export function evolveDomainUse(state: DomainUseState, event: DirectoryEvent): DomainUseState {
  switch (event.type) {
    case 'DomainUseTaken':
      return { accounts: state.accounts + 1 };
    case 'DomainUseReleased':
      return { accounts: Math.max(0, state.accounts - 1) };
    case 'DomainUseMigrated':
      return { accounts: event.data.accounts };
    default:
      return state;
  }
}

/** Snapshot codecs: both states are a single count. */
export const seatLedgerCodec = {
  schema: 'seats@1',
  encode: (state: SeatLedgerState): string => JSON.stringify(state),
  decode: (text: string): SeatLedgerState => JSON.parse(text) as SeatLedgerState,
};

export const domainUseCodec = {
  schema: 'domain-use@1',
  encode: (state: DomainUseState): string => JSON.stringify(state),
  decode: (text: string): DomainUseState => JSON.parse(text) as DomainUseState,
};
