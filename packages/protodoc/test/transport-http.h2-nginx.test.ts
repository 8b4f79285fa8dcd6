/**
 * One transcript against nginx over HTTP/1.1 (https://) and HTTP/2 (h2://) on one TLS listener, with a
 * certificate made here: which of its lines need patterns to pass over both (FORMAT §13.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { type NginxServer, startNginx } from './helpers/servers.js';

let certs: TestCerts;
let nginx: NginxServer;
let port: string;
beforeAll(async () => {
  certs = makeCerts();
  nginx = await startNginx({
    files: { 'hello.txt': 'hello world\n' },
    tls: { keyPath: certs.keyPath, certPath: certs.certPath, http2: true },
  });
  port = nginx.tlsTarget!.split(':')[1]!;
});
afterAll(async () => {
  await nginx?.stop();
  certs?.remove();
});

const REQUEST = ['>>> GET /hello.txt HTTP/1.1', '>>> Host: localhost', '>>>'];
/**
 * The reply, line by line: as written against HTTP/1.1, and as written to pass over both versions.
 * Where the two are the same the line needs no pattern: the blank line and the body, and the request.
 */
const REPLY: [http1: string, both: string][] = [
  ['HTTP/1.1 200 OK', 'HTTP/... 200...'], // HTTP/2 200: another version, no reason phrase
  ['Server: nginx...', '>>>~ [Ss]erver: nginx.*'], // header names arrive in lower case over HTTP/2
  ['Date: ...', '>>>~ [Dd]ate: .*'],
  ['Content-Type: application/octet-stream', '>>>~ [Cc]ontent-[Tt]ype: application/octet-stream'],
  ['Content-Length: 12', '>>>~ [Cc]ontent-[Ll]ength: 12'],
  ['Last-Modified: ...', '>>>~ [Ll]ast-[Mm]odified: .*'],
  ['Connection: keep-alive', '...'], // HTTP/2 has no Connection header: zero lines or one
  ['ETag: "..."', '>>>~ (ETag|etag): "[^"]+"'],
  ['Accept-Ranges: bytes', '>>>~ [Aa]ccept-[Rr]anges: bytes'],
  ['', ''],
  ['hello world', 'hello world'],
];

const transcript = (reply: readonly string[]): string => `${[...REQUEST, ...reply].join('\n')}\n`;
const https = () => ({ target: `https://localhost:${port}`, tls: { ca: certs.ca } });
const h2 = () => ({ target: `h2://localhost:${port}`, tls: { ca: certs.ca } });

describe('one transcript over HTTP/1.1 and HTTP/2 (nginx, TLS)', () => {
  it('passes written for HTTP/1.1 over https://, and fails over h2:// at the status line', async () => {
    const http1 = transcript(REPLY.map(([line]) => line));
    expect(statuses(await run(http1, https()))).toEqual(['passed']);
    const over2 = await run(http1, h2());
    const step = failedStep(over2);
    expect(step.failure.line).toBe(4);
    expect(text(step.failure.received)).toMatch(
      /^HTTP\/2 200\r\nserver: nginx\/[\d.]+\r\ndate: [^\r]+\r\ncontent-type: application\/octet-stream\r\ncontent-length: 12\r\nlast-modified: [^\r]+\r\netag: "[^"]+"\r\naccept-ranges: bytes\r\n\r\nhello world\n$/,
    );
  });

  it('passes over both with patterns in the status line and the header lines, and nowhere else', async () => {
    const both = transcript(REPLY.map(([, line]) => line));
    expect(statuses(await run(both, https()))).toEqual(['passed']);
    expect(statuses(await run(both, h2()))).toEqual(['passed']);
  });

  it('needs each of those patterns: any one line put back as HTTP/1.1 has it fails over h2://', async () => {
    const patterned = REPLY.flatMap(([http1, both], i) => (http1 === both ? [] : [i]));
    expect(patterned).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const i of patterned) {
      const reply = REPLY.map(([http1, both], j) => (j === i ? http1 : both));
      const result = await run(transcript(reply), h2());
      expect({ line: REPLY[i]![0], status: result.status }).toEqual({ line: REPLY[i]![0], status: 'failed' });
      // ... and still passes over https://: the line is right for HTTP/1.1.
      expect(statuses(await run(transcript(reply), https()))).toEqual(['passed']);
    }
  });
});
