/**
 * `protodoc check --jobs` as a user runs it (the real binary), against real servers: files that can
 * only pass when they run at the same time (they wait for each other through a shared redis), each
 * worker on a server of its own, output and reports in input order whatever finished first; fresh
 * servers per file; serial groups; retries and flaky files; --bail; --filter; --shard over a CI matrix;
 * protodoc.config.yaml.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildCli, type Outcome, runBin, timeless } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';
import { startWebSocketServer } from './helpers/websocket-server.js';

/** Each worker's own redis: in `{dir}`, which it reports with CONFIG GET dir. */
const REDIS = "redis-server --port {port} --bind 127.0.0.1 --save '' --dir {dir}";
const BEANSTALKD = 'beanstalkd -l 127.0.0.1 -p {port}';

let shared: RedisServer;
let dir: string;

/** The binary in `dir`, without GITHUB_ACTIONS (its annotations would join stdout). */
function protodoc(args: string[], cwd = dir): Promise<Outcome> {
  return runBin(args, cwd, { GITHUB_ACTIONS: undefined });
}

/** One command to the shared redis, its reply as text. */
function sharedRedis(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: shared.port });
    let reply = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk;
      // Enough for the small replies used here: a full RESP reply ends in CRLF and has all its lines.
      if (reply.endsWith('\r\n') && complete(reply)) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

function complete(reply: string): boolean {
  if (!reply.startsWith('*')) return true;
  const lines = reply.split('\r\n');
  return lines.length - 2 >= 2 * Number(lines[0]!.slice(1));
}

/** LRANGE key 0 -1 as a list of strings. */
async function list(key: string): Promise<string[]> {
  const reply = await sharedRedis('LRANGE', key, '0', '-1');
  return reply
    .split('\r\n')
    .slice(1, -1)
    .filter((_, i) => i % 2 === 1);
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  buildCli();
  shared = await startRedis();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'protodoc-parallel-'));
  await sharedRedis('FLUSHALL');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await shared?.stop();
});

/** Steps every file runs on its own server: `{{dir}}` is where redis runs; port and dir go to the shared list. */
const OWN_SERVER = `>>>(vars) CONFIG GET dir
*2
$3
dir
$...
>>>$ {{dir}}
>>>@shared
>>>(vars) RPUSH ports {{port}}
:...
>>>(vars) RPUSH dirs {{dir}}
:...
`;

describe('protodoc check --jobs', () => {
  it('runs files at once, each worker on its own server, and prints each file whole, in input order', async () => {
    const sharedTarget = `>>>@shared ${shared.target}\n`;
    // 1 waits for 2, which waits for 3: with fewer than three files at once, 1 and 2 time out.
    write('1-waits.txt', `${sharedTarget}>>> BLPOP go-1 20\n*2\n$4\ngo-1\n$2\nok\n>>>@main\n${OWN_SERVER}`);
    write(
      '2-releases.txt',
      `${sharedTarget}>>> BLPOP go-2 20\n*2\n$4\ngo-2\n$2\nok\n>>>@main\n${OWN_SERVER}` +
        '>>> RPUSH go-1 ok\n:1\n>>>@main\n>>> ECHO hello\n$5\nhowdy\n',
    );
    write('3-starts.txt', `${sharedTarget}>>> RPUSH go-2 ok\n:1\n>>>@main\n${OWN_SERVER}`);
    const run = await protodoc([
      'check',
      '--jobs',
      '3',
      '--server',
      REDIS,
      '--report-json',
      'report.json',
      '-v',
      '1-waits.txt',
      '2-releases.txt',
      '3-starts.txt',
    ]);
    // They finished 3, 2, 1; each file's block comes whole, in the order given.
    expect({ out: timeless(run.out), exit: run.exit }).toEqual({
      out: [
        'PASS 1-waits.txt (4 steps, TIME)',
        'FAIL 2-releases.txt (6 steps: 5 passed, 1 failed, 0 skipped, TIME)',
        '2-releases.txt:25: the reply differs from the transcript',
        '--- expected',
        '+++ received',
        '@@ -1,2 +1,2 @@',
        ' $5',
        '-howdy',
        '+hello',
        '',
        'PASS 3-starts.txt (4 steps, TIME)',
        '',
        '3 files, 14 steps: 13 passed, 1 failed, 0 skipped (TIME)',
        '',
      ].join('\n'),
      exit: 1,
    });
    // -v: each file's conversation is one stretch of stderr, the files in input order.
    const owners = run.err
      .split('\n')
      .map((line) => /\* ([1-3])-\w+\.txt/.exec(line)?.[1])
      .filter((owner) => owner !== undefined);
    // A line as each file starts and ends, and one for each of its 14 steps.
    expect(owners).toHaveLength(20);
    expect(owners.join('').replace(/(.)\1+/g, '$1')).toBe('123');
    // The JSON report lists them in input order too.
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      transcripts: { path: string; status: string }[];
    };
    expect(report.transcripts.map((t) => [t.path, t.status])).toEqual([
      ['1-waits.txt', 'passed'],
      ['2-releases.txt', 'failed'],
      ['3-starts.txt', 'passed'],
    ]);
    // Three workers, three servers: distinct ports and directories, each gone after the run.
    const ports = await list('ports');
    const dirs = await list('dirs');
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(3);
    expect(ports).not.toContain(String(shared.port));
    expect(new Set(dirs).size).toBe(3);
    for (const d of dirs) {
      expect(d.startsWith(join(tmpdir(), 'protodoc-server-'))).toBe(true);
      expect(existsSync(d)).toBe(false);
    }
  });

  it('a file that cannot be parsed stops a --jobs run before a server starts or a byte is sent', async () => {
    // The worker threads start while the files are parsed: they must end with the run, which sends nothing.
    const good = Array.from({ length: 4 }, (_, i) => `${i}-good.txt`);
    for (const name of good) write(name, `>>>@shared ${shared.target}\n>>> RPUSH ran ${name}\n:...\n`);
    write('5-bad.txt', '>>> PING\n>>>% PONG\n');
    const run = await protodoc(['check', '--jobs', '4', '--server', `touch started; ${REDIS}`, '.']);
    expect(run).toEqual({ out: '', err: "error: 5-bad.txt:2:4: unknown line type '>>>%'\n", exit: 3 });
    expect(existsSync(join(dir, 'started'))).toBe(false);
    expect(await list('ran')).toEqual([]);
  });

  it('--server-scope file starts a fresh server for every file: beanstalkd hands out job 1 each time', async () => {
    const files = ['a', 'b', 'c', 'd'].map((name) =>
      write(`${name}.txt`, '>>> use jobs\nUSING jobs\n>>> put 0 0 60 5\n>>> hello\nINSERTED 1\n'),
    );
    const fresh = await protodoc([
      'check',
      '--jobs',
      '2',
      '--server-scope',
      'file',
      '--server',
      BEANSTALKD,
      ...files,
    ]);
    expect(fresh.exit).toBe(0);
    expect(timeless(fresh.out)).toContain('4 files, 8 steps: 8 passed, 0 failed, 0 skipped (TIME)');
    // One server for the run: the second file gets job 2.
    const kept = await protodoc(['check', '--server', BEANSTALKD, ...files]);
    expect(kept.exit).toBe(1);
    expect(kept.out).toContain('+INSERTED 2');
  });

  it('runs the files of a serial group one at a time, in order, beside the other files', async () => {
    const sharedTarget = `>>>@shared ${shared.target}\n`;
    // db-1 holds "running" at 1 until free.txt, running beside it, lets it go; db-2 must not start before.
    const member = (name: string, wait: string): string =>
      `>>>! serial db\n${sharedTarget}>>> INCR running\n:1\n>>> RPUSH order ${name}-start\n:...\n${wait}` +
      `>>> DECR running\n:0\n>>> RPUSH order ${name}-end\n:...\n`;
    // db-1 says it started through a list free.txt waits on, then waits for free.txt's go.
    write('db-1.txt', member('db-1', '>>> RPUSH db-1-started x\n:1\n>>> BLPOP go 20\n*2\n$2\ngo\n$2\nok\n'));
    write('free.txt', `${sharedTarget}>>> BLPOP db-1-started 20\n*2\n...\n>>> RPUSH go ok\n:1\n`);
    write('db-2.txt', member('db-2', ''));
    const run = await protodoc(['check', '--jobs', '3', 'db-1.txt', 'free.txt', 'db-2.txt']);
    expect({ exit: run.exit, err: run.err }).toEqual({ exit: 0, err: '' });
    expect(await list('order')).toEqual(['db-1-start', 'db-1-end', 'db-2-start', 'db-2-end']);
  });

  // With --jobs 2, worker 0 runs in the main thread and worker 1 in a worker thread: the next three tests
  // hold whichever of them takes what.
  it('a file waiting behind a long one runs on a worker that has nothing left to do', async () => {
    const sharedTarget = `>>>@shared ${shared.target}\n`;
    write('0-quick.txt', '>>> PING\n+PONG\n');
    // 1 waits for 2: with 2 behind 1 on one worker, 1 times out.
    write('1-waits.txt', `${sharedTarget}>>> BLPOP go 20\n*2\n$2\ngo\n$2\nok\n`);
    write('2-releases.txt', `${sharedTarget}>>> RPUSH go ok\n:1\n`);
    const run = await protodoc(['check', '--jobs', '2', '--server', REDIS, '.']);
    expect({ out: timeless(run.out), exit: run.exit }).toEqual({
      out: [
        'PASS 0-quick.txt (1 step, TIME)',
        'PASS 1-waits.txt (1 step, TIME)',
        'PASS 2-releases.txt (1 step, TIME)',
        '',
        '3 files, 3 steps: 3 passed, 0 failed, 0 skipped (TIME)',
        '',
      ].join('\n'),
      exit: 0,
    });
  });

  it('a worker thread handed its next file while one runs still runs them one at a time, on its server', async () => {
    // Each file holds `busy` at 1 on its worker's own redis while it waits on the shared one: two files at
    // once on one server would see 2. Eight files on two workers: the thread is given two at a time.
    const sharedTarget = `>>>@shared ${shared.target}\n`;
    const names = Array.from({ length: 8 }, (_, i) => `${i}-holds.txt`);
    for (const name of names) {
      write(
        name,
        `${sharedTarget}>>>@main\n>>> INCR busy\n:1\n>>>@shared\n>>> BLPOP never 0.1\n*-1\n` +
          '>>>@main\n>>> DECR busy\n:0\n',
      );
    }
    const run = await protodoc(['check', '--jobs', '2', '--server', REDIS, '.']);
    expect({ out: timeless(run.out), exit: run.exit }).toEqual({
      out: [
        ...names.map((name) => `PASS ${name} (3 steps, TIME)`),
        '',
        '8 files, 24 steps: 24 passed, 0 failed, 0 skipped (TIME)',
        '',
      ].join('\n'),
      exit: 0,
    });
  });

  it('a retry runs before the next file of its worker, against the same server', async () => {
    // 1 passes on its retry (the counter at 2), and 2 only after that retry (at 3), on worker 1's redis.
    // 0 holds worker 0 until 2 has run, so that 2 can run nowhere else.
    write('0-holds.txt', `>>>@shared ${shared.target}\n>>> BLPOP go 20\n*2\n$2\ngo\n$2\nok\n`);
    write('1-counter.txt', '>>> INCR n\n:2\n');
    write('2-next.txt', `>>> INCR n\n:3\n>>>@shared ${shared.target}\n>>> RPUSH go ok\n:1\n`);
    const run = await protodoc(['check', '--jobs', '2', '--retries', '1', '--server', REDIS, '.']);
    expect({ out: timeless(run.out), exit: run.exit }).toEqual({
      out: [
        'PASS 0-holds.txt (1 step, TIME)',
        'FLAKY 1-counter.txt (1 step, passed on attempt 2, TIME)',
        'PASS 2-next.txt (2 steps, TIME)',
        '',
        '3 files, 4 steps: 4 passed, 0 failed, 0 skipped, 1 flaky (TIME)',
        '',
      ].join('\n'),
      exit: 0,
    });
  });

  it('--bail: after a failing file, the next file of its serial group never starts', async () => {
    write('0-other.txt', '>>> PING\n+PONG\n');
    write('1-fails.txt', '>>>! serial db\n>>> PING\n+PANG\n');
    write('2-after.txt', `>>>! serial db\n>>>@shared ${shared.target}\n>>> RPUSH ran 2-after\n:1\n`);
    const run = await protodoc(['check', '--jobs', '2', '--bail', '--server', REDIS, '.']);
    expect(run.exit).toBe(1);
    expect(timeless(run.out)).toMatch(/\nFAIL 1-fails\.txt [\s\S]*\nSKIP 2-after\.txt \(1 step, not run\)\n/);
    expect(await list('ran')).toEqual([]);
  });

  it('reports a file that passes only on a retry as flaky, and exits 0', async () => {
    // The counter is the server's state: 1 on the first attempt, 2 on the retry (scope run keeps it).
    write('counter.txt', '>>> INCR n\n:2\n');
    write('steady.txt', '>>> PING\n+PONG\n');
    const run = await protodoc([
      'check',
      '--retries',
      '2',
      '--server',
      REDIS,
      '--report-json',
      'report.json',
      '-v',
      'counter.txt',
      'steady.txt',
    ]);
    expect({ out: timeless(run.out), exit: run.exit }).toEqual({
      out: [
        'FLAKY counter.txt (1 step, passed on attempt 2, TIME)',
        'PASS steady.txt (1 step, TIME)',
        '',
        '2 files, 2 steps: 2 passed, 0 failed, 0 skipped, 1 flaky (TIME)',
        '',
      ].join('\n'),
      exit: 0,
    });
    expect(run.err).toContain('* counter.txt: failed; running it again (attempt 2 of 3)\n');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      status: string;
      summary: { flaky: number };
      transcripts: { path: string; status: string; attempts?: number }[];
    };
    expect(report.status).toBe('passed');
    expect(report.summary.flaky).toBe(1);
    expect(report.transcripts.map((t) => [t.path, t.status, t.attempts])).toEqual([
      ['counter.txt', 'flaky', 2],
      ['steady.txt', 'passed', undefined],
    ]);
    // Under scope file every attempt gets a fresh server: the counter is 1 each time, and it fails.
    const fresh = await protodoc([
      'check',
      '--retries',
      '2',
      '--server-scope',
      'file',
      '--server',
      REDIS,
      'counter.txt',
    ]);
    expect(fresh.exit).toBe(1);
    expect(fresh.out).toMatch(/^FAIL counter\.txt/);
  });

  it('hides a secret captured in a worker thread from the conversation -v prints', async () => {
    // The server makes the value up (TIME's seconds): it is never in the file, only in what comes back.
    const capture =
      '>>> TIME\n*2\n$10\n>>>~ (?<token>\\d{10})\n$...\n...\n>>>(vars) ECHO {{token}}\n$10\n>>>$ {{token}}\n';
    write('a.txt', capture);
    write('b.txt', capture);
    const run = await protodoc([
      'check',
      '--jobs',
      '2',
      '-v',
      '--secret',
      'token',
      '--server',
      REDIS,
      'a.txt',
      'b.txt',
    ]);
    expect(run.exit).toBe(0);
    expect(run.err.match(/\{\{token\}\}/g)).toHaveLength(6);
    expect(run.err).not.toMatch(/\d{10}/);
  });

  it('--update rewrites files that ran in different workers', async () => {
    write('one.txt', '>>> SET a 1\n>>>?\n>>> INCR a\n>>>?\n');
    write('two.txt', '>>> ECHO two\n>>>?\n');
    const run = await protodoc(['check', '--update', '--jobs', '2', '--server', REDIS, 'one.txt', 'two.txt']);
    expect(run.exit).toBe(0);
    expect(run.err).toBe('');
    expect(run.out).toContain('updated 3 steps in 2 files\n');
    expect(readFileSync(join(dir, 'one.txt'), 'utf8')).toBe('>>> SET a 1\n+OK\n>>> INCR a\n:2\n');
    expect(readFileSync(join(dir, 'two.txt'), 'utf8')).toBe('>>> ECHO two\n$3\ntwo\n');
  });

  it('--bail starts no file after the first failure and reports the rest skipped', async () => {
    write('a.txt', '>>> PING\n+PONG\n');
    write('b.txt', '>>> PING\n+PANG\n');
    write('c.txt', '>>> PING\n+PONG\n>>> PING\n+PONG\n');
    const run = await protodoc([
      'check',
      '--bail',
      '--server',
      REDIS,
      '--report-json',
      'r.json',
      'a.txt',
      'b.txt',
      'c.txt',
    ]);
    expect(run.exit).toBe(1);
    expect(timeless(run.out)).toMatch(
      /^PASS a\.txt .*\nFAIL b\.txt [\s\S]*\nSKIP c\.txt \(2 steps, not run\)\n\n3 files, 4 steps: 1 passed, 1 failed, 2 skipped \(TIME\)\n$/,
    );
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as {
      transcripts: { status: string }[];
    };
    expect(report.transcripts.map((t) => t.status)).toEqual(['passed', 'failed', 'skipped']);
  });

  it('--filter runs the transcripts whose label matches: a path, or one block of a Markdown page', async () => {
    write(
      'page.md',
      '# Page\n\n```protodoc\n>>> PING\n+PONG\n```\n\n```protodoc\n>>> ECHO hi\n$2\nhi\n```\n',
    );
    write('other.txt', '>>> PING\n+PONG\n');
    const block = await protodoc(['check', '--server', REDIS, '--filter', 'page\\.md:9$', '.']);
    expect(timeless(block.out)).toBe(
      'PASS page.md:9 (1 step, TIME)\n\n1 file, 1 step: 1 passed, 0 failed, 0 skipped (TIME)\n',
    );
    const none = await protodoc(['check', '--server', REDIS, '--filter', 'nothing', '.']);
    expect(none).toEqual({ out: '', err: "error: --filter 'nothing' matches no transcript\n", exit: 2 });
  });

  it('runs HTTP and WebSocket conversations in a worker thread as in the main one', async () => {
    // A thread loads its transports (undici, ws) from where its bundle or modules are: each file talks HTTP
    // and WebSocket, and the two can only pass at once (one waits for the other through the shared redis),
    // so one of them runs in the thread.
    const server = await startWebSocketServer({
      server: createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('hi\n');
      }),
      serve: (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })),
    });
    try {
      const web = `127.0.0.1:${server.port}`;
      const talk =
        `>>>@web http://${web}\n>>> GET / HTTP/1.1\n>>> Host: ${web}\n>>>\nHTTP/1.1 200 OK\n...\n\nhi\n` +
        `>>>@chat ws://${web}/\n>>> hello\nhello\n`;
      write('a-waits.txt', `>>>@shared ${shared.target}\n>>> BLPOP go-a 20\n*2\n$4\ngo-a\n$2\nok\n${talk}`);
      write('b-releases.txt', `>>>@shared ${shared.target}\n>>> RPUSH go-a ok\n:1\n${talk}`);
      const run = await protodoc(['check', '--jobs', '2', 'a-waits.txt', 'b-releases.txt']);
      expect({ out: timeless(run.out), err: run.err, exit: run.exit }).toEqual({
        out: 'PASS a-waits.txt (3 steps, TIME)\nPASS b-releases.txt (3 steps, TIME)\n\n2 files, 6 steps: 6 passed, 0 failed, 0 skipped (TIME)\n',
        err: '',
        exit: 0,
      });
    } finally {
      await server.close();
    }
  });

  it('--shard I/N: the shards of a CI matrix run every file exactly once', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `specs/case-${i}.txt`);
    for (const name of names) write(name, '>>> PING\n+PONG\n');
    const ran: string[][] = [];
    for (const index of [1, 2, 3]) {
      const run = await protodoc([
        'check',
        '--shard',
        `${index}/3`,
        '--jobs',
        'auto',
        '--server',
        REDIS,
        '--reporter',
        'json',
        'specs',
      ]);
      expect(run.exit).toBe(0);
      ran.push((JSON.parse(run.out) as { transcripts: { path: string }[] }).transcripts.map((t) => t.path));
    }
    expect(ran.flat().sort()).toEqual([...names].sort());
    expect(ran.every((part) => part.length > 0)).toBe(true);
    // A shard with nothing in it runs nothing (and starts no server), and passes.
    const empty = [1, 2, 3, 4, 5, 6, 7, 8].map(async (index) => ({
      index,
      run: await protodoc(['check', '--shard', `${index}/8`, '--server', 'exit 9', 'specs/case-0.txt']),
    }));
    const outcomes = await Promise.all(empty);
    expect(outcomes.filter((o) => o.run.exit === 0).map((o) => timeless(o.run.out))).toEqual(
      Array(7).fill('\n0 files, 0 steps: 0 passed, 0 failed, 0 skipped (TIME)\n'),
    );
  });
});

describe('protodoc.config.yaml', () => {
  it('gives the options the command line does not, paths relative to it; flags win', async () => {
    const files = ['a', 'b'].map((name) =>
      write(
        `specs/${name}.txt`,
        '>>> use jobs\nUSING jobs\n>>> put 0 0 60 2\n>>> hi\nINSERTED 1\n>>>(vars) peek {{job}}\n>>>$ FOUND {{job}} 2\nhi\n',
      ),
    );
    write('ci/vars.env', 'job=1\n');
    write(
      'ci/protodoc.config.yaml',
      `server: ${BEANSTALKD}\nserver-scope: file\njobs: 2\nvars-files: vars.env\nreporters: [json=../report.json]\n`,
    );
    const run = await protodoc(['check', '--config', 'ci/protodoc.config.yaml', ...files]);
    expect(run.exit).toBe(0);
    expect(timeless(run.out)).toContain('2 files, 6 steps: 6 passed, 0 failed, 0 skipped (TIME)');
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).status).toBe('passed');
    // A flag wins over the file: one server for the run, and the second file's job is 2.
    const kept = await protodoc([
      'check',
      '--config',
      'ci/protodoc.config.yaml',
      '--server-scope',
      'run',
      '--jobs',
      '1',
      ...files,
    ]);
    expect(kept.exit).toBe(1);
  });

  it('is read from the cwd; a mistake is one line at FILE:LINE:COL and exit 3', async () => {
    write('a.txt', '>>> PING\n+PONG\n');
    write('protodoc.config.yaml', `server: ${REDIS}\nserver-scope: files\n`);
    expect(await protodoc(['check', 'a.txt'])).toEqual({
      out: '',
      err: "error: protodoc.config.yaml:2:15: 'server-scope' must be one of run, file\n",
      exit: 3,
    });
    write('protodoc.config.yaml', `server: ${REDIS}\nreporter: junit\n`);
    const unknown = await protodoc(['check', 'a.txt']);
    expect(unknown.exit).toBe(3);
    expect(unknown.err).toMatch(
      /^error: protodoc\.config\.yaml:2:1: unknown key 'reporter' \(known: .*\)\n$/,
    );
    write('protodoc.config.yaml', `server: ${REDIS}\nreporters: [dot, nosuch=x.txt]\n`);
    expect(await protodoc(['check', 'a.txt'])).toEqual({
      out: '',
      err: "error: protodoc.config.yaml:2:18: unknown reporter 'nosuch' (known: pretty, dot, json, junit, tap, github)\n",
      exit: 3,
    });
    // Its reporters, as --reporter takes them: dot on stdout, TAP into a file beside the config.
    write('protodoc.config.yaml', `server: ${REDIS}\nreporters: [dot, tap=report.tap]\n`);
    const dot = await protodoc(['check', 'a.txt']);
    expect({ exit: dot.exit, first: dot.out.split('\n')[0] }).toEqual({ exit: 0, first: '.' });
    expect(readFileSync(join(dir, 'report.tap'), 'utf8')).toMatch(/^TAP version 14\n/);
    // A report on the command line replaces the config's.
    const json = await protodoc(['check', '--reporter', 'json', 'a.txt']);
    expect(JSON.parse(json.out).status).toBe('passed');
  });
});
