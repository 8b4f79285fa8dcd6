/**
 * Captures and variables against real servers: values a reply gives (beanstalkd job ids, memcached
 * cas tokens, an nginx redirect) used in later steps, on any connection; substituted values taken
 * literally; secrets never in a report; an unknown variable stopping everything before a byte is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiles } from '../src/check.js';
import { TranscriptParseError } from '../src/errors.js';
import { formatJson } from '../src/reporters/json.js';
import { formatPretty } from '../src/reporters/pretty.js';
import { createVerbose } from '../src/reporters/verbose.js';
import { Variables } from '../src/variables.js';
import { ROOT } from './build-cli.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import {
  type LaunchedServer,
  type NginxServer,
  type RedisServer,
  startBeanstalkd,
  startMemcached,
  startNginx,
  startRedis,
} from './helpers/servers.js';
import { startTestServer } from './helpers/tcp-servers.js';

let beanstalkd: LaunchedServer;
let memcached: LaunchedServer;
let redis: RedisServer;
let nginx: NginxServer;

beforeAll(async () => {
  [beanstalkd, memcached, redis, nginx] = await Promise.all([
    startBeanstalkd(),
    startMemcached(),
    startRedis(),
    startNginx({
      files: { 'new.txt': 'moved here\n' },
      serverConfig: 'location = /old { return 302 /new.txt; }',
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([beanstalkd?.stop(), memcached?.stop(), redis?.stop(), nginx?.stop()]);
});

describe('the examples use what the server gives, not what a fresh server happens to give', () => {
  // Run twice against one server: the second run gets other job ids and cas tokens.
  it.each([
    ['beanstalkd.txt', () => beanstalkd],
    ['memcached.txt', () => memcached],
  ])('%s passes twice in a row against the same server', async (name, server) => {
    const path = `${ROOT}examples/protodoc/${name}`;
    for (let i = 0; i < 2; i++) {
      const { outcome, summary } = await checkFiles([path], { connect: server().target });
      expect(summary.results[0]!.steps.filter((s) => s.status !== 'passed')).toEqual([]);
      expect(outcome).toBe('passed');
    }
  });
});

describe('captures', () => {
  it('carry a job id from the producer connection to the worker connection', async () => {
    const result = await run(
      `>>>@producer
>>> use captures
USING captures
>>> put 0 0 60 2
>>> hi
>>>~ INSERTED (?<job>\\d+)
>>>@worker
>>> watch captures
WATCHING 2
>>> reserve
>>>$ RESERVED {{job}} 2
hi
>>>(vars) delete {{job}}
DELETED
`,
      { target: beanstalkd.target },
    );
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
  });

  it('fail the step that uses a captured value the server no longer accepts, showing the value', async () => {
    const result = await run(
      `>>> set k 0 0 1
>>> a
STORED
>>> gets k
>>>$ VALUE k 0 1 {{cas=...}}
a
END
>>> set k 0 0 1
>>> b
STORED
>>>(vars) cas k 0 0 1 {{cas}}
>>> c
STORED
`,
      { target: memcached.target },
    );
    const step = failedStep(result);
    expect(step.line).toBe(11);
    expect(text(step.failure.received)).toBe('EXISTS\r\n');
    const cas = step.failure.variables?.[0];
    expect(cas).toMatchObject({ name: 'cas', secret: false, origin: 'capture', where: 'line 5' });
    expect(cas?.value).toMatch(/^\d+$/);
    const report = await formatPretty({ ...emptySummary(), results: [result] });
    expect(report).toContain(`{{cas}} = ${cas?.value} (captured at line 5)\n`);
  });

  it('win over a variable given by value, from the step after them on', async () => {
    const result = await run(
      `>>>(vars) ECHO {{id}}
$5
given
>>> ECHO 42
$2
>>>~ (?<id>\\d+)
>>>(vars) ECHO {{id}}
$2
42
`,
      { target: redis.target, variables: Variables.of({ id: 'given' }) },
    );
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed']);
  });

  // The same transcript over raw TCP and through undici.
  it.each(['', 'http://'])('take a redirect from nginx and follow it (%s)', async (scheme) => {
    const result = await run(
      `>>> GET /old HTTP/1.1
>>> Host: localhost
>>>
HTTP/1.1 302 Moved Temporarily
...
>>>~ Location: https?://[^/]+(?<path>/.*)
...

...
>>>(vars) GET {{path}} HTTP/1.1
>>> Host: localhost
>>> Connection: close
>>>
HTTP/1.1 200 OK
...

moved here
`,
      { target: `${scheme}${nginx.target}` },
    );
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });
});

describe('substituted values are literal', () => {
  it('in a >>>~(vars) line: a value with regex syntax matches only itself', async () => {
    const transcript = '>>> ECHO abc\n$3\n>>>~(vars) {{v}}\n';
    expect(
      (await run(transcript, { target: redis.target, variables: Variables.of({ v: 'a.c' }) })).status,
    ).toBe('failed');
    expect(
      (await run(transcript, { target: redis.target, variables: Variables.of({ v: 'abc' }) })).status,
    ).toBe('passed');
    const dots = await run('>>> ECHO a.c+\n$4\n>>>~(vars) ({{v}})\n', {
      target: redis.target,
      variables: Variables.of({ v: 'a.c+' }),
    });
    expect(dots.status).toBe('passed');
  });

  it('in a >>>$ line and a send: `...` in a value is three dots, not any text', async () => {
    const transcript = '>>> ECHO abcdef\n$6\n>>>$ {{v}}\n';
    const glob = await run(transcript, { target: redis.target, variables: Variables.of({ v: 'ab...ef' }) });
    expect(glob.status).toBe('failed');
    const sent = await run('>>>(vars) ECHO {{v}}\n$7\n>>>$ {{v}}\n', {
      target: redis.target,
      variables: Variables.of({ v: 'ab...ef' }),
    });
    expect(sent.status).toBe('passed');
  });
});

describe('secrets', () => {
  it('show as {{name}} in the failure, the JSON report and -v, also where the server echoes them', async () => {
    const variables = Variables.of({ token: 's3cr3t-tok' }, ['token']);
    const trace: string[] = [];
    const verbose = createVerbose((t) => trace.push(t), { redact: (b) => variables.redact(b) });
    const result = await run(
      '>>>(vars) ECHO {{token}}\n$10\n>>>$ wrong-{{token}}\n',
      { target: redis.target, variables, trace: verbose.trace },
      'secret.txt',
    );
    const step = failedStep(result);
    expect(text(step.failure.received)).toBe('$10\r\n{{token}}\r\n');
    expect(step.failure.variables).toEqual([{ name: 'token', secret: true, origin: 'var' }]);
    const summary = { ...emptySummary(), results: [result] };
    const pretty = await formatPretty(summary);
    const json = await formatJson(summary);
    for (const out of [pretty, json, trace.join('')]) {
      expect(out).toContain('{{token}}');
      expect(out).not.toContain('s3cr3t');
    }
    expect(pretty).toContain('->>>$ wrong-{{token}}\n+{{token}}\n');
    expect(pretty).toContain('{{token}} is secret (--secret)\n');
  });

  it('captured from a reply are hidden in every later report', async () => {
    const variables = Variables.of({}, ['session']);
    const result = await run(
      '>>> ECHO sess-0042\n$9\n>>>$ {{session=...}}\n>>> ECHO sess-0042\n$9\nother\n',
      {
        target: redis.target,
        variables,
      },
    );
    expect(text(failedStep(result).failure.received)).toBe('$9\r\n{{session}}\r\n');
  });
});

describe('an unknown variable', () => {
  it('stops the transcript before anything is sent, at its line', async () => {
    const server = await startTestServer((socket) => socket.end());
    try {
      const result = await run('>>> PING\n+PONG\n>>>(vars) GET {{missing}}\n$-1\n', {
        target: server.target,
      });
      expect(result.status).toBe('error');
      expect(result.error?.code).toBe('PROTODOC_ERR_SYNTAX');
      expect(result.error?.message).toMatch(/^test\.txt:3:15: unknown variable 'missing'/);
      expect(server.accepted).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('stops checkFiles before any file runs', async () => {
    const err = await checkFiles([`${ROOT}tests/protodoc/tests_error_parser/unknown_variable.txt`], {
      connect: redis.target,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TranscriptParseError);
    expect((err as TranscriptParseError).errors.map((e) => [e.line, e.column])).toEqual([
      [6, 22],
      [8, 23],
      [9, 13],
    ]);
  });
});

function emptySummary() {
  return {
    files: 1,
    transcripts: 1,
    steps: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    errors: 0,
    flaky: 0,
    durationMs: 0,
  };
}
