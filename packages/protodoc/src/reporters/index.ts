/**
 * Reporters render a run's results (plain data from the runner) as text: `pretty` for people,
 * `json` for tools, `junit` for CI dashboards. None of them writes anywhere; the caller does.
 */
export { summarize } from '../summary.js';
export { formatDuration, formatSummaryLine, REPORTER_NAMES, type ReporterName } from './format.js';
export {
  formatJson,
  JSON_REPORT_VERSION,
  type JsonExpectLine,
  type JsonReport,
  type JsonStepFailure,
  type JsonStepResult,
  type JsonTranscriptResult,
  toJsonReport,
} from './json.js';
export { escapeXml, formatJunit } from './junit.js';
export { formatPretty, formatSummary, formatTranscriptResult, type PrettyOptions } from './pretty.js';
export { escapeBytes, renderExpectLine, renderReceivedLine } from './render.js';
export { diffReply, formatReceived, type ReceivedOptions, type ReplyDiffOptions } from './reply-diff.js';
export { createVerbose, type VerboseOptions, type VerbosePrinter } from './verbose.js';
