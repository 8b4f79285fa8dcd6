/**
 * `protodoc.config.yaml`: the options of `protodoc check` a project writes down once (target, server,
 * scope, timeouts, reporters, variables, serial groups). Read from the current directory, or from
 * `--config FILE`; paths in it are relative to its own directory; flags on the command line win. Each
 * key is the flag's name without `--`. A mistake (not YAML, an unknown key, a bad value) is one
 * {@link ConfigError} at `FILE:LINE:COL`.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Node, YAMLMap } from 'yaml';
import type { CheckOptions } from './check.js';
import { durationMs } from './duration.js';
import { ConfigError, UsageError } from './errors.js';
import type { TranscriptPath } from './files.js';
import type { SerialRule } from './run-plan.js';
import { SERVER_SCOPES, type ServerScope } from './server-scope.js';
import { VARIABLE_NAME } from './template.js';

/** The file looked for in the current directory when no `--config` is given. */
export const CONFIG_FILE_NAME = 'protodoc.config.yaml';

/** A value with the place it was written, for the errors found later (a reporter's file, a variable). */
export interface Located<T> {
  value: T;
  /** `FILE:LINE:COL`. */
  where: string;
}

/** What a config file says, checked; every path is absolute. */
export interface ProtodocConfig {
  /** The file read (as found or given). */
  file: string;
  /** Its directory, absolute: what its paths are relative to, and where its `server` runs. */
  dir: string;
  connect?: string;
  cacert?: string;
  insecure?: boolean;
  server?: string;
  serverScope?: ServerScope;
  serverTimeoutMs?: number;
  timeoutMs?: number;
  settleMs?: number;
  jobs?: number | 'auto';
  retries?: number;
  bail?: boolean;
  /** `NAME` or `NAME=FILE` each, as `--reporter` takes them; FILE made absolute. */
  reporters?: Located<{ name: string; file?: string }>[];
  /** `variables:`: NAME → VALUE, in file order. */
  variables?: Located<{ name: string; value: string }>[];
  varsFiles?: string[];
  /** Names marked secret (their values come from `--secret`, a vars file or `PROTODOC_VAR_<NAME>`). */
  secrets?: string[];
  serial?: SerialRule[];
  /**
   * `files:`: the transcripts to check when the command line names none, each a path (a file or a
   * directory, as on the command line) or a glob pattern, relative to {@link dir}, as written.
   */
  files?: Located<string>[];
}

/** The keys, in the order the docs list them. */
export const CONFIG_KEYS = [
  'files',
  'connect',
  'cacert',
  'insecure',
  'server',
  'server-scope',
  'server-timeout',
  'timeout',
  'settle',
  'jobs',
  'retries',
  'bail',
  'reporters',
  'variables',
  'vars-files',
  'secrets',
  'serial',
] as const;

/**
 * The config to use: `--config FILE` (which must exist), else `protodoc.config.yaml` in `cwd` if there
 * is one, else none.
 * @throws UsageError when `explicit` cannot be read
 * @throws ConfigError when the file is not a valid config
 */
export async function loadConfig(
  explicit: string | undefined,
  cwd: string = process.cwd(),
): Promise<ProtodocConfig | undefined> {
  const file = explicit ?? join(cwd, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (explicit === undefined && code === 'ENOENT') return undefined;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    if (explicit !== undefined) throw new UsageError(`--config ${explicit}: ${why}`);
    throw new ConfigError(CONFIG_FILE_NAME, `cannot read it: ${why}`);
  }
  // Named as the user would: what they typed, or the name in the current directory.
  return parseConfig(text, explicit ?? CONFIG_FILE_NAME, dirname(resolve(cwd, file)));
}

/**
 * Parses a config file's text. `file` names it in errors; `dir` is what its paths are relative to.
 * @throws ConfigError
 */
export async function parseConfig(text: string, file: string, dir: string): Promise<ProtodocConfig> {
  // Loaded only when there is a config: most runs have none, and yaml is the largest module we use.
  return parseConfigWith(await import('yaml'), text, file, dir);
}

function parseConfigWith(
  yaml: typeof import('yaml'),
  text: string,
  file: string,
  dir: string,
): ProtodocConfig {
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yaml;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; col: number } => lines.linePos(offset);
  const fail = (node: Node | null | undefined, reason: string): never => {
    const pos = node?.range ? at(node.range[0]) : undefined;
    throw new ConfigError(pos === undefined ? file : `${file}:${pos.line}:${pos.col}`, reason);
  };
  const where = (node: Node | null | undefined): string => {
    if (!node?.range) return file;
    const pos = at(node.range[0]);
    return `${file}:${pos.line}:${pos.col}`;
  };

  const problem = doc.errors[0];
  if (problem !== undefined) {
    const pos = at(problem.pos[0]);
    const message = problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${file}:${pos.line}:${pos.col}`, `invalid YAML: ${message}`);
  }
  const config: ProtodocConfig = { file, dir };
  const root = doc.contents;
  // An empty file is an empty config.
  if (root === null || (isScalar(root) && root.value === null)) return config;
  if (!isMap(root)) fail(root, `expected a mapping of keys (${CONFIG_KEYS.join(', ')})`);
  const path = (value: string): string => resolve(dir, value);
  const variableNodes = new Map<string, Node | null>();
  /** The item of a list node whose value is `value` (or the node itself), for an error's position. */
  const nodeAt = (node: Node | null, value: string): Node | null => {
    if (!isSeq(node)) return node;
    return (node.items as Node[]).find((item) => isScalar(item) && item.value === value) ?? node;
  };

  for (const pair of (root as YAMLMap).items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const node = pair.value as Node | null;
    const what = `'${key}'`;
    const string = (): string => {
      if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
        fail(node ?? keyNode, `${what} must be a non-empty string`);
      }
      return (node as { value: string }).value;
    };
    const bool = (): boolean => {
      if (!isScalar(node) || typeof node.value !== 'boolean')
        fail(node ?? keyNode, `${what} must be true or false`);
      return (node as { value: boolean }).value;
    };
    const duration = (): number => {
      const text = isScalar(node) ? node.value : undefined;
      const ms = typeof text === 'string' ? durationMs(text) : undefined;
      if (ms === undefined || ms <= 0) {
        fail(node ?? keyNode, `${what} must be a duration with a unit (ms, s, m, h), e.g. 5s`);
      }
      return ms!;
    };
    const wholeNumber = (min: number, or = ''): number => {
      const value = isScalar(node) ? node.value : undefined;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
        fail(node ?? keyNode, `${what} must be a whole number of at least ${min}${or}`);
      }
      return value as number;
    };
    /** A list of strings, or one string. */
    const strings = (): Located<string>[] => {
      const items = isSeq(node) ? (node.items as Node[]) : [node];
      return items.map((item) => {
        if (!isScalar(item) || typeof item.value !== 'string' || item.value === '') {
          fail(item ?? node ?? keyNode, `${what} must be a string or a list of strings`);
        }
        return { value: (item as { value: string }).value, where: where(item) };
      });
    };

    switch (key) {
      case 'files':
        if (isSeq(node) && node.items.length === 0)
          fail(node, `${what} must list at least one path or pattern`);
        config.files = strings();
        break;
      case 'connect':
        config.connect = string();
        break;
      case 'cacert':
        config.cacert = path(string());
        break;
      case 'insecure':
        config.insecure = bool();
        break;
      case 'server':
        config.server = string();
        break;
      case 'server-scope': {
        const scope = isScalar(node) ? node.value : undefined;
        if (!SERVER_SCOPES.includes(scope as ServerScope)) {
          fail(node ?? keyNode, `${what} must be one of ${SERVER_SCOPES.join(', ')}`);
        }
        config.serverScope = scope as ServerScope;
        break;
      }
      case 'server-timeout':
        config.serverTimeoutMs = duration();
        break;
      case 'timeout':
        config.timeoutMs = duration();
        break;
      case 'settle':
        config.settleMs = duration();
        break;
      case 'jobs':
        config.jobs = isScalar(node) && node.value === 'auto' ? 'auto' : wholeNumber(1, ', or auto');
        break;
      case 'retries':
        config.retries = wholeNumber(0);
        break;
      case 'bail':
        config.bail = bool();
        break;
      case 'reporters':
        config.reporters = strings().map(({ value, where: at }) => {
          const eq = value.indexOf('=');
          const name = eq < 0 ? value : value.slice(0, eq);
          const target = eq < 0 ? undefined : value.slice(eq + 1);
          if (target === '') fail(nodeAt(node, value), `reporter '${value}': expected NAME or NAME=FILE`);
          return { value: target === undefined ? { name } : { name, file: path(target) }, where: at };
        });
        break;
      case 'variables': {
        if (!isMap(node)) fail(node ?? keyNode, `${what} must be a mapping of NAME: VALUE`);
        config.variables = (node as YAMLMap).items.map((entry) => {
          const nameNode = entry.key as Node | null;
          const name = isScalar(nameNode) ? String(nameNode.value) : '';
          if (!VARIABLE_NAME.test(name)) {
            fail(
              nameNode,
              `invalid variable name '${name}': use letters, digits and '_', not starting with a digit`,
            );
          }
          const valueNode = entry.value as Node | null;
          const value = isScalar(valueNode) ? valueNode.value : undefined;
          if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
            fail(valueNode ?? nameNode, `variable '${name}' must have a string or number value`);
          }
          variableNodes.set(name, nameNode);
          return { value: { name, value: String(value) }, where: where(nameNode) };
        });
        break;
      }
      case 'vars-files':
        config.varsFiles = strings().map(({ value }) => path(value));
        break;
      case 'secrets':
        config.secrets = strings().map(({ value }) => {
          if (!VARIABLE_NAME.test(value))
            fail(nodeAt(node, value), `invalid variable name '${value}' in 'secrets'`);
          return value;
        });
        break;
      case 'serial': {
        if (!isMap(node)) fail(node ?? keyNode, `${what} must be a mapping of GROUP: [paths]`);
        config.serial = (node as YAMLMap).items.flatMap((entry) => {
          const nameNode = entry.key as Node | null;
          const name = isScalar(nameNode) ? String(nameNode.value) : '';
          if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
            fail(nameNode, `invalid serial group name '${name}': use letters, digits, '.', '-' and '_'`);
          }
          const paths = entry.value as Node | null;
          const items = isSeq(paths) ? (paths.items as Node[]) : [paths];
          return items.map((item): SerialRule => {
            if (!isScalar(item) || typeof item.value !== 'string' || item.value === '') {
              fail(item ?? nameNode, `serial group '${name}' must list paths (files or directories)`);
            }
            return { name, path: path((item as { value: string }).value), where: where(item) };
          });
        });
        break;
      }
      default:
        fail(keyNode, `unknown key '${key}' (known: ${CONFIG_KEYS.join(', ')})`);
    }
  }
  // A secret's value is for the command line or the environment, never a file that is committed.
  for (const [name, node] of variableNodes) {
    if (!config.secrets?.includes(name)) continue;
    fail(
      node,
      `variable '${name}' is secret: its value does not belong in the config file ` +
        `(give it with --secret ${name}=VALUE or PROTODOC_VAR_${name})`,
    );
  }
  return config;
}

/**
 * The transcripts a config's `files:` names, for a run whose command line names none: each path as on
 * the command line (a file, or a directory to search), each glob pattern as the files it matches
 * (sorted; hidden files and `node_modules` left out, as a directory search leaves them out), in the
 * order written. Paths come out relative to `cwd`, as the user would have typed them there (reports
 * and `--shard` use them). A file a pattern found is not named by the user: a Markdown file of docs
 * without a protodoc block is skipped, as in a directory.
 * @throws ConfigError at the entry's `FILE:LINE:COL` for a path that does not exist or a pattern that
 *   matches no file
 */
export async function configTranscriptFiles(
  config: ProtodocConfig,
  cwd: string = process.cwd(),
): Promise<TranscriptPath[]> {
  const { glob, isDynamicPattern } = await import('tinyglobby');
  const shown = (absolute: string): string => relative(cwd, absolute) || '.';
  const found: TranscriptPath[] = [];
  for (const { value, where } of config.files ?? []) {
    if (!isDynamicPattern(value)) {
      const absolute = resolve(config.dir, value);
      const exists = await stat(absolute).then(
        () => true,
        () => false,
      );
      if (!exists) throw new ConfigError(where, `'files': ${value}: no such file or directory`);
      found.push(shown(absolute));
      continue;
    }
    const matches = await glob(value, {
      cwd: config.dir,
      absolute: true,
      onlyFiles: true,
      expandDirectories: false,
      ignore: ['**/node_modules/**'],
    });
    if (matches.length === 0) throw new ConfigError(where, `'files': the pattern ${value} matches no file`);
    // By code unit, as a directory search sorts, so the order does not depend on the locale.
    for (const match of matches.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      found.push({ path: shown(match), explicit: false });
    }
  }
  return found;
}

/**
 * The options of `checkFiles` a config gives (all but reporters and variables, which the CLI reads).
 * Its `server` runs in the config file's directory, as its paths are relative to it.
 */
export function checkOptionsFromConfig(config: ProtodocConfig | undefined): CheckOptions {
  const options: CheckOptions = {};
  if (config === undefined) return options;
  if (config.connect !== undefined) options.connect = config.connect;
  if (config.cacert !== undefined) options.cacert = config.cacert;
  if (config.insecure !== undefined) options.insecure = config.insecure;
  if (config.server !== undefined) {
    options.server = config.server;
    options.serverCwd = config.dir;
  }
  if (config.serverScope !== undefined) options.serverScope = config.serverScope;
  if (config.serverTimeoutMs !== undefined) options.serverStartTimeoutMs = config.serverTimeoutMs;
  if (config.timeoutMs !== undefined) options.timeoutMs = config.timeoutMs;
  if (config.settleMs !== undefined) options.settleMs = config.settleMs;
  if (config.jobs !== undefined) options.jobs = config.jobs;
  if (config.retries !== undefined) options.retries = config.retries;
  if (config.bail !== undefined) options.bail = config.bail;
  if (config.serial !== undefined) options.serialGroups = config.serial;
  return options;
}
