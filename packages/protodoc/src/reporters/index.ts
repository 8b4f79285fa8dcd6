/**
 * Reporters render a run's results (plain data from the runner) as text: `pretty` and `dot` for
 * people, `json` for tools, `junit` and `tap` for CI dashboards, `github` for annotations. Each is one
 * module of the same shape (src/reporters/reporter.ts), listed in src/reporters/registry.ts; none of
 * them writes anywhere but the output it is given.
 */
export { summarize } from '../summary.js';
export { formatDuration, formatSummaryLine } from './format.js';
export { createReportHub, type ReportHub, type ReportHubOptions, runErrorOf } from './hub.js';
export {
  formatJson,
  JSON_REPORT_VERSION,
  type JsonExpectLine,
  type JsonOptions,
  type JsonReport,
  type JsonStepFailure,
  type JsonStepResult,
  type JsonTranscriptResult,
  toJsonReport,
} from './json.js';
export { escapeXml, formatJunit, type JunitOptions } from './junit.js';
export { formatPretty, formatSummary, formatTranscriptResult, type PrettyOptions } from './pretty.js';
export { REPORTER_NAMES, REPORTERS, type ReporterEntry, type ReporterName } from './registry.js';
export { escapeBytes, renderExpectLine, renderReceivedLine } from './render.js';
export { diffReply, formatReceived, type ReceivedOptions, type ReplyDiffOptions } from './reply-diff.js';
export type * from './reporter.js';
export { createVerbose, type VerboseOptions, type VerbosePrinter } from './verbose.js';
