// The package's one public face: re-exports only.
export * from './aliases.js';
export * from './engine.js';
export * from './errors.js';
export * from './hook.js';
export * from './watch.js';
