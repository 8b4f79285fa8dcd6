/**
 * What is particular to HTTP/2 on an `h2://` or `h2c://` connection (FORMAT §13.1). undici's client
 * speaks HTTP/2 on a socket whose `alpnProtocol` is `h2` (`connectH2` in its lib/dispatcher/client.js):
 * over TLS because the server chose `h2`, the only protocol offered; in clear text because it is set
 * here, which is what undici's own `useH2c` does to the sockets it connects itself.
 *
 * The request's header names go out in lower case (HTTP/2 has no other), `Host` as `:authority`, and
 * `Connection` not at all; the response's head is written `HTTP/2 STATUS` with no reason phrase (HTTP/2
 * has none), and header names as received.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { HttpWire } from './http-h1.js';
import { renderHead } from './http-h1.js';
import type { HttpRequest } from './http-request.js';
import type { Transport } from './transport.js';

/**
 * Marks `socket` as carrying HTTP/2 for undici and returns what an HTTP/2 exchange writes and reads. For
 * `-v`, each request is told to `conn.onSent` as the header fields undici gave Node's http2 (pseudo-header
 * fields first, as on the wire), then its body.
 */
export function connectH2(socket: Socket, conn: Transport): HttpWire {
  // undici picks connectH2 by this property alone; a TLS socket has it from ALPN.
  if ((socket as Socket & { alpnProtocol?: unknown }).alpnProtocol !== 'h2') {
    Object.defineProperty(socket, 'alpnProtocol', { value: 'h2', configurable: true });
  }
  if (conn.onSent !== null) traceRequests(socket, conn);
  return {
    options(request) {
      return {
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body,
      };
    },
    head(statusCode, _statusMessage, rawHeaders) {
      return renderHead(`HTTP/2 ${statusCode}`, rawHeaders);
    },
    // undici keeps an HTTP/2 session open whatever `Connection` said; the transcript asked for a close.
    closesAfter: (request: HttpRequest) => request.close,
  };
}

/** What undici publishes on `undici:client:sendHeaders` (its types do not export the message's). */
interface SendHeadersMessage {
  request: { body?: unknown };
  /** `name: value` CRLF for each field, as given to Node's http2 (names in lower case). */
  headers: string;
  socket: Socket;
}

/** The traced connection of each socket whose requests undici reports. */
const traced = new WeakMap<Socket, Transport>();
let subscribed = false;

/**
 * Tells `conn.onSent` each request as undici hands it to HTTP/2, from undici's `sendHeaders` diagnostics
 * channel (subscribed once, on the first traced connection): the fields are undici's, not rebuilt here.
 */
function traceRequests(socket: Socket, conn: Transport): void {
  traced.set(socket, conn);
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:client:sendHeaders', (message) => {
    const { request, headers, socket: on } = message as SendHeadersMessage;
    const to = traced.get(on);
    if (to?.onSent == null) return;
    // Node's http2 sends every name in lower case, as HTTP/2 requires (RFC 9113 §8.2.1).
    const fields = headers
      .split('\r\n')
      .filter((line) => line !== '')
      .map((line) => {
        const colon = line.indexOf(':', 1);
        return line.slice(0, colon).toLowerCase() + line.slice(colon);
      });
    // Node's http2 writes the pseudo-header fields first (RFC 9113 §8.3); undici lists them last.
    const ordered = [...fields.filter((f) => f.startsWith(':')), ...fields.filter((f) => !f.startsWith(':'))];
    to.onSent(to, Buffer.from(`${ordered.join('\r\n')}\r\n\r\n`, 'latin1'));
    const body = request.body;
    if (body instanceof Uint8Array && body.length > 0) to.onSent(to, body);
  });
}
