/**
 * The App's webhook front end: a thin `node:http` adapter in front of @octokit/webhooks (probot's
 * `createNodeMiddleware` shape, with the answers issue 9 asks for). It reads at most GitHub's 25 MiB, verifies
 * `X-Hub-Signature-256` with `Webhooks.verify()` (constant time, @octokit/webhooks-methods) before anything is
 * parsed, asks {@link WebhookHandlerOptions.accept} whether the delivery is new (the journal of deliveries), answers,
 * and only then hands the event to `Webhooks.receive()`, so GitHub gets its answer well within its 10 s whatever
 * the work costs.
 *
 * | request | answer |
 * | --- | --- |
 * | another path | 404 |
 * | not a POST | 405 |
 * | a body over the limit (from `Content-Length`, or found while reading) | 413, connection closed |
 * | no `X-Hub-Signature-256`, or one that does not match | 401, nothing else happens |
 * | a content type other than JSON | 415 |
 * | no `X-GitHub-Event` or `X-GitHub-Delivery`, or a body that is not JSON | 400 |
 * | a delivery already handled (its `X-GitHub-Delivery` seen) | 200, nothing done again |
 * | any other event, handled or not | 202, then the work |
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmitterWebhookEvent, Webhooks } from '@octokit/webhooks';

/** Probot's path, which GitHub App settings usually name. */
export const WEBHOOK_PATH = '/api/github/webhooks';

/** GitHub caps a webhook payload at 25 MB (MiB, to be generous); a larger body is not GitHub's. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/** What the handler knows of a verified delivery when it asks whether it is new. */
export interface Delivery {
  id: string;
  name: string;
  payload: unknown;
}

export interface WebhookHandlerOptions {
  /** Verifies signatures and dispatches events (its `secret` is the App's webhook secret). */
  webhooks: Webhooks;
  /**
   * Called once a delivery is verified and parsed, before the answer: journals it and says whether it is new.
   * `false` (a redelivery, or a duplicate) answers 200 and does nothing else. Must not throw for a good delivery;
   * a throw answers 500 (GitHub can then redeliver).
   */
  accept: (delivery: Delivery) => boolean;
  /** Called when the work of a delivery (a `Webhooks.receive()` handler) failed. */
  onError?: (error: unknown, delivery: Delivery) => void;
  /** Called with every answer, for the log: the status and a few words. */
  onAnswer?: (answer: { status: number; reason: string; delivery?: string; event?: string }) => void;
  /** @default {@link WEBHOOK_PATH} */
  path?: string;
  /** @default {@link MAX_WEBHOOK_BYTES} */
  maxBodyBytes?: number;
}

/** A `node:http` request listener serving the webhook path. */
export function createWebhookHandler(
  options: WebhookHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const path = options.path ?? WEBHOOK_PATH;
  const limit = options.maxBodyBytes ?? MAX_WEBHOOK_BYTES;
  return (req, res) => {
    handle(req, res, options, path, limit).catch((error) => {
      // A bug of ours: answer (GitHub can redeliver) and keep serving.
      answer(res, 500, 'internal error', options);
      options.onError?.(error, { id: '', name: '', payload: null });
    });
  };
}

function answer(
  res: ServerResponse,
  status: number,
  reason: string,
  options: WebhookHandlerOptions,
  extra: { delivery?: string; event?: string; close?: boolean } = {},
): void {
  options.onAnswer?.({
    status,
    reason,
    ...(extra.delivery ? { delivery: extra.delivery } : {}),
    ...(extra.event ? { event: extra.event } : {}),
  });
  if (res.headersSent) return;
  const body = `${JSON.stringify({ message: reason })}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(extra.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: WebhookHandlerOptions,
  path: string,
  limit: number,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== path) return answer(res, 404, 'not found', options);
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return answer(res, 405, 'only POST is accepted here', options);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return tooLarge(req, res, options, true);
  const signature = header(req, 'x-hub-signature-256');
  if (!signature) {
    // Nothing of an unsigned request is read, let alone parsed.
    drop(req);
    return answer(res, 401, 'missing X-Hub-Signature-256', options, { close: true });
  }
  const body = await readBody(req, limit);
  // Found while reading: the rest is read and thrown away (node:http does, within the request timeout), so the
  // client, still sending, gets to read the answer.
  if (body === null) return tooLarge(req, res, options, false);
  const text = body.toString('utf8');
  let valid: boolean;
  try {
    valid = text.length > 0 && (await options.webhooks.verify(text, signature));
  } catch {
    valid = false;
  }
  if (!valid) return answer(res, 401, 'signature does not match', options);
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return answer(res, 415, 'expected Content-Type: application/json (set it in the App settings)', options);
  }
  const name = header(req, 'x-github-event');
  const id = header(req, 'x-github-delivery');
  if (!name || !id) return answer(res, 400, 'missing X-GitHub-Event or X-GitHub-Delivery', options);
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return answer(res, 400, 'the body is not JSON', options, { delivery: id, event: name });
  }
  if (payload === null || typeof payload !== 'object') {
    return answer(res, 400, 'the body is not a JSON object', options, { delivery: id, event: name });
  }
  const delivery: Delivery = { id, name, payload };
  if (!options.accept(delivery)) {
    return answer(res, 200, 'delivery already handled', options, { delivery: id, event: name });
  }
  answer(res, 202, 'accepted', options, { delivery: id, event: name });
  // The work happens after the answer; a failing handler is the App's to report.
  setImmediate(() => {
    options.webhooks
      .receive({ id, name, payload } as EmitterWebhookEvent)
      .catch((error: unknown) => options.onError?.(error, delivery));
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function tooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  options: WebhookHandlerOptions,
  close: boolean,
): void {
  if (close) drop(req);
  answer(res, 413, 'payload too large (GitHub sends at most 25 MiB)', options, { close });
}

/**
 * Discards whatever of a request's body is not read; with `Connection: close` on the answer, node:http closes the
 * socket once the answer is out, so a client that keeps sending is cut off there.
 */
function drop(req: IncomingMessage): void {
  req.resume();
}

/** The body, or null as soon as it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export interface WebhookServer {
  server: Server;
  port: number;
  /** `http://HOST:PORT/api/github/webhooks`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on `port` (0: any free one) and `host` with {@link createWebhookHandler}. Slow clients are cut off: a
 * request must arrive whole within 30 s (GitHub itself gives up after 10 s).
 */
export async function startWebhookServer(
  options: WebhookHandlerOptions & { port: number; host?: string },
): Promise<WebhookServer> {
  const server = createServer(createWebhookHandler(options));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  // Listening on every interface: this machine reaches it as localhost.
  const unspecified = address.address === '::' || address.address === '0.0.0.0';
  const host = unspecified
    ? 'localhost'
    : address.family === 'IPv6'
      ? `[${address.address}]`
      : address.address;
  return {
    server,
    port: address.port,
    url: `http://${host}:${address.port}${options.path ?? WEBHOOK_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
