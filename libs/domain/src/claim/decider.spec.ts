import { describe, expect, it } from 'vitest';

import { fold } from '../shared/decider.js';
import { given } from '../testing/given.js';
import { claimDecider } from './decider.js';
import { CLAIM_KINDS, type ClaimCommand, type ClaimEvent, type ClaimRequest } from './types.js';

const upn = (ownerId: string): ClaimRequest => ({
  kind: 'upn',
  value: 'alice@contoso.com',
  ownerId,
  takenCode: 'upn_taken',
});
const claim = (request: ClaimRequest): ClaimCommand => ({ type: 'Claim', request });
const release = (request: ClaimRequest): ClaimCommand => ({ type: 'Release', request });
const claimed = (ownerId: string, kind: 'upn' | 'domain' = 'upn'): ClaimEvent => ({
  type: 'UniquenessClaimed',
  data: { kind, ownerId },
});
const released = (ownerId: string, kind: 'upn' | 'domain' = 'upn'): ClaimEvent => ({
  type: 'UniquenessReleased',
  data: { kind, ownerId },
});

const stream = (events: readonly ClaimEvent[]) => given(claimDecider, events);

describe('Claim', () => {
  it('gives a free value to the claimant', () => {
    const state = stream([])
      .when(claim(upn('u-1')))
      .then([claimed('u-1')]);
    expect(state.holder).toBe('u-1');
  });

  it('does nothing when the claimant already holds the value', () => {
    stream([claimed('u-1')])
      .when(claim(upn('u-1')))
      .then([]);
  });

  it("is refused with the request's code when someone else holds the value", () => {
    const rejection = stream([claimed('u-1')])
      .when(claim(upn('u-2')))
      .thenRejects('upn_taken', 'conflict');
    expect(rejection.message).not.toContain('alice');
  });

  it('uses the code the request names', () => {
    stream([claimed('t-1', 'domain')])
      .when(
        claim({
          kind: 'domain',
          value: 'contoso.onmicrosoft.com',
          ownerId: 't-2',
          takenCode: 'tenant_prefix_taken',
        }),
      )
      .thenRejects('tenant_prefix_taken');
  });

  it.each(CLAIM_KINDS)('explains a taken %s without naming the value', (kind) => {
    const rejection = given(claimDecider, [{ type: 'UniquenessClaimed', data: { kind, ownerId: 'x-1' } }])
      .when(claim({ kind, value: 'secret@example.com', ownerId: 'x-2', takenCode: `${kind}_taken` }))
      .thenRejects(`${kind}_taken`, 'conflict');
    expect(rejection.message).not.toContain('secret');
  });

  it('gives a released value to the next claimant', () => {
    stream([claimed('u-1'), released('u-1')])
      .when(claim(upn('u-2')))
      .then([claimed('u-2')]);
  });

  it('never writes the claimed value into the event', () => {
    const decision = stream([]).when(claim(upn('u-1'))).decision;
    expect(JSON.stringify(decision)).not.toContain('alice');
  });
});

describe('Release', () => {
  it('frees a value its holder gives back', () => {
    const state = stream([claimed('u-1')])
      .when(release(upn('u-1')))
      .then([released('u-1')]);
    expect(state.holder).toBeUndefined();
  });

  it("does nothing when someone else holds the value, so it can't free another's claim", () => {
    stream([claimed('u-1')])
      .when(release(upn('u-2')))
      .then([]);
  });

  it('does nothing when nobody holds the value', () => {
    stream([])
      .when(release(upn('u-1')))
      .then([]);
    stream([claimed('u-1'), released('u-1')])
      .when(release(upn('u-1')))
      .then([]);
  });
});

describe('evolve', () => {
  it('starts with no holder', () => {
    expect(claimDecider.initialState).toEqual({});
  });

  it('follows the holder through claims and releases', () => {
    expect(fold(claimDecider, [claimed('u-1'), released('u-1'), claimed('u-2')])).toEqual({ holder: 'u-2' });
  });
});
