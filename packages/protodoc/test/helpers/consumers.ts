/**
 * The real readers of each report format, for the tests to check protodoc's reports with: xmllint with
 * the Jenkins xUnit plugin's junit-10.xsd for JUnit, tap-parser for TAP, ajv with the package's own
 * report.schema.json for JSON, and GitHub's runner's parsing of workflow commands for annotations.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Parser, type Result } from 'tap-parser';

// --- JUnit ---------------------------------------------------------------------------------------

const XSD = fileURLToPath(new URL('../fixtures/junit-10.xsd', import.meta.url));
let schemas: { strict: string; withFileAndLine: string } | undefined;

/**
 * The vendored junit-10.xsd, and the same schema with `file` and `line` declared on `<testcase>` (the
 * two attributes protodoc writes beyond it, for GitLab's and GitHub's readers); nothing else differs.
 */
export function junitSchemas(): { strict: string; withFileAndLine: string } {
  if (schemas !== undefined) return schemas;
  const dir = mkdtempSync(join(tmpdir(), 'protodoc-xsd-'));
  const xsd = readFileSync(XSD, 'utf8');
  const classname = '<xs:attribute name="classname" type="xs:string"/>';
  if (xsd.split(classname).length !== 2) throw new Error('junit-10.xsd: no single classname attribute');
  const extended = xsd.replace(
    classname,
    `${classname}\n            <xs:attribute name="file" type="xs:string"/>\n            <xs:attribute name="line" type="xs:positiveInteger"/>`,
  );
  const withFileAndLine = join(dir, 'junit-10-file-line.xsd');
  writeFileSync(withFileAndLine, extended);
  schemas = { strict: XSD, withFileAndLine };
  return schemas;
}

/** `xmllint --noout --schema XSD -` on `xml`: whether it is valid, and xmllint's complaints. */
export function xmllint(xml: string, xsd: string): Promise<{ valid: boolean; errors: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('xmllint', ['--noout', '--schema', xsd, '-'], (error, _out, err) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve(error === null ? { valid: true, errors: '' } : { valid: false, errors: err });
    });
    // xmllint that stops reading early (EPIPE) still says why in its exit code and messages.
    child.stdin!.on('error', () => {});
    child.stdin!.end(xml);
  });
}

/** The report without `file` and `line` on its testcases: what plain junit-10.xsd readers see. */
export function withoutFileAndLine(xml: string): string {
  return xml.replace(/<testcase [^>]*>/g, (tag) => tag.replace(/ (file|line)="[^"]*"/g, ''));
}

// --- TAP -----------------------------------------------------------------------------------------

/** A test point as tap-parser reads it, with the subtest's points under it. */
export interface TapPoint {
  ok: boolean;
  id: number;
  name: string;
  skip: boolean | string;
  diag: Record<string, unknown> | null;
  subtest: TapPoint[];
}

export interface TapReading {
  ok: boolean;
  version: number | undefined;
  plan: { start: number; end: number } | undefined;
  points: TapPoint[];
  bailout: string | false;
  comments: string[];
  /** What the parser took for something other than TAP, and the spec violations it found. */
  extra: string[];
  tapErrors: unknown[];
}

function point(result: Result, subtest: TapPoint[]): TapPoint {
  return {
    ok: result.ok,
    id: result.id,
    name: result.name,
    skip: result.skip,
    diag: result.diag as Record<string, unknown> | null,
    subtest,
  };
}

/** Reads `text` with tap-parser (TAP 14), as `tap` and `node --test`'s readers do. */
export function readTap(text: string): Promise<TapReading> {
  return new Promise((resolve) => {
    const reading: TapReading = {
      ok: false,
      version: undefined,
      plan: undefined,
      points: [],
      bailout: false,
      comments: [],
      extra: [],
      tapErrors: [],
    };
    const parser = new Parser((results) => {
      reading.ok = results.ok;
      reading.bailout = results.bailout === true ? '' : results.bailout;
      reading.tapErrors = results.failures.filter((f) => 'tapError' in f && f.tapError);
      resolve(reading);
    });
    let subtest: TapPoint[] = [];
    parser.on('version', (version: number) => {
      reading.version = version;
    });
    parser.on('plan', (plan: { start: number; end: number }) => {
      reading.plan = { start: plan.start, end: plan.end };
    });
    parser.on('comment', (comment: string) => reading.comments.push(comment));
    parser.on('extra', (extra: string) => reading.extra.push(extra));
    parser.on('child', (child: Parser) => {
      subtest = [];
      const mine = subtest;
      child.on('assert', (result: Result) => mine.push(point(result, [])));
      child.on('extra', (extra: string) => reading.extra.push(extra));
    });
    parser.on('assert', (result: Result) => {
      reading.points.push(point(result, subtest));
      subtest = [];
    });
    parser.end(text);
  });
}

// --- JSON ----------------------------------------------------------------------------------------

const SCHEMA = fileURLToPath(new URL('../../report.schema.json', import.meta.url));
let validateReport: ReturnType<Ajv2020['compile']> | undefined;

/** ajv's complaints about `report` against report.schema.json (draft 2020-12); `[]` when it is valid. */
export function jsonReportErrors(report: unknown): string[] {
  validateReport ??= new Ajv2020({ strict: true, allErrors: true }).compile(
    JSON.parse(readFileSync(SCHEMA, 'utf8')),
  );
  if (validateReport(report)) return [];
  return (validateReport.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
  );
}

// --- GitHub workflow commands ------------------------------------------------------------------------

/** A workflow command as GitHub's runner reads it. */
export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  data: string;
}

/**
 * The annotation commands and their properties, as documented
 * (https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions):
 * `::error file={name},line={line},endLine={endLine},title={title}::{message}`, and `col`, `endColumn`.
 */
export const ANNOTATION_COMMANDS = ['error', 'warning', 'notice'];
export const ANNOTATION_PROPERTIES = ['title', 'file', 'col', 'endColumn', 'line', 'endLine'];

function unescapeWith(text: string, mappings: [string, string][]): string {
  let out = text;
  for (const [token, replacement] of mappings) out = out.replaceAll(replacement, token);
  return out;
}
const DATA: [string, string][] = [
  ['\r', '%0D'],
  ['\n', '%0A'],
  ['%', '%25'],
];
const PROPERTY: [string, string][] = [
  ['\r', '%0D'],
  ['\n', '%0A'],
  [':', '%3A'],
  [',', '%2C'],
  ['%', '%25'],
];

/**
 * One line as the runner reads it (actions/runner `ActionCommand.TryParseV2`): `::`, the command and
 * its `key=value` properties up to the next `::`, then the data; `undefined` for any other line.
 */
export function parseWorkflowCommand(line: string): WorkflowCommand | undefined {
  const message = line.trimStart();
  if (!message.startsWith('::')) return undefined;
  const end = message.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(' ');
  const command = space < 0 ? info : info.slice(0, space);
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .trim()
      .split(',')
      .filter((p) => p !== '')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && eq < pair.length - 1)
        properties[pair.slice(0, eq)] = unescapeWith(pair.slice(eq + 1), PROPERTY);
    }
  }
  return { command, properties, data: unescapeWith(message.slice(end + 2), DATA) };
}

/**
 * The annotations in `text` (each line that starts a command), each checked against the documented
 * syntax: a known command, known properties only, `line`/`col` positive integers. Throws on a line
 * that breaks it.
 */
export function readAnnotations(text: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  for (const line of text.split('\n')) {
    const command = parseWorkflowCommand(line);
    if (command === undefined) {
      // A command anywhere but at the start of its line is lost: the runner would not see it.
      if (/::(error|warning|notice)[ :]/.test(line))
        throw new Error(`a command not at the start of its line: ${line}`);
      continue;
    }
    if (!ANNOTATION_COMMANDS.includes(command.command)) throw new Error(`not an annotation: ${line}`);
    for (const [key, value] of Object.entries(command.properties)) {
      if (!ANNOTATION_PROPERTIES.includes(key)) throw new Error(`unknown property ${key}: ${line}`);
      if (/^(line|endLine|col|endColumn)$/.test(key) && !/^[1-9]\d*$/.test(value)) {
        throw new Error(`${key} is not a line or column number: ${line}`);
      }
    }
    commands.push(command);
  }
  return commands;
}
