// Given / when / then for the tenant directory: a history kept in memory, routed to its aggregates
// and folded exactly as the app folds their streams, then one command decided on a view that holds
// only what the decider's needs name, as the app's would. A rule that reads something its needs
// forgot fails here with NotInNeedsError, not in production.

import { expect } from 'vitest';
import type { ClaimKind } from '../claim/types.js';
import { isRejection, type DecideContext, type Decision, type Rejection } from '../shared/decider.js';
import { upnKey } from '../shared/names.js';
import { aggregateOf } from '../tenant/aggregates.js';
import type { TenantCommand } from '../tenant/commands.js';
import { directoryDecider } from '../tenant/decider.js';
import type { DirectoryEvent } from '../tenant/events.js';
import { guestKey } from '../tenant/guests.js';
import {
  evolveDomainUse,
  evolveSeatLedger,
  initialDomainUse,
  initialSeatLedger,
  type DomainUseState,
  type SeatLedgerState,
} from '../tenant/ledgers.js';
import { evolveTenant, initialTenantState, type TenantState } from '../tenant/tenant-state.js';
import { evolveUser, type UserState } from '../tenant/user-state.js';
import {
  NotInNeedsError,
  type ClaimHolder,
  type DirectoryNeeds,
  type DirectoryView,
} from '../tenant/view.js';
import { testContext } from './given.js';

/** A value held outside the history (another tenant's member, say). */
export interface OutsideClaim extends ClaimHolder {
  readonly kind: ClaimKind;
  readonly value: string;
}

/** One tenant's whole directory, folded per aggregate: what the specs state and check. */
export class MemoryDirectory implements DirectoryView {
  private constructor(
    readonly tenant: TenantState,
    readonly users: ReadonlyMap<string, UserState>,
    readonly seats: ReadonlyMap<string, SeatLedgerState>,
    readonly domainUses: ReadonlyMap<string, DomainUseState>,
    readonly outside: readonly OutsideClaim[],
  ) {}

  static of(events: readonly DirectoryEvent[], outside: readonly OutsideClaim[] = []): MemoryDirectory {
    return new MemoryDirectory(initialTenantState, new Map(), new Map(), new Map(), outside).with(events);
  }

  /** The directory after more events. */
  with(events: readonly DirectoryEvent[]): MemoryDirectory {
    let tenant = this.tenant;
    const users = new Map(this.users);
    const seats = new Map(this.seats);
    const domainUses = new Map(this.domainUses);
    for (const event of events) {
      const aggregate = aggregateOf(event);
      switch (aggregate.kind) {
        case 'tenant':
          tenant = evolveTenant(tenant, event);
          break;
        case 'user': {
          const user = evolveUser(users.get(aggregate.userId), event);
          if (user !== undefined) users.set(aggregate.userId, user);
          break;
        }
        case 'seats':
          seats.set(
            aggregate.subscriptionId,
            evolveSeatLedger(seats.get(aggregate.subscriptionId) ?? initialSeatLedger, event),
          );
          break;
        case 'domainUse':
          domainUses.set(
            aggregate.domain,
            evolveDomainUse(domainUses.get(aggregate.domain) ?? initialDomainUse, event),
          );
          break;
      }
    }
    return new MemoryDirectory(tenant, users, seats, domainUses, this.outside);
  }

  user(userId: string): UserState | undefined {
    return this.users.get(userId);
  }

  seatsAssigned(subscriptionId: string): number {
    return this.seats.get(subscriptionId)?.assigned ?? 0;
  }

  domainAccounts(domain: string): number {
    return this.domainUses.get(domain)?.accounts ?? 0;
  }

  /** The holder as the claim streams would say, derived from the objects (and the outside claims). */
  holder(kind: ClaimKind, value: string): ClaimHolder | undefined {
    const tenantId = this.tenant.tenantId;
    const mine = (userId: string): ClaimHolder => ({ ownerId: userId, tenantId });
    for (const user of this.users.values()) {
      if (kind === 'upn' && user.userType === 'Member' && upnKey(user.userPrincipalName) === value)
        return mine(user.userId);
      if (kind === 'guest' && user.guest && !user.deleted && guestKey(tenantId, user.guest.email) === value)
        return mine(user.userId);
      if (kind === 'invitation' && user.guest?.invitationId.toLowerCase() === value) return mine(user.userId);
    }
    if (kind === 'domain') {
      for (const domain of this.tenant.domains.values())
        if (domain.isVerified && domain.name === value) return { ownerId: tenantId, tenantId };
    }
    const outside = this.outside.find((claim) => claim.kind === kind && claim.value === value);
    return outside === undefined ? undefined : { ownerId: outside.ownerId, tenantId: outside.tenantId };
  }

  /**
   * The view a decision on `command` gets: the needs are followed from what is already read, as the
   * app's loader does, and anything else reads as absent (while following) or throws (deciding).
   */
  viewFor(command: TenantCommand): DirectoryView {
    const loaded = {
      users: new Set<string>(),
      seats: new Set<string>(),
      domains: new Set<string>(),
      claims: new Set<string>(),
    };
    const claimKey = (kind: ClaimKind, value: string) => `${kind}:${value}`;
    const restricted = (strict: boolean): DirectoryView => {
      const refuse = <T>(what: string, absent: T): T => {
        if (strict) throw new NotInNeedsError(what);
        return absent;
      };
      return {
        tenant: this.tenant,
        user: (id) => (loaded.users.has(id) ? this.user(id) : refuse(`user ${id}`, undefined)),
        seatsAssigned: (id) => (loaded.seats.has(id) ? this.seatsAssigned(id) : refuse(`seats of ${id}`, 0)),
        domainAccounts: (d) =>
          loaded.domains.has(d) ? this.domainAccounts(d) : refuse(`domain ledger of ${d}`, 0),
        holder: (kind, value) =>
          loaded.claims.has(claimKey(kind, value))
            ? this.holder(kind, value)
            : refuse(`claim ${kind}`, undefined),
      };
    };
    for (let round = 0; ; round++) {
      const needs: DirectoryNeeds = directoryDecider.needs(command, restricted(false));
      const before = loaded.users.size + loaded.seats.size + loaded.domains.size + loaded.claims.size;
      needs.users.forEach((id) => loaded.users.add(id));
      needs.seats.forEach((id) => loaded.seats.add(id));
      needs.domains.forEach((d) => loaded.domains.add(d));
      needs.claims.forEach((c) => loaded.claims.add(claimKey(c.kind, c.value)));
      const after = loaded.users.size + loaded.seats.size + loaded.domains.size + loaded.claims.size;
      if (after === before) break;
      if (round > 4) throw new Error('the needs keep growing');
    }
    return restricted(true);
  }
}

export interface DirectoryWhen {
  readonly state: MemoryDirectory;
  readonly decision: Decision<DirectoryEvent>;
  /** Asserts the command was accepted with exactly these events; returns the directory after them. */
  then(expected: readonly DirectoryEvent[]): MemoryDirectory;
  /** Asserts the command was rejected with this code (and category, when given). */
  thenRejects(code: string, category?: Rejection['category']): Rejection;
}

export interface DirectoryGiven {
  readonly state: MemoryDirectory;
  when(command: TenantCommand, context?: Partial<DecideContext>): DirectoryWhen;
}

/** A tenant's history (and values held outside it); then one command. */
export function givenDirectory(
  events: readonly DirectoryEvent[] = [],
  outside: readonly OutsideClaim[] = [],
): DirectoryGiven {
  const state = MemoryDirectory.of(events, outside);
  return {
    state,
    when(command, context) {
      const decision = directoryDecider.decide(command, state.viewFor(command), testContext(context));
      return {
        state,
        decision,
        then(expected) {
          if (isRejection(decision)) {
            expect.fail(
              `expected events but the command was rejected: ${decision.code} (${decision.message})`,
            );
          }
          expect(decision).toEqual(expected);
          return state.with(decision);
        },
        thenRejects(code, category) {
          if (!isRejection(decision)) {
            expect.fail(`expected rejection ${code} but got events: ${JSON.stringify(decision)}`);
          }
          expect(decision.code).toBe(code);
          if (category !== undefined) expect(decision.category).toBe(category);
          expect(decision.message).not.toBe('');
          return decision;
        },
      };
    },
  };
}
