/**
 * `protodoc record` for `ws://` and `wss://` targets (FORMAT §17.6): the proxy is a WebSocket server
 * (plain `ws://`, whatever the target: it must see the messages) and, for each client, a WebSocket
 * client of the target, both through the `ws` package. The client's handshake is made again upstream
 * with the same path, query, subprotocols and headers (those `ws` does not write itself); once the
 * target has accepted it, the client is accepted with the subprotocol the target chose, and messages
 * and close frames are relayed both ways. A target that refuses the handshake refuses the client with
 * its own status and body.
 *
 * What went through is kept as chunks for src/recording.ts, in the form a replay sees it: a server's
 * message as its line (src/transports/websocket.ts `messageLine`, `closeLine`), a client's message as
 * its bytes, marked as the message it was.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { now } from './clock.js';
import type { RecordedChunk } from './recording.js';
import { authority, type Target } from './target.js';
import { connectSocket } from './transports/socket.js';
import type { TlsOptions } from './transports/transport.js';
import { closeLine, messageLine, responseHead } from './transports/websocket.js';
import { parseHandshake } from './transports/websocket-handshake.js';

/** What the relay needs from `record`. */
export interface WebSocketRelayOptions {
  /** The `ws://` or `wss://` target. */
  target: Target & { kind: 'tcp' };
  /** Bound on connecting to the target and its opening handshake, in ms. */
  timeoutMs: number;
  tls: TlsOptions;
  /** Each piece of traffic, as it goes through (`connection` numbered in the order clients came). */
  onChunk(chunk: RecordedChunk): void;
  /** A client's connection, numbered as its chunks are, asked for `resource` (path and query). */
  onConnection(connection: number, resource: string): void;
  /** `-v`: what went through, in the form it is written. */
  trace?: (connection: number, event: { type: 'sent' | 'received'; bytes: Uint8Array }) => void;
  /** A client's connection that the target did not take. */
  onWarning?: (message: string) => void;
}

/** The relay's side of a running recording. */
export interface WebSocketRelay {
  /** The HTTP server the proxy listens with (`record` listens on it). */
  readonly server: Server;
  /** Clients connected so far. */
  readonly accepted: number;
  /** Drops every connection, both ways. */
  destroy(): void;
}

/** Request headers a replay does not send from a handshake block: `ws` writes them, or they are hop-by-hop. */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'te',
  'trailer',
  'proxy-connection',
]);

/**
 * The client's handshake as a `>>>! handshake` block (FORMAT §14.1): its header lines, CRLF each, but
 * those a block cannot give; the subprotocols as one `Sec-WebSocket-Protocol` line. Empty when the
 * client sent nothing beyond what `ws` writes: a replay's connection then needs no handshake step.
 */
export function handshakeBlock(req: IncomingMessage): Buffer {
  const lines: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (NOT_FORWARDED.has(name.toLowerCase())) continue;
    lines.push(`${name}: ${raw[i + 1]!}\r\n`);
  }
  return Buffer.from(lines.join(''), 'latin1');
}

/** A close code that a close frame may carry (RFC 6455 §7.4), so that `ws` sends it on. */
function sendable(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999)
  );
}

/** Closes `ws` as the other side closed: the same code and reason where a frame may carry them. */
function closeLike(ws: WebSocket, code: number, reason: Buffer): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (code === 1006) ws.terminate();
  else if (sendable(code)) ws.close(code, reason);
  else ws.close();
}

/**
 * Starts relaying: every upgrade request `server` gets is a client's connection, forwarded to the target.
 */
export function relayWebSockets(options: WebSocketRelayOptions): WebSocketRelay {
  const { target } = options;
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('protodoc record: connect with a WebSocket client\n');
  });
  // Subprotocols: the one the target chose, set per connection before the client is accepted.
  const chosen = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (_offered, req) => chosen.get(req) ?? false,
  });
  const live = new Set<{ destroy(): void }>();
  let accepted = 0;
  const started = now();
  const elapsed = (): number => now() - started;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const index = accepted++;
    socket.on('error', () => {});
    const resource = req.url ?? '/';
    const chunk = (
      from: 'client' | 'server',
      bytes: Uint8Array,
      extra: Partial<RecordedChunk> = {},
    ): void => {
      options.onChunk({ connection: index, from, at: elapsed(), bytes, ...extra });
      if (options.trace !== undefined)
        options.trace(index, { type: from === 'client' ? 'sent' : 'received', bytes });
    };
    const block = handshakeBlock(req);
    const request = parseHandshake(block);
    if (typeof request === 'string') {
      // A header no replay could send (a control byte): refuse it here rather than record a lie.
      options.onWarning?.(`conn${index + 1}: the client's handshake cannot be replayed: ${request}`);
      socket.destroy();
      return;
    }
    let client: WebSocket | null = null;
    let upstream: WebSocket | null = null;
    /** Messages from the target before the client is accepted. */
    const early: { data: Buffer; binary: boolean }[] = [];
    const pair = {
      destroy(): void {
        client?.terminate();
        upstream?.terminate();
        socket.destroy();
        live.delete(pair);
      },
    };
    live.add(pair);
    const host = target.tls ? 'wss' : 'ws';
    // A client that asks for `/` reaches the target's own resource, so `--connect ws://HOST/chat` and
    // `wscat -c ws://127.0.0.1:PORT` record /chat.
    const path = resource === '/' ? (target.resource ?? '/') : resource;
    options.onConnection(index, path);
    // The handshake matters when the client said more than `ws` writes: it is then a step (§14.1).
    const handshakeStep = block.length > 0;
    if (handshakeStep) chunk('client', block, { message: { kind: 'handshake' } });

    connectSocket(target, options.timeoutMs, options.tls, { alpn: ['http/1.1'] }).then(
      (tcp) => {
        if (!live.has(pair)) {
          tcp.destroy();
          return;
        }
        tcp.setNoDelay(true);
        const ws = new WebSocket(`${host}://${authority(target)}${path}`, request.protocols, {
          createConnection: () => tcp,
          followRedirects: false,
          headers: request.headers,
        });
        upstream = ws;
        ws.once('upgrade', (res: IncomingMessage) => {
          if (handshakeStep) chunk('server', responseHead(res), { endsReply: true });
        });
        ws.once('unexpected-response', (_req, res: IncomingMessage) => {
          // The target's refusal is the client's: its status, headers and body (§14.1's refused step).
          const parts: Buffer[] = [];
          res.on('data', (data: Buffer) => parts.push(data));
          res.once('end', () => {
            const body = Buffer.concat(parts);
            if (!handshakeStep) chunk('client', Buffer.alloc(0), { message: { kind: 'handshake' } });
            chunk('server', Buffer.concat([responseHead(res), body]), { endsReply: true });
            const headers: string[] = [];
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
              const name = res.rawHeaders[i]!.toLowerCase();
              if (name !== 'transfer-encoding' && name !== 'content-length' && name !== 'connection')
                headers.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`);
            }
            socket.end(
              Buffer.concat([
                Buffer.from(
                  `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n${headers.join('')}` +
                    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
                  'latin1',
                ),
                body,
              ]),
            );
            ws.terminate();
            live.delete(pair);
          });
        });
        ws.on('message', (data: Buffer, binary: boolean) => {
          chunk('server', messageLine(data, binary));
          if (client === null) early.push({ data, binary });
          else if (client.readyState === WebSocket.OPEN) client.send(data, { binary });
        });
        ws.on('error', (err: Error) => {
          if (client === null) {
            options.onWarning?.(
              `conn${index + 1}: the WebSocket handshake with ${target.text} failed: ${err.message}`,
            );
            pair.destroy();
          }
        });
        ws.on('close', (code: number, reason: Buffer) => {
          // 1006: no close frame came, the connection broke; nothing a line shows.
          if (code !== 1006) chunk('server', closeLine(code, reason));
          if (client !== null) closeLike(client, code, reason);
          else socket.destroy();
        });
        ws.once('open', () => {
          if (ws.protocol !== '') chosen.set(req, ws.protocol);
          wss.handleUpgrade(req, socket, head, (accepted: WebSocket) => {
            client = accepted;
            for (const { data, binary } of early.splice(0)) accepted.send(data, { binary });
            accepted.on('message', (data: Buffer, binary: boolean) => {
              chunk('client', data, { message: { kind: binary ? 'binary' : 'text' } });
              if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary });
            });
            accepted.on('error', () => {});
            accepted.on('close', (code: number, reason: Buffer) => {
              live.delete(pair);
              if (ws.readyState !== WebSocket.OPEN) return;
              // A client gone without a close frame: the target's connection is closed as a replay's is.
              if (code === 1006) {
                ws.close(1000);
                return;
              }
              // A frame without a code (1005) goes on as 1000, the code a replay's `>>>! close` sends.
              const sent = code === 1005 ? 1000 : code;
              chunk('client', Buffer.alloc(0), {
                message: { kind: 'close', code: sent, reason: reason.toString('utf8') },
              });
              closeLike(ws, sent, reason);
            });
          });
        });
      },
      (err: Error) => {
        options.onWarning?.(`conn${index + 1}: ${err.message}`);
        pair.destroy();
      },
    );
  });

  return {
    server,
    get accepted() {
      return accepted;
    },
    destroy(): void {
      for (const pair of [...live]) pair.destroy();
      wss.close();
    },
  };
}
