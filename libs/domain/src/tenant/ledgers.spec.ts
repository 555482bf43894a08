// The two counters rules across many objects read: a subscription's seats in use and a custom
// domain's accounts. Each is one number, whatever it counts.

import { describe, expect, it } from 'vitest';

import {
  ALICE,
  BOB,
  domainUseReleased,
  domainUseTaken,
  memberCreated,
  seatReleased,
  seatTaken,
} from '../testing/tenant-fixtures.js';
import type { DirectoryEvent } from './events.js';
import {
  domainUseCodec,
  evolveDomainUse,
  evolveSeatLedger,
  initialDomainUse,
  initialSeatLedger,
  seatLedgerCodec,
  type DomainUseState,
  type SeatLedgerState,
} from './ledgers.js';

const seats = (events: readonly DirectoryEvent[], from = initialSeatLedger): SeatLedgerState =>
  events.reduce(evolveSeatLedger, from);
const domainUse = (events: readonly DirectoryEvent[], from = initialDomainUse): DomainUseState =>
  events.reduce(evolveDomainUse, from);

describe('a seat ledger', () => {
  it('starts with no seat in use', () => {
    expect(initialSeatLedger).toEqual({ assigned: 0 });
  });

  it('counts the seats taken and given back', () => {
    expect(seats([seatTaken('s-1', ALICE), seatTaken('s-1', BOB), seatReleased('s-1', ALICE)])).toEqual({
      assigned: 1,
    });
  });

  it('never counts below zero', () => {
    expect(seats([seatReleased('s-1', ALICE)])).toEqual({ assigned: 0 });
  });

  it('takes the count a migration found, and counts on from it', () => {
    expect(
      seats([
        { type: 'SeatsMigrated', data: { subscriptionId: 's-1', assigned: 7 } },
        seatTaken('s-1', ALICE),
      ]),
    ).toEqual({ assigned: 8 });
  });

  it('ignores every other event', () => {
    const state = seats([seatTaken('s-1', ALICE)]);
    expect(evolveSeatLedger(state, domainUseTaken('contoso.com', ALICE))).toBe(state);
    expect(evolveSeatLedger(state, memberCreated(BOB, 'bob@contoso.com'))).toBe(state);
  });

  it('restores a state from its snapshot', () => {
    const state = seats([seatTaken('s-1', ALICE)]);
    expect(seatLedgerCodec.decode(seatLedgerCodec.encode(state))).toEqual(state);
  });

  it('folds 20,000 seats taken into one number: each step leaves the previous state whole, and the snapshot stays small', () => {
    let state = initialSeatLedger;
    let whole = 0;
    for (let i = 0; i < 20_000; i++) {
      const before = state;
      state = evolveSeatLedger(before, seatTaken('s-1', `u-${i}`));
      if (before.assigned === i && state !== before) whole++;
    }
    expect(whole).toBe(20_000);
    expect(state).toEqual({ assigned: 20_000 });
    expect(Object.keys(state)).toEqual(['assigned']);
    expect(seatLedgerCodec.encode(state)).toBe('{"assigned":20000}');
  });
});

describe("a custom domain's account count", () => {
  it('starts with no account', () => {
    expect(initialDomainUse).toEqual({ accounts: 0 });
  });

  it('counts the accounts entering and leaving the domain', () => {
    expect(
      domainUse([
        domainUseTaken('contoso.com', ALICE),
        domainUseTaken('contoso.com', BOB),
        domainUseReleased('contoso.com', ALICE),
      ]),
    ).toEqual({ accounts: 1 });
  });

  it('never counts below zero', () => {
    expect(domainUse([domainUseReleased('contoso.com', ALICE)])).toEqual({ accounts: 0 });
  });

  it('takes the count a migration found, and counts on from it', () => {
    expect(
      domainUse([
        { type: 'DomainUseMigrated', data: { domain: 'contoso.com', accounts: 3 } },
        domainUseReleased('contoso.com', ALICE),
      ]),
    ).toEqual({ accounts: 2 });
  });

  it('ignores every other event', () => {
    const state = domainUse([domainUseTaken('contoso.com', ALICE)]);
    expect(evolveDomainUse(state, seatTaken('s-1', ALICE))).toBe(state);
    expect(evolveDomainUse(state, { type: 'UserDeleted', data: { userId: ALICE } })).toBe(state);
  });

  it('restores a state from its snapshot', () => {
    const state = domainUse([domainUseTaken('contoso.com', ALICE)]);
    expect(domainUseCodec.decode(domainUseCodec.encode(state))).toEqual(state);
  });
});
