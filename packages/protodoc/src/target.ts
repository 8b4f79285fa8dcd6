/**
 * Where a transcript connects: the one place that turns a target string into a structured address, and
 * the one list of schemes. Each scheme is carried by a transport (src/transports/index.ts picks it).
 */
import { isIP } from 'node:net';
import { UsageError } from './errors.js';

/** How a target's connection is carried; the scheme part of the target (`tcp` when there is none). */
export type Scheme = 'tcp' | 'tls' | 'unix' | 'http' | 'https' | 'h2' | 'h2c' | 'ws' | 'wss';

/** A parsed connection target. `text` is the target as written, for messages. */
export type Target =
  /**
   * `HOST:PORT`, `[::1]:PORT`, or `SCHEME://HOST:PORT` for any scheme but `unix`. `tls`: the connection
   * is TLS from its first byte (`tls`, `https`, `h2`, `wss`). `resource`: the path and query a WebSocket
   * connects to (`ws`, `wss`; `/` when the target has none), absent for the other schemes.
   */
  | {
      kind: 'tcp';
      scheme: Exclude<Scheme, 'unix'>;
      host: string;
      port: number;
      tls: boolean;
      text: string;
      resource?: string;
    }
  /** `unix:/path/to/socket`. */
  | { kind: 'unix'; scheme: 'unix'; path: string; text: string };

/** What each `SCHEME://` means to the parser. */
interface SchemeSyntax {
  scheme: Exclude<Scheme, 'unix'>;
  tls: boolean;
  /** After HOST:PORT: nothing, `/` at most (an origin), or a path and query (a WebSocket's resource). */
  after: 'nothing' | 'origin' | 'resource';
}

/** Every scheme a target may have, by its lower-case name: the one list (FORMAT §4.2, the README's). */
const SCHEMES: ReadonlyMap<string, SchemeSyntax> = new Map<string, SchemeSyntax>([
  ['tcp', { scheme: 'tcp', tls: false, after: 'nothing' }],
  ['tls', { scheme: 'tls', tls: true, after: 'nothing' }],
  // HTTP targets are origins: the request paths come from the transcript (a trailing `/` is allowed).
  ['http', { scheme: 'http', tls: false, after: 'origin' }],
  ['https', { scheme: 'https', tls: true, after: 'origin' }],
  ['h2', { scheme: 'h2', tls: true, after: 'origin' }],
  ['h2c', { scheme: 'h2c', tls: false, after: 'origin' }],
  // A WebSocket opens one resource, so its target is a URL: the messages come from the transcript.
  ['ws', { scheme: 'ws', tls: false, after: 'resource' }],
  ['wss', { scheme: 'wss', tls: true, after: 'resource' }],
]);

const TARGET_FORMS =
  'HOST:PORT, tls://HOST:PORT, unix:/path, http://HOST:PORT, https://HOST:PORT, h2://HOST:PORT, ' +
  'h2c://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH';

/** The placeholder that `--server` replaces with the port it picked. */
export const PORT_PLACEHOLDER = '{port}';

/**
 * Parses a target: `HOST:PORT`, `[IPV6]:PORT`, `SCHEME://HOST:PORT` (`tcp`, `tls`, `http`, `https`, `h2`,
 * `h2c`; a trailing `/` allowed after the HTTP ones), `ws://HOST:PORT[/PATH[?QUERY]]` (`wss` alike) or
 * `unix:/path`. Schemes are case-insensitive.
 * @throws UsageError (`PROTODOC_ERR_USAGE`) naming the target when it is malformed.
 * @example parseTarget('127.0.0.1:6379') // { kind: 'tcp', scheme: 'tcp', host: '127.0.0.1', port: 6379, ... }
 */
export function parseTarget(text: string): Target {
  if (text.includes(PORT_PLACEHOLDER)) {
    throw new UsageError(`target '${text}': ${PORT_PLACEHOLDER} is only replaced when --server is given`);
  }
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new UsageError(`target '${text}': expected unix:/path/to/socket`);
    return { kind: 'unix', scheme: 'unix', path, text };
  }
  let rest = text;
  let syntax: SchemeSyntax = SCHEMES.get('tcp')!;
  const prefix = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (prefix !== null) {
    const known = SCHEMES.get(prefix[1]!.toLowerCase());
    if (known === undefined) throw new UsageError(`target '${text}': unknown scheme (use ${TARGET_FORMS})`);
    syntax = known;
    rest = rest.slice(prefix[0].length);
  }
  let resource: string | undefined;
  if (syntax.after === 'resource') {
    const start = rest.search(/[/?]/);
    resource = start < 0 ? '/' : rest.slice(start);
    if (resource.startsWith('?')) resource = `/${resource}`;
    if (!/^[\x21-\x7e]+$/.test(resource) || resource.includes('#')) {
      throw new UsageError(
        `target '${text}': the path of a ${syntax.scheme}:// target must be printable ASCII without spaces or '#'`,
      );
    }
    if (start >= 0) rest = rest.slice(0, start);
  } else if (syntax.after === 'origin') {
    const slash = rest.indexOf('/');
    if (slash >= 0) {
      if (rest.slice(slash) !== '/') {
        throw new UsageError(
          `target '${text}': an ${syntax.scheme}:// target is HOST:PORT only; the request paths come from the transcript`,
        );
      }
      rest = rest.slice(0, slash);
    }
  }
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    // Bracketed IPv6: the only form in which a host may contain ':'.
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') {
      throw new UsageError(`target '${text}': expected [IPV6]:PORT`);
    }
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
    if (isIP(host) !== 6) throw new UsageError(`target '${text}': '${host}' is not an IPv6 address`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw new UsageError(`target '${text}': expected HOST:PORT`);
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host === '' || host.includes(':') || /[\s/]/.test(host)) {
      throw new UsageError(`target '${text}': expected HOST:PORT (write IPv6 addresses as [::1]:PORT)`);
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new UsageError(`target '${text}': port must be a number from 1 to 65535`);
  }
  const target: Target = {
    kind: 'tcp',
    scheme: syntax.scheme,
    host,
    port: Number(portText),
    tls: syntax.tls,
    text,
  };
  if (resource !== undefined) target.resource = resource;
  return target;
}

/**
 * The target `text` on the port `--server` picks: the same scheme and host, `{port}` for the port. This is
 * how a file's `>>>! connect` target follows `--server` when no `--connect` is given.
 * @throws UsageError for a malformed target, and for a `unix:` target, which has no port to take
 * @example onServerPort('tls://mail.example:465') // 'tls://mail.example:{port}'
 */
export function onServerPort(text: string): string {
  const target = parseTarget(substitutePort(text, 1));
  if (target.kind === 'unix') {
    throw new UsageError(
      `target '${text}': --server gives a port, which a unix: socket cannot take; give --connect TARGET`,
    );
  }
  const scheme = target.scheme === 'tcp' ? '' : `${target.scheme}://`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${scheme}${host}:${PORT_PLACEHOLDER}${target.resource ?? ''}`;
}

/** Replaces every `{port}` in `text` with `port` (the port `--server` picked). */
export function substitutePort(text: string, port: number): string {
  return text.replaceAll(PORT_PLACEHOLDER, String(port));
}

/** The TLS server name to send for a host: none for IP addresses (SNI forbids them). */
export function defaultServername(target: Target): string | undefined {
  if (target.kind !== 'tcp' || isIP(target.host) !== 0) return undefined;
  return target.host;
}

/** `HOST:PORT` of a network target, with an IPv6 host in brackets (as in a URL's authority). */
export function authority(target: Target & { kind: 'tcp' }): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}
