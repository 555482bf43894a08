// The domain core's public surface: deciders, their commands, events and state, and the
// normalisers the HTTP edge shares with them. Test helpers live in ./testing and are not exported.

export * from './shared/decider.js';
export * from './shared/names.js';
export * from './tenant/types.js';
export * from './tenant/authorisation.js';
export * from './tenant/decider.js';
export * from './claim/types.js';
export * from './claim/decider.js';
export * from './claim/claims-for.js';
export * from './personal-account/types.js';
export * from './personal-account/decider.js';
export * from './personal-account/claims-for.js';
export * from './sign-in/types.js';
export * from './sign-in/evaluate.js';
