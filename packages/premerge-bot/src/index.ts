// The package's one public face: re-exports only.
export * from './aliases.js';
export * from './engine.js';
export * from './errors.js';
export type * from './forge.js';
export { GitForge } from './git-forge.js';
export * from './hook.js';
export { githubIdentity, redactCredentials, repoIdentity, repoName } from './repo-identity.js';
export type { IsolationMode, Runner, RunRequest } from './runner.js';
export * from './watch.js';
