// Given / when / then for decider specs: replay a history, send one command, check the events or
// the rejection. The context is deterministic so that expected events can be written out in full.

import { expect } from 'vitest';

import {
  fold,
  isRejection,
  type DecideContext,
  type Decider,
  type Decision,
  type DomainConfig,
  type Rejection,
} from '../shared/decider.js';

export const TEST_NOW = new Date('2026-01-01T00:00:00Z');

export const TEST_CONFIG: DomainConfig = {
  initialDomainSuffix: 'onmicrosoft.com',
  consumerDomains: ['outlook.com', 'hotmail.com', 'live.com', 'msn.com'],
};

/** Clock fixed at TEST_NOW, ids 'id-1', 'id-2', … (fresh per context), digits '12345678'. */
export function testContext(overrides: Partial<DecideContext> = {}): DecideContext {
  let next = 0;
  return {
    now: TEST_NOW,
    newId: () => `id-${++next}`,
    randomDigits: (length) => '12345678'.repeat(Math.ceil(length / 8)).slice(0, length),
    config: TEST_CONFIG,
    ...overrides,
  };
}

export interface When<S, E> {
  /** The state the command was decided on. */
  readonly state: S;
  readonly decision: Decision<E>;
  /** Asserts the command was accepted with exactly these events; returns the state after them. */
  then(expected: readonly E[]): S;
  /** Asserts the command was rejected with this code (and category, when given). */
  thenRejects(code: string, category?: Rejection['category']): Rejection;
}

export interface Given<C, S, E> {
  readonly state: S;
  when(command: C, context?: Partial<DecideContext>): When<S, E>;
}

export function given<C, S, E>(decider: Decider<C, S, E>, events: readonly E[] = []): Given<C, S, E> {
  const state = fold(decider, events);
  return {
    state,
    when(command, context) {
      const decision = decider.decide(command, state, testContext(context));
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
          return fold(decider, [...events, ...decision]);
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
