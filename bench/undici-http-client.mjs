#!/usr/bin/env node
// The undici floor for benchmark 2: the least a Node program can do to make COUNT sequential GETs of PATH through
// undici on one keep-alive connection, with the checks of bench/raw-http-client.mjs (the status line, the headers in
// their order, `Server` starting `nginx`, the values that vary only present, the others exact, the exact body). It is
// what protodoc's http:// and h2:// transports cannot go below while undici is their HTTP client, set up as they set
// it up and as cheaply as undici allows: its Client alone (lib/dispatcher/client.js, not undici's index, which loads
// fetch, WebSocket and the rest), one Client, `dispatch()` with a handler of undici 7's own callbacks, and over
// HTTP/1.1 WebAssembly at V8's baseline tier (`--liftoff-only`, set before the first connection, as protodoc's CLI
// does; bench/README.md, benchmark 2, says why).
//   node bench/undici-http-client.mjs h1 PORT COUNT BODY   HTTP/1.1 in clear text
//   node bench/undici-http-client.mjs h2 PORT COUNT BODY   HTTP/2 over TLS (ALPN h2 only, any certificate)
// Exits 1 at the first reply that differs, naming it.
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { floorArgs, nginxHeaders } from './lib/http-floor.mjs';

const { mode, port, count, expectedBody, fail } = floorArgs('undici-http-client');
if (mode === 'h1') setFlagsFromString('--liftoff-only');
const require = createRequire(import.meta.url);
/** @type {typeof import('undici').Client} */
const Client = require('undici/lib/dispatcher/client.js');
const HEADERS = nginxHeaders(mode, expectedBody);
const STATUS_TEXT = mode === 'h1' ? 'OK' : '';

const client = new Client(`${mode === 'h1' ? 'http' : 'https'}://127.0.0.1:${port}`, {
  pipelining: 1,
  ...(mode === 'h2' ? { allowH2: true, connect: { rejectUnauthorized: false, ALPNProtocols: ['h2'] } } : {}),
});
/** @type {import('undici').Dispatcher.DispatchOptions} */
const request = { path: '/hello.txt', method: 'GET', headers: ['Host', '127.0.0.1'] };
let done = 0;
/** @type {Buffer[]} */
let chunks = [];

/** One handler for every request: they run one at a time. */
const handler = {
  onConnect() {},
  /**
   * @param {number} statusCode
   * @param {Buffer[]} rawHeaders
   * @param {() => void} _resume
   * @param {string} statusText
   */
  onHeaders(statusCode, rawHeaders, _resume, statusText) {
    if (statusCode !== 200 || statusText !== STATUS_TEXT)
      fail(`reply ${done + 1}: status ${statusCode} ${statusText}`);
    if (rawHeaders.length !== HEADERS.length * 2) fail(`reply ${done + 1}: ${rawHeaders.length / 2} headers`);
    for (let i = 0; i < HEADERS.length; i++) {
      const [name, ok] = /** @type {[string, (value: string) => boolean]} */ (HEADERS[i]);
      const value = String(rawHeaders[2 * i + 1]);
      if (String(rawHeaders[2 * i]) !== name || !ok(value))
        fail(`reply ${done + 1}: ${rawHeaders[2 * i]}: ${value}`);
    }
    return true;
  },
  /** @param {Buffer} chunk */
  onData(chunk) {
    chunks.push(chunk);
    return true;
  },
  onComplete() {
    const body = Buffer.concat(chunks).toString();
    chunks = [];
    if (body !== expectedBody) fail(`reply ${done + 1}: body ${JSON.stringify(body)}`);
    if (++done === count) client.close();
    else client.dispatch(request, handler);
  },
  /** @param {Error} err */
  onError(err) {
    fail(err.message);
  },
};
client.dispatch(request, handler);
