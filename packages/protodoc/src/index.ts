export * from './errors.js';
export type * from './results.js';
export type * from './transcript-model.js';
