/** `--server-scope`: how long one `--server` lives (see src/server-pool.ts). */

/** `run`: a worker's server serves all of its files; `file`: every file gets a fresh one. */
export type ServerScope = 'run' | 'file';

/** The values `--server-scope` takes. */
export const SERVER_SCOPES: readonly ServerScope[] = ['run', 'file'];
