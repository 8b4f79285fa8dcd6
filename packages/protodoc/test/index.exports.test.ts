/**
 * The package's one public face: `import ... from 'protodoc'` (package.json `exports` → dist/index.js)
 * gives the library the README documents, and the CLI's runner, parser and reporters are the same ones.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, ROOT } from './build-cli.js';

beforeAll(() => buildCli());

describe("import from 'protodoc'", () => {
  it('exports the documented API', async () => {
    const api = await import('protodoc');
    const functions = [
      'checkFiles',
      'parseTranscript',
      'parseMarkdown',
      'loadTranscripts',
      'parseDuration',
      'runTranscript',
      'runTranscripts',
      'startServer',
      'record',
      'formatPretty',
      'formatJson',
      'formatJunit',
      'diffReply',
      'loadConfig',
      'parseConfig',
      'checkOptionsFromConfig',
      'configTranscriptFiles',
      'parseShard',
      'shardOf',
      'shardKey',
    ] as const;
    for (const name of functions) expect(typeof api[name], name).toBe('function');
    for (const name of [
      'ReplyMatcher',
      'ProtodocError',
      'UsageError',
      'TranscriptSyntaxError',
      'TranscriptParseError',
      'ConfigError',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(api.EXIT_CODES).toEqual({
      passed: 0,
      failed: 1,
      usage: 2,
      parse: 3,
      unreachable: 4,
      internal: 70,
    });
  });

  it('parses a transcript and renders a result with the exported pieces', async () => {
    const { parseTranscript, formatTranscriptResult, parseDuration } = await import('protodoc');
    const transcript = parseTranscript('>>> PING\n+PONG\n', 'ping.txt');
    expect(transcript.steps).toHaveLength(1);
    expect(parseDuration('1.5s')).toBe(1500);
    const text = await formatTranscriptResult({
      path: 'ping.txt',
      status: 'passed',
      durationMs: 1,
      steps: [{ index: 0, line: 1, connection: 'main', status: 'passed', durationMs: 1 }],
    });
    expect(text).toBe('PASS ping.txt (1 step, 1ms)\n');
  });

  it('exposes nothing but the index through package.json exports', () => {
    // In a plain Node process, as a user's program would import it (not through the test's resolver).
    const script = "import('protodoc/dist/cli.js').catch((e) => { console.log(e.code); })";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(out).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED\n');
  });
});
