/**
 * `protodoc record`: a transparent proxy that writes the conversations going through it as a transcript
 * (FORMAT §17). Clients connect to the proxy; each client connection gets its own connection to the
 * target, and every byte is forwarded as it comes, in both directions, half-closes included. Nothing is
 * decided while traffic flows (each chunk is kept with the time it came): when the recording stops, the
 * chunks are cut into steps (src/recording.ts) and written (src/recording-writer.ts).
 *
 * For a `tls://` or `https://` target the proxy listens in plain text and connects with TLS, so it sees
 * the bytes; the transcript replays them over the same raw connection (`https://` is written `tls://`,
 * `http://` as `HOST:PORT`: the bytes are the wire's, which undici would frame and decode otherwise).
 * A `ws://` or `wss://` target is relayed message by message instead (src/recording-websocket.ts).
 */

import { stat } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, extname } from 'node:path';
import { readCaFile } from './ca-file.js';
import { now } from './clock.js';
import { UsageError } from './errors.js';
import { type RecordedChunk, segmentRecording } from './recording.js';
import type { WebSocketRelay } from './recording-websocket.js';
import { recordingText } from './recording-writer.js';
import type { TraceEvent } from './results.js';
import type { RunningServer } from './server.js';
import { PORT_PLACEHOLDER, parseTarget, type Scheme, substitutePort, type Target } from './target.js';
import { StreamTransport } from './transports/stream.js';
import type { TlsOptions, TransportEvents } from './transports/transport.js';
import { writeFileAtomically } from './update.js';
import { loadVariables, type Variables } from './variables.js';

/** Options of {@link record}; each mirrors a flag of `protodoc record`. */
export interface RecordOptions {
  /**
   * `--listen [HOST:]PORT`: where clients connect to the proxy. Port 0 takes a free port
   * ({@link Recorder.address} says which).
   * @example '6390', '127.0.0.1:6390', '[::1]:0'
   */
  listen: string;
  /**
   * `--connect TARGET`: where the proxy forwards each client connection: `HOST:PORT`, `[::1]:PORT`,
   * `tls://HOST:PORT`, `unix:/path`, `http://HOST:PORT`, `https://HOST:PORT`, `ws://HOST:PORT/PATH`,
   * `wss://HOST:PORT/PATH` (FORMAT §17.6). `{port}` is `server`'s port.
   * @default '127.0.0.1:{port}' with a `server` whose command has `{port}`
   */
  connect?: string;
  /** `--server CMD`: start the server first (`{port}`: a free port), stop it when the recording stops. */
  server?: string;
  /** How long the `server` may take to accept a connection, in ms. @default 10000 */
  serverStartTimeoutMs?: number;
  /** `--output FILE`: where {@link Recorder.stop} writes the transcript (a `.md` file gets a protodoc block). */
  output?: string;
  /**
   * `--settle`: a reply that has been quiet this long is over (what comes later is a step of its own),
   * in ms. @default 200
   */
  settleMs?: number;
  /** `--timeout`: bound on connecting to the target and its TLS handshake, in ms. @default 5000 */
  timeoutMs?: number;
  /**
   * `--volatile REGEX`: values that change between runs, beside the default HTTP headers: what each
   * regular expression matches in a reply line (or each of its groups, if it has any) is written `...`.
   * @example ['id=(\\d+)', '\\d{4}-\\d\\d-\\d\\d']
   */
  volatile?: readonly string[];
  /** `--secret NAME=VALUE`: VALUE is written `{{NAME}}` wherever it is sent or received. */
  secrets?: readonly string[];
  /** `--cacert FILE`: CA certificates a `tls://` / `https://` target's certificate must chain to. */
  cacert?: string;
  /** `--insecure`: accept any certificate from a `tls://` / `https://` target. @default false */
  insecure?: boolean;
  /**
   * `-v`: the conversation as it goes through, per connection (`conn1`, ...): a client's bytes as
   * `sent`, the server's as `received` (`createVerbose` prints it).
   */
  trace?: (event: TraceEvent) => void;
  /** Told of what goes wrong with one connection (the target refused it): the recording goes on. */
  onWarning?: (message: string) => void;
}

/** A running recording. */
export interface Recorder {
  /** Where the proxy listens, `HOST:PORT`. */
  readonly address: string;
  /** Where it forwards (with `server`'s port). */
  readonly target: string;
  /** Client connections accepted so far. */
  readonly accepted: number;
  /**
   * Stops: closes the listener and every connection, writes the transcript to `output` (when anything
   * was recorded), stops the `server`. Idempotent.
   */
  stop(): Promise<Recording>;
}

/** What a recording wrote. */
export interface Recording {
  /** The transcript (a Markdown block when `output` ends in `.md`); empty when nothing was recorded. */
  text: string;
  steps: number;
  /** Client connections that sent or received anything. */
  connections: number;
  /** The names of the captures (FORMAT §15), in the order they are taken. */
  captures: string[];
  /** The file written: `output`, unless nothing was recorded. */
  written?: string;
}

/**
 * `[HOST:]PORT` as a listening address; port 0 is a free port.
 * @throws UsageError for anything else
 * @example parseListen('6390') // { host: '127.0.0.1', port: 6390 }
 */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]:|([^:[\]\s]+):)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    throw new UsageError(
      `--listen '${text}': expected [HOST:]PORT (a port from 0 to 65535; 0 picks a free one)`,
    );
  }
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/**
 * The target as a transcript replays raw bytes: `https://` as `tls://`, `http://` as `HOST:PORT`.
 * @example rawTarget('https://localhost:8443/') // 'tls://localhost:8443'
 */
export function rawTarget(text: string): string {
  const http = /^(https?):\/\/([^/]*)\/?$/i.exec(text);
  if (http === null) return text;
  return http[1]!.length === 5 ? `tls://${http[2]}` : http[2]!;
}

/** A client connection and its connection to the target. */
interface Pair {
  name: string;
  client: Socket;
  upstream: StreamTransport;
  /** Client bytes that came before the target's connection was open. */
  pending: Buffer[] | null;
  /** The client half-closed before the target's connection was open. */
  clientEnded: boolean;
  /** Client bytes forwarded so far (a TLS handshake after some is a STARTTLS). */
  sent: number;
}

/** A TLS handshake record (content type 22, version 3.x): how a ClientHello starts. */
function startsTls(chunk: Buffer): boolean {
  return chunk.length >= 3 && chunk[0] === 0x16 && chunk[1] === 0x03 && chunk[2]! <= 0x04;
}

/**
 * Starts recording: starts the `server` (if any), checks that the target accepts connections, and
 * listens. Resolves once clients can connect.
 * @throws UsageError (`PROTODOC_ERR_USAGE`): a bad address, target, regular expression, secret or CA file,
 *   an output directory that does not exist, an address already in use
 * @throws ConnectError (`PROTODOC_ERR_CONNECT`): the target does not accept connections
 * @throws ServerStartError (`PROTODOC_ERR_SERVER`): the `server` exited early or never listened
 * @example
 *   const recorder = await record({ listen: '0', connect: '127.0.0.1:6379', output: 'redis.txt' });
 *   // point clients at recorder.address, then:
 *   const { steps } = await recorder.stop();
 */
export async function record(options: RecordOptions): Promise<Recorder> {
  const listen = parseListen(options.listen);
  const settleMs = options.settleMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 5000;
  const volatile = (options.volatile ?? []).map((source) => {
    try {
      return new RegExp(source, 'u');
    } catch (err) {
      throw new UsageError(`--volatile '${source}': ${(err as Error).message}`);
    }
  });
  for (const secret of options.secrets ?? []) {
    if (!secret.includes('=')) {
      throw new UsageError(`--secret '${secret}': record needs NAME=VALUE, the value to write as {{NAME}}`);
    }
    // The writer finds secrets line by line (FORMAT §17): across a line break it would write the value.
    if (secret.includes('\n')) {
      const name = secret.slice(0, secret.indexOf('='));
      throw new UsageError(
        `--secret '${name}': its value holds a line break, which record cannot write as {{${name}}} within a line`,
      );
    }
  }
  const variables: Variables = await loadVariables({ secrets: options.secrets ?? [], env: {} });
  if (options.output !== undefined) await checkOutput(options.output);
  const picksPort = options.server?.includes(PORT_PLACEHOLDER) ?? false;
  const connect = options.connect ?? (picksPort ? `127.0.0.1:${PORT_PLACEHOLDER}` : undefined);
  if (connect === undefined) {
    throw new UsageError(
      options.server === undefined
        ? 'give --connect TARGET: where to forward the connections'
        : `--server '${options.server}': give --connect TARGET, or use ${PORT_PLACEHOLDER} in the command`,
    );
  }
  const scheme = parseTarget(options.server === undefined ? connect : substitutePort(connect, 1)).scheme;
  if (UNRECORDABLE[scheme] !== undefined) {
    throw new UsageError(
      `--connect ${connect}: record cannot write a ${scheme}:// conversation: ${UNRECORDABLE[scheme]}`,
    );
  }
  const tls: TlsOptions = {
    insecure: options.insecure ?? false,
    ...(options.cacert !== undefined ? { ca: await readCaFile(options.cacert) } : {}),
  };

  let server: RunningServer | undefined;
  if (options.server !== undefined) {
    const { startServer } = await import('./server.js');
    server = await startServer({
      command: options.server,
      target: connect,
      handleSignals: false,
      ...(options.serverStartTimeoutMs !== undefined ? { startTimeoutMs: options.serverStartTimeoutMs } : {}),
    });
  }
  let listener: Server | HttpServer;
  let targetText: string;
  let target: Target;
  const started = now();
  const chunks: RecordedChunk[] = [];
  const trace = options.trace;
  const label = options.output ?? 'record';
  const traceAt = (connection: string, event: Record<string, unknown> & { type: TraceEvent['type'] }): void =>
    trace?.({ ...event, path: label, connection, at: now() - started } as TraceEvent);
  let relay: WebSocketRelay | undefined;
  /** The resource each WebSocket client asked for, by connection. */
  const resources = new Map<number, string>();
  try {
    targetText = server?.port === undefined ? connect : substitutePort(connect, server.port);
    target = withoutHttp(parseTarget(targetText));
    // Without --server nothing has shown that the target listens: one connection now, so that a
    // wrong address is one error at the start rather than one per client.
    if (server === undefined) await probe(target, timeoutMs, tls);
    if (target.scheme === 'ws' || target.scheme === 'wss') {
      const { relayWebSockets } = await import('./recording-websocket.js');
      relay = relayWebSockets({
        target: target as Target & { kind: 'tcp' },
        timeoutMs,
        tls,
        onChunk: (chunk) => chunks.push({ ...chunk, at: now() - started }),
        onConnection: (connection, resource) => resources.set(connection, resource),
        ...(trace !== undefined
          ? { trace: (connection, event) => traceAt(`conn${connection + 1}`, event) }
          : {}),
        ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {}),
      });
    }
    listener = await startListening(listen.host, listen.port, options.listen, relay?.server);
  } catch (err) {
    await server?.stop();
    throw err;
  }
  const address = listener.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;

  const pairs = new Set<Pair>();
  const traced = (pair: Pair, event: Record<string, unknown> & { type: TraceEvent['type'] }): void =>
    traceAt(pair.name, event);
  let accepted = 0;

  if (relay === undefined)
    listener.on('connection', (client: Socket) => {
      const index = accepted++;
      client.setNoDelay(true);
      const handler: TransportEvents = {
        onData(_conn, chunk) {
          chunks.push({ connection: index, from: 'server', at: now() - started, bytes: chunk });
          if (trace !== undefined) traced(pair, { type: 'received', bytes: chunk });
          if (!client.write(chunk)) {
            pair.upstream.socket?.pause();
            client.once('drain', () => pair.upstream.socket?.resume());
          }
        },
        onReplyEnd() {},
        onClose(conn) {
          if (trace !== undefined) {
            const reason = conn.error?.code ?? conn.error?.message;
            traced(pair, reason === undefined ? { type: 'closed' } : { type: 'closed', reason });
          }
          // The server is done: so is the client's side, with a reset if the server's was one.
          if (conn.error !== null) client.destroy();
          else client.end();
        },
      };
      const pair: Pair = {
        name: `conn${index + 1}`,
        client,
        upstream: new StreamTransport(`conn${index + 1}`, target, handler),
        pending: [],
        clientEnded: false,
        sent: 0,
      };
      pairs.add(pair);
      const forward = (chunk: Buffer): void => {
        const socket = pair.upstream.socket;
        if (socket === null || pair.upstream.closed) return; // nobody there: not part of the conversation
        if (pair.sent > 0 && startsTls(chunk)) {
          options.onWarning?.(
            `${pair.name}: the client started TLS inside the connection (STARTTLS): the proxy sees only ` +
              'encrypted bytes from here on, which a transcript cannot replay',
          );
        }
        pair.sent += chunk.length;
        chunks.push({ connection: index, from: 'client', at: now() - started, bytes: chunk });
        if (trace !== undefined) traced(pair, { type: 'sent', bytes: chunk });
        if (!socket.write(chunk)) {
          client.pause();
          socket.once('drain', () => client.resume());
        }
      };
      client.on('data', (chunk: Buffer) => {
        if (pair.pending !== null) pair.pending.push(chunk);
        else forward(chunk);
      });
      client.on('end', () => {
        if (pair.pending !== null) {
          pair.clientEnded = true;
          return;
        }
        if (trace !== undefined && !pair.upstream.closed) traced(pair, { type: 'half-close' });
        pair.upstream.end();
      });
      client.on('error', () => {});
      client.on('close', () => {
        // Both ways are done, or the client went away without a FIN (a reset, a killed process): nothing
        // the target sends now can reach anyone.
        pair.upstream.destroy();
        pairs.delete(pair);
      });
      if (trace !== undefined) traced(pair, { type: 'connect', target: targetText });
      pair.upstream.open(timeoutMs, tls).then(
        () => {
          if (trace !== undefined) traced(pair, { type: 'connected' });
          const pending = pair.pending ?? [];
          pair.pending = null;
          for (const chunk of pending) forward(chunk);
          if (pair.clientEnded) {
            if (trace !== undefined) traced(pair, { type: 'half-close' });
            pair.upstream.end();
          }
        },
        (err: unknown) => {
          pair.pending = null;
          options.onWarning?.(`${pair.name}: ${(err as Error).message}`);
          client.destroy();
        },
      );
    });

  let stopping: Promise<Recording> | null = null;
  const stop = (): Promise<Recording> => {
    stopping ??= (async (): Promise<Recording> => {
      listener.close();
      relay?.destroy();
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
        if (trace !== undefined) traced(pair, { type: 'closed' });
      }
      pairs.clear();
      try {
        const steps = segmentRecording(chunks, settleMs);
        if (steps.length === 0) return { text: '', steps: 0, connections: 0, captures: [] };
        const markdown = options.output !== undefined && extname(options.output).toLowerCase() === '.md';
        const fence = '```';
        // A WebSocket's connections each reach the resource their client asked for.
        const targets = new Map([...resources].map(([c, resource]) => [c, withResource(connect, resource)]));
        const written = recordingText(steps, {
          // With --server the port changes from run to run: the file keeps `{port}` (FORMAT §4.2).
          target: targets.get(steps[0]!.connection) ?? rawTarget(connect),
          targets,
          secrets: (bytes) => variables.secretSpans(bytes),
          reserved: secretNames(options.secrets ?? []),
          volatile,
          ...(markdown ? { fence } : {}),
        });
        const body = `${written.lines.join('\n')}\n`;
        const text = markdown ? `${fence}protodoc\n${body}${fence}\n` : body;
        const recording: Recording = {
          text,
          steps: written.steps,
          connections: written.connections,
          captures: written.captures,
        };
        if (options.output !== undefined) {
          await writeFileAtomically(options.output, text);
          recording.written = options.output;
        }
        return recording;
      } finally {
        await server?.stop();
      }
    })();
    return stopping;
  };

  return {
    address: `${host}:${port}`,
    target: targetText,
    get accepted() {
      return relay?.accepted ?? accepted;
    },
    stop,
  };
}

/**
 * A `ws://` or `wss://` target text with another resource (path and query), `{port}` kept.
 * @example withResource('ws://127.0.0.1:{port}/chat', '/feed?x=1') // 'ws://127.0.0.1:{port}/feed?x=1'
 */
export function withResource(connect: string, resource: string): string {
  const origin = /^wss?:\/\/[^/?#]*/i.exec(connect)?.[0] ?? connect;
  return `${origin}${resource}`;
}

function secretNames(secrets: readonly string[]): string[] {
  return secrets.map((s) => s.slice(0, s.indexOf('=')));
}

/**
 * Schemes whose traffic a byte proxy sees but cannot write as a transcript: HTTP/2's binary frames (a
 * check replays a transcript through a client that frames every request).
 */
const UNRECORDABLE: Partial<Record<Scheme, string>> = {
  h2: 'HTTP/2 is binary frames; record over https:// (HTTP/1.1) instead (FORMAT §13.1 says what changes)',
  h2c: 'HTTP/2 is binary frames; record over http:// (HTTP/1.1) instead (FORMAT §13.1 says what changes)',
};

/** A target over its raw byte stream: the HTTP scheme only said which (`http` plain, `https` TLS). */
function withoutHttp(target: Target): Target {
  if (target.kind !== 'tcp' || (target.scheme !== 'http' && target.scheme !== 'https')) return target;
  return { ...target, scheme: target.tls ? 'tls' : 'tcp' };
}

/** The directory of the output file must exist: found before anything is recorded, not after. */
async function checkOutput(path: string): Promise<void> {
  const dir = dirname(path);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`--output ${path}: no such directory ${dir}`);
}

/** One connection to the target (TLS handshake and certificate check included), closed again at once. */
async function probe(target: Target, timeoutMs: number, tls: TlsOptions): Promise<void> {
  const conn = new StreamTransport('probe', target, { onData() {}, onReplyEnd() {}, onClose() {} });
  try {
    await conn.open(timeoutMs, tls);
  } finally {
    conn.destroy();
  }
}

function startListening<S extends Server | HttpServer = Server>(
  host: string,
  port: number,
  text: string,
  server?: S,
): Promise<Server | S> {
  return new Promise((resolve, reject) => {
    const listener: Server | S = server ?? createServer({ allowHalfOpen: true });
    listener.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'no such local address'
            : err.message;
      reject(new UsageError(`--listen ${text}: cannot listen on it: ${why}`));
    });
    listener.listen({ host, port }, () => resolve(listener));
  });
}
