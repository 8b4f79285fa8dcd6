/**
 * The stand-in GitHub for premerge-bot's tests: start one with {@link startStandin}. See README.md here.
 */

export { ZERO_SHA } from './git.mjs';
export { loadSchemas, OPERATIONS, WEBHOOKS } from './schemas.mjs';
export { DEFAULT_PERMISSIONS, Standin, startStandin } from './standin.mjs';
