/**
 * The one list of report formats. `--reporter NAME`, the help, the README's table of reporters (kept
 * equal to this by a test) and the JUnit/JSON aliases all read it; adding a format is its module plus
 * one line here. Each module is loaded only when its format is asked for, so a plain run loads none of
 * the others.
 */
import type { ReporterFactory } from './reporter.js';

/** A registered format: what the help says of it, and how to load its module. */
export interface ReporterEntry {
  /** One line, for the help and the README. */
  description: string;
  load: () => Promise<{ createReporter: ReporterFactory }>;
}

/** Every format, by the name `--reporter` takes. */
export const REPORTERS = {
  pretty: {
    description: 'PASS/FAIL per file, a diff per failing step, a summary (live progress on a terminal)',
    load: () => import('./pretty.js'),
  },
  dot: {
    description: 'one character per transcript, then the failures and the summary',
    load: () => import('./dot.js'),
  },
  json: { description: 'one JSON document, versioned (report.schema.json)', load: () => import('./json.js') },
  junit: {
    description: 'JUnit XML: a <testsuite> per transcript, a <testcase> per step',
    load: () => import('./junit.js'),
  },
  tap: {
    description: 'TAP version 14: a test point per transcript, a subtest per step',
    load: () => import('./tap.js'),
  },
  github: {
    description: 'GitHub Actions ::error annotations at each failing line',
    load: () => import('./github.js'),
  },
} as const satisfies Record<string, ReporterEntry>;

/** A name from {@link REPORTERS}. */
export type ReporterName = keyof typeof REPORTERS;

/** The names `--reporter` accepts, in the order of {@link REPORTERS}. */
export const REPORTER_NAMES = Object.keys(REPORTERS) as ReporterName[];
