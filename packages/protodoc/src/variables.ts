/**
 * Variables (FORMAT §15): where their values come from, which one wins, which are secret, and the check
 * that every `{{name}}` has a value before anything is sent.
 *
 * Precedence, highest first: a capture (a reply of the same transcript, from the step after it on),
 * `--var NAME=VALUE` (and `--secret NAME=VALUE`), a `--vars-file`, the environment (only
 * `PROTODOC_VAR_<NAME>`, so a transcript cannot send `GITHUB_TOKEN` anywhere). `port` is the port
 * `--server` picked. A secret's value never shows: reports, `-v` and the files `--update` writes show
 * `{{name}}` in its place ({@link Variables.redact}).
 */
import { readFile } from 'node:fs/promises';
import { TranscriptSyntaxError, UsageError } from './errors.js';
import { formatEscaped } from './escapes.js';
import { type SecretSpan, VARIABLE_NAME, type VariableLookup } from './template.js';
import type { Transcript } from './transcript-model.js';

/** The environment variables protodoc reads values from: `PROTODOC_VAR_<NAME>`. */
export const ENV_PREFIX = 'PROTODOC_VAR_';

/** Where a variable's value came from. */
export type VariableOrigin = 'capture' | 'var' | 'vars-file' | 'env' | 'server' | 'config';

/** A variable's value and where it came from (`where`: the vars file's `PATH:LINE`, or a capture's line). */
export interface VariableValue {
  value: Buffer;
  origin: VariableOrigin;
  where?: string;
}

/** @internal {@link Variables} as plain data, for a worker thread. */
export interface VariablesSnapshot {
  values: [string, VariableValue][];
  secretNames: string[];
  secrets: { name: string; bytes: Uint8Array }[];
}

/** Options of {@link loadVariables}; each mirrors a flag of `protodoc check`. */
export interface VariablesOptions {
  /**
   * `--var NAME=VALUE`, in the order given (a later one wins).
   * @example ['user=alice', 'greeting=hello world']
   */
  vars?: readonly string[];
  /** `--vars-file FILE`: lines `NAME=VALUE`; empty lines and lines starting with `#` are skipped. */
  varsFiles?: readonly string[];
  /**
   * `--secret NAME=VALUE` sets a variable as `--var` does, and marks it secret; `--secret NAME` marks a
   * variable from any source secret, a capture included.
   */
  secrets?: readonly string[];
  /**
   * What a config file gives (`variables:`, `vars-files:`, `secrets:`): below everything else, the
   * environment included. `where` is the variable's `FILE:LINE`.
   */
  config?: {
    variables?: readonly { name: string; value: string; where: string }[];
    varsFiles?: readonly string[];
    secrets?: readonly string[];
  };
  /**
   * Where `PROTODOC_VAR_<NAME>` variables are read from.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
}

/** `NAME=VALUE` (the value is everything after the first `=`, spaces included). */
function assignment(text: string, what: string): [string, string] {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0) throw new UsageError(`${what} '${text}': expected NAME=VALUE`);
  if (!VARIABLE_NAME.test(name)) {
    throw new UsageError(
      `${what} '${text}': invalid variable name '${name}': use letters, digits and '_', not starting with a digit`,
    );
  }
  return [name, text.slice(eq + 1)];
}

/**
 * The variables of a run that do not come from replies, and the secrets. One per run: every transcript
 * gets its own {@link VariableScope} for captures, and secrets captured in any of them are redacted
 * everywhere.
 */
export class Variables {
  private readonly values = new Map<string, VariableValue>();
  private readonly secretNames = new Set<string>();
  /**
   * Secret values seen so far (given, or captured), longest first, each with its name; each also in the
   * notation of escapes (`shown`) when that differs from its bytes: a WebSocket line and `-v` show a
   * message so (FORMAT §14), and a value with a backslash or a control byte would show there unhidden.
   */
  private secrets: { name: string; bytes: Buffer; shown: boolean }[] = [];
  /**
   * @internal Told of every secret value added from now on (a capture): how a worker thread tells the
   * main thread, so that what it prints is redacted too.
   */
  onSecret: ((name: string, bytes: Uint8Array) => void) | undefined;

  /** @internal Everything, as plain data a worker thread can be given ({@link Variables.fromSnapshot}). */
  snapshot(): VariablesSnapshot {
    return {
      values: [...this.values],
      secretNames: [...this.secretNames],
      // The values only: the other thread's addSecret adds their notation again.
      secrets: this.secrets.filter((s) => !s.shown).map((s) => ({ name: s.name, bytes: s.bytes })),
    };
  }

  /** @internal The variables of a {@link Variables.snapshot}, in another thread. */
  static fromSnapshot(snapshot: VariablesSnapshot): Variables {
    const vars = new Variables();
    // Structured cloning turns a Buffer into a plain Uint8Array.
    for (const [name, value] of snapshot.values)
      vars.values.set(name, { ...value, value: Buffer.from(value.value) });
    for (const name of snapshot.secretNames) vars.secretNames.add(name);
    for (const { name, bytes } of snapshot.secrets) vars.addSecret(name, bytes);
    return vars;
  }

  /** The variables given by value, without files or the environment (a library caller's shortcut). */
  static of(values: Record<string, string> = {}, secret: readonly string[] = []): Variables {
    const vars = new Variables();
    for (const [name, value] of Object.entries(values)) {
      vars.set(name, { value: Buffer.from(value, 'utf8'), origin: 'var' });
    }
    for (const name of secret) vars.markSecret(name);
    return vars;
  }

  /** @internal Sets a value (the caller applies precedence by the order of its calls). */
  set(name: string, value: VariableValue): void {
    this.values.set(name, value);
    if (this.secretNames.has(name)) this.addSecret(name, value.value);
  }

  /** Marks NAME secret: its value, now or once captured, is never shown. */
  markSecret(name: string): void {
    this.secretNames.add(name);
    const known = this.values.get(name);
    if (known !== undefined) this.addSecret(name, known.value);
  }

  get(name: string): VariableValue | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  isSecret(name: string): boolean {
    return this.secretNames.has(name);
  }

  /** Whether any value must be hidden: without secrets, {@link redact} is the identity. */
  get hasSecrets(): boolean {
    return this.secrets.length > 0;
  }

  /** A scope for one transcript run: captures over these values, `port` and `dir` from `--server`. */
  scope(builtins: { port?: number; dir?: string } = {}): VariableScope {
    return new VariableScope(this, builtins);
  }

  /** @internal A secret value to hide from here on (a capture of a secret variable). */
  addSecret(name: string, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const value = Buffer.from(bytes);
    if (this.secrets.some((s) => s.name === name && !s.shown && s.bytes.equals(value))) return;
    this.secrets.push({ name, bytes: value, shown: false });
    const shown = Buffer.from(formatEscaped(value), 'utf8');
    if (!shown.equals(value)) this.secrets.push({ name, bytes: shown, shown: true });
    // Longest first, so a secret that holds another is hidden whole.
    this.secrets.sort((a, b) => b.bytes.length - a.bytes.length);
    this.onSecret?.(name, value);
  }

  /**
   * `bytes` with every secret value replaced by `{{name}}`: what reports, `-v` and `--update` show. A
   * value is hidden as its bytes and in the notation of escapes (`\\` for a backslash, `\t` for a tab,
   * ...), the form a WebSocket line shows it in (FORMAT §14, §15.6).
   * @example vars.redact(Buffer.from('token s3cr3t')) // 'token {{token}}'
   */
  redact(bytes: Uint8Array): Uint8Array {
    const spans = this.secretSpans(bytes);
    if (spans.length === 0) return bytes;
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const { start, end, name } of spans) {
      parts.push(bytes.subarray(from, start), Buffer.from(`{{${name}}}`, 'utf8'));
      from = end;
    }
    parts.push(bytes.subarray(from));
    return Buffer.concat(parts);
  }

  /**
   * Where each secret value lies in `bytes`, without overlaps, in order: how a writer (`--update`) knows
   * to write `{{name}}` for them.
   */
  secretSpans(bytes: Uint8Array): SecretSpan[] {
    if (this.secrets.length === 0) return [];
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const taken: SecretSpan[] = [];
    for (const { name, bytes: secret } of this.secrets) {
      for (let at = buf.indexOf(secret); at >= 0; at = buf.indexOf(secret, at + 1)) {
        const end = at + secret.length;
        if (!taken.some((s) => at < s.end && s.start < end)) taken.push({ start: at, end, name });
      }
    }
    return taken.sort((a, b) => a.start - b.start);
  }
}

/**
 * Loads the variables of a run: `--var` and `--secret NAME=VALUE` over `--vars-file`s (a later file over
 * an earlier one) over `PROTODOC_VAR_<NAME>` environment variables.
 * @throws UsageError (`PROTODOC_ERR_USAGE`): a malformed `NAME=VALUE`, a vars file that cannot be read
 *   (`PATH:LINE: ...` for a bad line)
 */
export async function loadVariables(options: VariablesOptions = {}): Promise<Variables> {
  const vars = new Variables();
  // A config file's first: everything the command line and the environment give wins over them.
  for (const path of options.config?.varsFiles ?? []) await readVarsFile(vars, path);
  for (const { name, value, where } of options.config?.variables ?? []) {
    vars.set(name, { value: Buffer.from(value, 'utf8'), origin: 'config', where });
  }
  const env = options.env ?? process.env;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const name = key.slice(ENV_PREFIX.length);
    if (VARIABLE_NAME.test(name))
      vars.set(name, { value: Buffer.from(value, 'utf8'), origin: 'env', where: key });
  }
  for (const path of options.varsFiles ?? []) await readVarsFile(vars, path);
  for (const text of options.vars ?? []) {
    const [name, value] = assignment(text, '--var');
    vars.set(name, { value: Buffer.from(value, 'utf8'), origin: 'var' });
  }
  for (const text of options.secrets ?? []) {
    if (text.includes('=')) {
      const [name, value] = assignment(text, '--secret');
      vars.set(name, { value: Buffer.from(value, 'utf8'), origin: 'var' });
      vars.markSecret(name);
    } else if (VARIABLE_NAME.test(text)) {
      vars.markSecret(text);
    } else {
      throw new UsageError(`--secret '${text}': expected NAME or NAME=VALUE`);
    }
  }
  for (const name of options.config?.secrets ?? []) vars.markSecret(name);
  return vars;
}

/** One `--vars-file`: `NAME=VALUE` lines, each over what `vars` had. */
async function readVarsFile(vars: Variables, path: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--vars-file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const where = `${path}:${i + 1}`;
    let name: string;
    let value: string;
    try {
      [name, value] = assignment(line, 'a variable');
    } catch (err) {
      throw new UsageError(`${where}: ${(err as Error).message}`);
    }
    vars.set(name, { value: Buffer.from(value, 'utf8'), origin: 'vars-file', where });
  }
}

/** One transcript run's variables: its captures over the run's {@link Variables}. */
export class VariableScope implements VariableLookup {
  private readonly captures = new Map<string, VariableValue>();
  private readonly base: Variables;
  private readonly port: VariableValue | undefined;
  private readonly dir: VariableValue | undefined;

  constructor(base: Variables, builtins: { port?: number; dir?: string }) {
    this.base = base;
    this.port =
      builtins.port === undefined
        ? undefined
        : { value: Buffer.from(String(builtins.port)), origin: 'server' };
    this.dir =
      builtins.dir === undefined ? undefined : { value: Buffer.from(builtins.dir), origin: 'server' };
  }

  get(name: string): VariableValue | undefined {
    return (
      this.captures.get(name) ??
      (name === 'port' ? this.port : name === 'dir' ? this.dir : undefined) ??
      this.base.get(name)
    );
  }

  value(name: string): Uint8Array | undefined {
    return this.get(name)?.value;
  }

  isSecret(name: string): boolean {
    return this.base.isSecret(name);
  }

  /** A value captured by the reply at `line`; a secret one is hidden from every report from now on. */
  capture(name: string, bytes: Uint8Array, line: number): void {
    const value = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
    this.captures.set(name, { value, origin: 'capture', where: `line ${line}` });
    if (this.base.isSecret(name)) this.base.addSecret(name, value);
  }

  /** Every secret value replaced by `{{name}}` (see {@link Variables.redact}). */
  redact(bytes: Uint8Array): Uint8Array {
    return this.base.redact(bytes);
  }

  get hasSecrets(): boolean {
    return this.base.hasSecrets;
  }

  /** Where secret values lie in `bytes` (see {@link Variables.secretSpans}). */
  secretSpans(bytes: Uint8Array): SecretSpan[] {
    return this.base.secretSpans(bytes);
  }
}

/**
 * The uses of variables in a transcript that will have no value when their step runs: a name that is
 * neither given (`isDefined`) nor captured by an earlier step. Checked before anything is sent.
 * @returns one error per such use, `PATH:LINE:COL: unknown variable ...`
 */
export function undefinedVariables(
  transcript: Transcript,
  isDefined: (name: string) => boolean,
): TranscriptSyntaxError[] {
  const errors: TranscriptSyntaxError[] = [];
  const captured = new Set<string>();
  for (const step of transcript.steps) {
    for (const use of step.uses ?? []) {
      const { name } = use;
      if (captured.has(name) || isDefined(name)) continue;
      const here = step.captures?.find((c) => c.name === name);
      const reason =
        here !== undefined
          ? `'${name}' is captured by this step's reply (line ${here.line}): it has a value from the next step on`
          : `unknown variable '${name}': give --var ${name}=VALUE, put it in a --vars-file, set ` +
            `${ENV_PREFIX}${name}, or capture it in an earlier reply`;
      errors.push(new TranscriptSyntaxError(transcript.path, use.line, use.column, reason));
    }
    for (const c of step.captures ?? []) captured.add(c.name);
  }
  return errors;
}
