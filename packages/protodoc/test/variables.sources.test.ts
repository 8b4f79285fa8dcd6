/** Where variables come from, which wins, secrets, and the check that every use has a value. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProtodocError } from '../src/errors.js';
import { parseTranscript } from '../src/transcript.js';
import { loadVariables, undefinedVariables, Variables } from '../src/variables.js';

const dir = mkdtempSync(join(tmpdir(), 'protodoc-vars-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const value = (vars: Variables, name: string): string | undefined => vars.get(name)?.value.toString();

async function usage(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtodocError);
  expect((err as ProtodocError).code).toBe('PROTODOC_ERR_USAGE');
  return (err as Error).message;
}

describe('loadVariables', () => {
  it('reads only PROTODOC_VAR_<NAME> from the environment, never other variables', async () => {
    const vars = await loadVariables({
      env: { PROTODOC_VAR_user: 'alice', GITHUB_TOKEN: 'ghp_x', HOME: '/root', PROTODOC_VAR_: 'x' },
    });
    expect(value(vars, 'user')).toBe('alice');
    expect(vars.has('GITHUB_TOKEN')).toBe(false);
    expect(vars.has('HOME')).toBe(false);
    expect(vars.get('user')).toMatchObject({ origin: 'env', where: 'PROTODOC_VAR_user' });
  });

  it('ranks --var over a vars file over the environment, and a later file over an earlier one', async () => {
    const a = file('a.env', '# comment\n\nx=file-a\ny=file-a\nz=file-a\r\n');
    const b = file('b.env', 'y=file-b\nspaces= kept as is \n');
    const vars = await loadVariables({
      env: { PROTODOC_VAR_x: 'env', PROTODOC_VAR_w: 'env' },
      varsFiles: [a, b],
      vars: ['x=var', 'eq=a=b'],
    });
    expect(value(vars, 'x')).toBe('var');
    expect(value(vars, 'y')).toBe('file-b');
    expect(value(vars, 'z')).toBe('file-a');
    expect(value(vars, 'w')).toBe('env');
    expect(value(vars, 'spaces')).toBe(' kept as is ');
    expect(value(vars, 'eq')).toBe('a=b');
    expect(vars.get('z')).toMatchObject({ origin: 'vars-file', where: `${a}:5` });
  });

  it('sets a secret with --secret NAME=VALUE and marks any variable secret with --secret NAME', async () => {
    const vars = await loadVariables({
      env: { PROTODOC_VAR_token: 'tok-123' },
      secrets: ['password=hunter2', 'token', 'later'],
    });
    expect(value(vars, 'password')).toBe('hunter2');
    expect(vars.isSecret('password')).toBe(true);
    expect(vars.isSecret('token')).toBe(true);
    expect(vars.isSecret('later')).toBe(true);
    expect(Buffer.from(vars.redact(Buffer.from('pw hunter2 tok-123 hunter2'))).toString()).toBe(
      'pw {{password}} {{token}} {{password}}',
    );
  });

  it('refuses malformed assignments and unreadable files, naming them', async () => {
    expect(await usage(loadVariables({ vars: ['novalue'] }))).toBe("--var 'novalue': expected NAME=VALUE");
    expect(await usage(loadVariables({ vars: ['1x=a'] }))).toMatch(
      /^--var '1x=a': invalid variable name '1x'/,
    );
    const bad = file('bad.env', 'ok=1\nnot an assignment\n');
    expect(await usage(loadVariables({ varsFiles: [bad] }))).toBe(
      `${bad}:2: a variable 'not an assignment': expected NAME=VALUE`,
    );
    expect(await usage(loadVariables({ varsFiles: [join(dir, 'missing.env')] }))).toBe(
      `--vars-file ${join(dir, 'missing.env')}: no such file`,
    );
    expect(await usage(loadVariables({ secrets: ['a b'] }))).toBe(
      "--secret 'a b': expected NAME or NAME=VALUE",
    );
  });
});

describe('scopes and secrets', () => {
  it('ranks a capture over every other source, and port from --server over the environment', () => {
    const vars = Variables.of({ job: 'given' });
    const scope = vars.scope({ port: 6379 });
    expect(Buffer.from(scope.value('job')!).toString()).toBe('given');
    scope.capture('job', Buffer.from('7'), 3);
    expect(scope.get('job')).toMatchObject({ origin: 'capture', where: 'line 3' });
    expect(Buffer.from(scope.value('job')!).toString()).toBe('7');
    expect(Buffer.from(scope.value('port')!).toString()).toBe('6379');
    // Another transcript's scope does not see the capture.
    expect(Buffer.from(vars.scope().value('job')!).toString()).toBe('given');
  });

  it('hides a captured secret everywhere from the moment it is captured', () => {
    const vars = Variables.of({}, ['session']);
    const scope = vars.scope();
    expect(vars.hasSecrets).toBe(false);
    scope.capture('session', Buffer.from('abc123'), 5);
    expect(Buffer.from(vars.redact(Buffer.from('Cookie: s=abc123'))).toString()).toBe(
      'Cookie: s={{session}}',
    );
    expect(vars.secretSpans(Buffer.from('xabc123abc123'))).toEqual([
      { start: 1, end: 7, name: 'session' },
      { start: 7, end: 13, name: 'session' },
    ]);
  });

  it('hides the longer of two secrets whole when one holds the other', () => {
    const vars = Variables.of({ a: 'key', b: 'key-long' }, ['a', 'b']);
    expect(Buffer.from(vars.redact(Buffer.from('key-long key'))).toString()).toBe('{{b}} {{a}}');
  });
});

describe('undefinedVariables', () => {
  const check = (source: string, defined: string[] = []): string[] =>
    undefinedVariables(parseTranscript(source, 'u.txt'), (name) => defined.includes(name)).map(
      (e) => e.message,
    );

  it('accepts given variables and captures of earlier steps, on any connection', () => {
    expect(
      check('>>>(vars) a {{given}}\n>>>~ (?<id>\\d+)\n>>>@other\n>>>(vars) b {{id}}\n', ['given']),
    ).toEqual([]);
  });

  it('reports every use without a value, at its line and column', () => {
    expect(check('>>>(vars) a {{x}} {{y}}\nok\n>>> b\n>>>$ {{x}}\n')).toEqual([
      "u.txt:1:13: unknown variable 'x': give --var x=VALUE, put it in a --vars-file, set PROTODOC_VAR_x, or capture it in an earlier reply",
      "u.txt:1:19: unknown variable 'y': give --var y=VALUE, put it in a --vars-file, set PROTODOC_VAR_y, or capture it in an earlier reply",
      "u.txt:4:6: unknown variable 'x': give --var x=VALUE, put it in a --vars-file, set PROTODOC_VAR_x, or capture it in an earlier reply",
    ]);
  });

  it('says when a variable is used in the step whose reply captures it', () => {
    expect(check('>>>(vars) get {{id}}\n>>>~ id=(?<id>\\d+)\n')).toEqual([
      "u.txt:1:15: 'id' is captured by this step's reply (line 2): it has a value from the next step on",
    ]);
  });
});
