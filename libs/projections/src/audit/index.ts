// The audit read model: records in per-tenant hash chains, the feed over them, chain verification.
export * from './audit-projection.js';
