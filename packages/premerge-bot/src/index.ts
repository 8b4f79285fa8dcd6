export * from './engine.js';
export * from './errors.js';
