// How each kind of stream folds, from the domain's own evolve functions: the tenant, a user object,
// a seat ledger, a domain's account count, a claim, a personal account. Schemas name the shape of
// a state in the cache and in snapshots: change one when its fold or codec changes.
import {
  claimDecider,
  domainUseCodec,
  evolveDomainUse,
  evolveSeatLedger,
  evolveTenant,
  evolveUser,
  initialDomainUse,
  initialSeatLedger,
  initialTenantState,
  personalAccountDecider,
  seatLedgerCodec,
  tenantCodec,
  toClaimEvent,
  toDirectoryEvent,
  toPersonalAccountEvent,
  type ClaimEvent,
  type ClaimState,
  type DirectoryEvent,
  type DomainUseState,
  type PersonalAccountEvent,
  type PersonalAccountState,
  type SeatLedgerState,
  type TenantState,
  type UserStreamState,
} from '#domain';
import type { StreamFold } from './stream-loader.js';

export const tenantFold: StreamFold<TenantState, DirectoryEvent> = {
  schema: tenantCodec.schema,
  initial: initialTenantState,
  read: toDirectoryEvent,
  evolve: evolveTenant,
  codec: tenantCodec,
};

export const userFold: StreamFold<UserStreamState, DirectoryEvent> = {
  schema: 'user@1',
  initial: undefined,
  read: toDirectoryEvent,
  evolve: evolveUser,
};

export const seatLedgerFold: StreamFold<SeatLedgerState, DirectoryEvent> = {
  schema: seatLedgerCodec.schema,
  initial: initialSeatLedger,
  read: toDirectoryEvent,
  evolve: evolveSeatLedger,
  codec: seatLedgerCodec,
};

export const domainUseFold: StreamFold<DomainUseState, DirectoryEvent> = {
  schema: domainUseCodec.schema,
  initial: initialDomainUse,
  read: toDirectoryEvent,
  evolve: evolveDomainUse,
  codec: domainUseCodec,
};

export const claimFold: StreamFold<ClaimState, ClaimEvent> = {
  schema: 'claim@1',
  initial: claimDecider.initialState,
  read: toClaimEvent,
  evolve: claimDecider.evolve,
};

export const personalAccountFold: StreamFold<PersonalAccountState, PersonalAccountEvent> = {
  schema: 'personal-account@1',
  initial: personalAccountDecider.initialState,
  read: toPersonalAccountEvent,
  evolve: personalAccountDecider.evolve,
};
