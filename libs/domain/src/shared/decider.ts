// The shape every aggregate's rules take: decide(command, state, context) → events | rejection,
// evolve(state, event) → state. Pure: time and ids come in through the context.

export interface DomainEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

/** A domain rule said no. `code` is the stable, snake_case code of the HTTP contract. */
export interface Rejection {
  readonly kind: 'rejection';
  readonly code: string;
  readonly message: string;
  /** 'not_found' and 'forbidden' map to 404 and 403 at the edge; 'conflict' to 409. */
  readonly category: 'conflict' | 'not_found' | 'forbidden';
}

export type Decision<E> = readonly E[] | Rejection;

export interface DecideContext {
  /** The clock, read once per command. */
  readonly now: Date;
  /** A fresh UUID (v7) on every call. */
  readonly newId: () => string;
  /** A fresh random decimal digit string of the given length (domain verification codes). */
  readonly randomDigits: (length: number) => string;
  /** Service configuration the rules depend on. */
  readonly config: DomainConfig;
}

export interface DomainConfig {
  /** e.g. 'onmicrosoft.com'. */
  readonly initialDomainSuffix: string;
  /** Lower-case consumer domains that can never be added to a tenant. */
  readonly consumerDomains: readonly string[];
}

export const reject = (
  code: string,
  message: string,
  category: Rejection['category'] = 'conflict',
): Rejection => ({ kind: 'rejection', code, message, category });

export const isRejection = <E>(decision: Decision<E>): decision is Rejection =>
  !Array.isArray(decision) && (decision as Rejection).kind === 'rejection';

export interface Decider<C, S, E> {
  readonly initialState: S;
  decide(command: C, state: S, context: DecideContext): Decision<E>;
  evolve(state: S, event: E): S;
}

/** Folds a history into a state. */
export const fold = <S, E>(
  decider: Pick<Decider<unknown, S, E>, 'initialState' | 'evolve'>,
  events: readonly E[],
): S => events.reduce(decider.evolve, decider.initialState);
