export const EVENT_STORE = Symbol('EVENT_STORE');
export const CLOCK = Symbol('CLOCK');

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Leases among the instances that share the store (projections, processors, relays). */
export const COORDINATION = Symbol('COORDINATION');
