// The domain core's public surface: deciders, their commands, events and state, stream names, the
// recorded-event conversion, and the normalisers the HTTP edge shares with them. Test helpers live
// in ./testing and are not exported.

export * from './shared/decider.js';
export * from './shared/names.js';
export * from './streams.js';
export * from './recorded.js';
export * from './tenant/commands.js';
export * from './tenant/events.js';
export * from './tenant/tenant-state.js';
export * from './tenant/user-state.js';
export * from './tenant/ledgers.js';
export * from './tenant/view.js';
export * from './tenant/aggregates.js';
export * from './tenant/authorisation.js';
export * from './tenant/decider.js';
export * from './tenant/claims-for.js';
export * from './tenant/guests.js';
export { licensesToFree } from './tenant/licenses.js';
export * from './tenant/legacy-layout.js';
export * from './claim/types.js';
export * from './claim/decider.js';
export * from './personal-account/types.js';
export * from './personal-account/decider.js';
export * from './personal-account/claims-for.js';
export * from './sign-in/types.js';
export * from './sign-in/evaluate.js';
