// The directory's read models: tenant overview, users per tenant, and the realm behind the sign-in lookup.
export * from './tenants.js';
export * from './users.js';
export * from './realm.js';
