/**
 * Where a transcript connects: the one place that turns a target string into a structured address.
 */
import { isIP } from 'node:net';
import { UsageError } from './errors.js';

/** A parsed connection target. `text` is the target as written, for messages. */
export type Target =
  /**
   * `HOST:PORT`, `[::1]:PORT` (plain TCP) or `tls://HOST:PORT` (TLS from the first byte).
   * `http://HOST:PORT` / `https://HOST:PORT` set `http`: each send block is an HTTP request sent
   * through undici (src/http-exchange.ts), and the reply is the response rendered as text.
   */
  | { kind: 'tcp'; host: string; port: number; tls: boolean; text: string; http?: true }
  /** `unix:/path/to/socket`. */
  | { kind: 'unix'; path: string; text: string };

/** The placeholder that `--server` replaces with the port it picked. */
export const PORT_PLACEHOLDER = '{port}';

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT`, `tls://HOST:PORT`, `http://HOST:PORT`, `https://HOST:PORT` or `unix:/path`.
 * @throws UsageError (`PROTODOC_ERR_USAGE`) naming the target when it is malformed.
 * @example parseTarget('127.0.0.1:6379') // { kind: 'tcp', host: '127.0.0.1', port: 6379, tls: false, ... }
 */
export function parseTarget(text: string): Target {
  if (text.includes(PORT_PLACEHOLDER)) {
    throw new UsageError(`target '${text}': ${PORT_PLACEHOLDER} is only replaced when --server is given`);
  }
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new UsageError(`target '${text}': expected unix:/path/to/socket`);
    return { kind: 'unix', path, text };
  }
  let rest = text;
  let tls = false;
  let http = false;
  const scheme = /^(https?):\/\//i.exec(rest);
  if (scheme !== null) {
    http = true;
    tls = scheme[1]!.length === 5;
    // An origin only: the request paths come from the transcript.
    rest = rest.slice(scheme[0].length).replace(/\/$/, '');
  } else if (rest.startsWith('tls://')) {
    tls = true;
    rest = rest.slice('tls://'.length);
  } else if (rest.startsWith('tcp://')) {
    rest = rest.slice('tcp://'.length);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    throw new UsageError(
      `target '${text}': unknown scheme (use HOST:PORT, tls://HOST:PORT, http://HOST:PORT, https://HOST:PORT or unix:/path)`,
    );
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
  return http
    ? { kind: 'tcp', host, port: Number(portText), tls, text, http: true }
    : { kind: 'tcp', host, port: Number(portText), tls, text };
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
  const scheme = target.http ? (target.tls ? 'https://' : 'http://') : target.tls ? 'tls://' : '';
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${scheme}${host}:${PORT_PLACEHOLDER}`;
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
