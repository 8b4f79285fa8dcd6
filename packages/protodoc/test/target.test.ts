import { describe, expect, it } from 'vitest';
import { ProtodocError } from '../src/errors.js';
import { defaultServername, onServerPort, parseTarget, substitutePort } from '../src/target.js';

describe('parseTarget', () => {
  it('parses HOST:PORT as plain TCP', () => {
    expect(parseTarget('127.0.0.1:6379')).toEqual({
      kind: 'tcp',
      scheme: 'tcp',
      host: '127.0.0.1',
      port: 6379,
      tls: false,
      text: '127.0.0.1:6379',
    });
    expect(parseTarget('localhost:80')).toMatchObject({ kind: 'tcp', host: 'localhost', port: 80 });
    expect(parseTarget('tcp://example.test:25')).toMatchObject({
      host: 'example.test',
      port: 25,
      tls: false,
    });
  });

  it('parses bracketed IPv6', () => {
    expect(parseTarget('[::1]:11211')).toMatchObject({ kind: 'tcp', host: '::1', port: 11211, tls: false });
    expect(parseTarget('tls://[fe80::1]:993')).toMatchObject({ host: 'fe80::1', port: 993, tls: true });
  });

  it('parses tls:// targets', () => {
    expect(parseTarget('tls://localhost:443')).toMatchObject({
      kind: 'tcp',
      host: 'localhost',
      port: 443,
      tls: true,
    });
  });

  it('parses h2:// (TLS) and h2c:// (clear text) as HTTP/2 origins', () => {
    expect(parseTarget('h2://localhost:8443/')).toEqual({
      kind: 'tcp',
      scheme: 'h2',
      host: 'localhost',
      port: 8443,
      tls: true,
      text: 'h2://localhost:8443/',
    });
    expect(parseTarget('H2C://[::1]:80')).toMatchObject({ scheme: 'h2c', host: '::1', port: 80, tls: false });
  });

  it('parses ws:// and wss:// with the path and query they open, / when none', () => {
    expect(parseTarget('ws://127.0.0.1:8080/chat?room=1&x')).toEqual({
      kind: 'tcp',
      scheme: 'ws',
      host: '127.0.0.1',
      port: 8080,
      tls: false,
      text: 'ws://127.0.0.1:8080/chat?room=1&x',
      resource: '/chat?room=1&x',
    });
    expect(parseTarget('wss://localhost:443')).toMatchObject({ scheme: 'wss', tls: true, resource: '/' });
    expect(parseTarget('ws://[::1]:80?q')).toMatchObject({ host: '::1', resource: '/?q' });
  });

  it('parses unix: targets', () => {
    expect(parseTarget('unix:/run/redis.sock')).toEqual({
      kind: 'unix',
      scheme: 'unix',
      path: '/run/redis.sock',
      text: 'unix:/run/redis.sock',
    });
    expect(parseTarget('unix:relative.sock')).toMatchObject({ kind: 'unix', path: 'relative.sock' });
  });

  it.each([
    ['', 'empty'],
    ['localhost', 'no port'],
    ['localhost:', 'empty port'],
    [':80', 'empty host'],
    ['localhost:0', 'port 0'],
    ['localhost:65536', 'port too large'],
    ['localhost:80x', 'port not a number'],
    ['localhost:-1', 'negative port'],
    ['::1:80', 'IPv6 without brackets'],
    ['[::1]80', 'bracket not followed by colon'],
    ['[::1:80', 'unclosed bracket'],
    ['[localhost]:80', 'bracketed non-IPv6'],
    ['unix:', 'empty socket path'],
    ['ftp://localhost:21', 'unknown scheme'],
    ['tls://localhost', 'tls without port'],
    ['127.0.0.1:{port}', 'placeholder without --server'],
    ['my host:80', 'space in host'],
    ['h2://localhost:443/api', 'a path on an HTTP/2 origin'],
    ['ws://localhost:80/a b', 'a space in a WebSocket path'],
    ['wss://localhost:443/#top', 'a fragment in a WebSocket path'],
    ['ws://localhost/chat', 'ws without port'],
  ])('rejects %j (%s) with a usage error naming it', (text) => {
    let error: unknown;
    try {
      parseTarget(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ProtodocError);
    expect((error as ProtodocError).code).toBe('PROTODOC_ERR_USAGE');
    expect((error as ProtodocError).message).toContain(`'${text}'`);
  });
});

describe('substitutePort', () => {
  it('replaces every {port}', () => {
    expect(substitutePort('a {port} b {port}', 4242)).toBe('a 4242 b 4242');
    expect(substitutePort('127.0.0.1:6379', 1)).toBe('127.0.0.1:6379');
  });
});

describe('defaultServername', () => {
  it('uses host names but never IP addresses or Unix paths', () => {
    expect(defaultServername(parseTarget('tls://localhost:443'))).toBe('localhost');
    expect(defaultServername(parseTarget('tls://127.0.0.1:443'))).toBeUndefined();
    expect(defaultServername(parseTarget('[::1]:443'))).toBeUndefined();
    expect(defaultServername(parseTarget('unix:/x'))).toBeUndefined();
  });
});

describe('onServerPort (a `>>>! connect` target under --server)', () => {
  it('keeps the scheme and host and takes the port placeholder', () => {
    expect(onServerPort('127.0.0.1:6379')).toBe('127.0.0.1:{port}');
    expect(onServerPort('localhost:{port}')).toBe('localhost:{port}');
    expect(onServerPort('tls://mail.example:465')).toBe('tls://mail.example:{port}');
    expect(onServerPort('HTTPS://[::1]:8443/')).toBe('https://[::1]:{port}');
    expect(onServerPort('http://localhost:8080')).toBe('http://localhost:{port}');
    expect(onServerPort('tcp://example.test:25')).toBe('example.test:{port}');
    expect(onServerPort('h2://localhost:443')).toBe('h2://localhost:{port}');
    expect(onServerPort('ws://localhost:80/chat?room=1')).toBe('ws://localhost:{port}/chat?room=1');
  });

  it('refuses a unix: target, which has no port to take', () => {
    expect(() => onServerPort('unix:/run/redis.sock')).toThrow(
      expect.objectContaining({ code: 'PROTODOC_ERR_USAGE' }),
    );
  });
});
