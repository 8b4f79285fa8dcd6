/**
 * A WebSocket server in the test process (the `ws` package's), on a free 127.0.0.1 port: on its own, or
 * on an HTTP or HTTPS server the test made (its other requests, `wss://`). What it does with a
 * connection is the test's.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

export interface WebSocketTestServer {
  port: number;
  /** Drops every client, then stops listening (the HTTP(S) server too). */
  close(): Promise<void>;
}

export async function startWebSocketServer(options: {
  serve(ws: WebSocket, req: IncomingMessage): void;
  verifyClient?: ServerOptions['verifyClient'];
  handleProtocols?: ServerOptions['handleProtocols'];
  /** Listen with this server: one that answers other requests too, or has a certificate (`wss://`). */
  server?: HttpServer | HttpsServer;
}): Promise<WebSocketTestServer> {
  const { serve, server, ...handlers } = options;
  const wss = new WebSocketServer(
    server === undefined ? { host: '127.0.0.1', port: 0, ...handlers } : { server, ...handlers },
  );
  wss.on('connection', serve);
  await new Promise<void>((resolve) =>
    server === undefined ? wss.on('listening', resolve) : server.listen(0, '127.0.0.1', resolve),
  );
  const port = ((server ?? wss).address() as AddressInfo).port;
  return {
    port,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      if (server !== undefined) await new Promise((resolve) => server.close(resolve));
    },
  };
}
