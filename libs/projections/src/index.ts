// Checkpointed subscribers of the global log: the runner and where checkpoints live.
export * from './checkpoints.js';
export * from './runner.js';
export * from './read-models.js';
export * from './directory/index.js';
export * from './audit/index.js';
export * from './sql.js';
export * from './coordination.js';
export * from './position-waiters.js';
