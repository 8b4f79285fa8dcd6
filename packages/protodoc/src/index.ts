/**
 * protodoc's public API: parse transcripts, run them against live servers, render the results.
 * This file only re-exports; `package.json` `exports` exposes nothing else.
 *
 * @example
 *   import { checkFiles, formatPretty } from 'protodoc';
 *   const { summary, outcome } = await checkFiles(['examples/protodoc/redis.txt'], {
 *     server: "redis-server --port {port} --save ''",
 *     connect: '127.0.0.1:{port}',
 *   });
 *   process.stdout.write(await formatPretty(summary));
 */
export { type CheckOptions, type CheckResult, checkFiles, type UpdateOptions } from './check.js';
export {
  CONFIG_FILE_NAME,
  checkOptionsFromConfig,
  configTranscriptFiles,
  loadConfig,
  type ProtodocConfig,
  parseConfig,
} from './config-file.js';
export { parseDuration } from './duration.js';
export * from './errors.js';
export { EXIT_CODES } from './exit-codes.js';
export type { TranscriptFile, TranscriptPath } from './files.js';
export { loadTranscripts } from './load.js';
export { parseMarkdown } from './markdown.js';
export { type MatchStatus, ReplyMatcher } from './matcher.js';
export { type Recorder, type Recording, type RecordOptions, record } from './record.js';
export * from './reporters/index.js';
export type * from './results.js';
export type { SerialRule } from './run-plan.js';
export {
  type FailedReply,
  type RunEventListener,
  type RunOptions,
  runTranscript,
  runTranscripts,
  type UpdateRun,
} from './runner.js';
export { type RunningServer, type ServerOptions, startServer } from './server.js';
export type { ServerScope } from './server-scope.js';
export { parseShard, type Shard, shardKey, shardOf } from './shard.js';
export { parseTranscript } from './transcript.js';
export type * from './transcript-model.js';
export type { TlsOptions } from './transports/transport.js';
export type { ChangeToDecide, Decision } from './update.js';
export {
  loadVariables,
  type VariableOrigin,
  type VariableScope,
  Variables,
  type VariablesOptions,
  type VariableValue,
} from './variables.js';
