export * from './memory-publisher.js';
