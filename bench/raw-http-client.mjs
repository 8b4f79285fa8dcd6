#!/usr/bin/env node
// The Node floor for benchmark 2: the least a Node program can do to make COUNT sequential GETs of PATH on one
// keep-alive connection and check each reply as protodoc's transcript does (the status line, the eight headers in
// their order, `Server` starting `nginx`, the values that vary only present, the others exact, and the exact body).
//   node bench/raw-http-client.mjs h1 PORT COUNT BODY   HTTP/1.1 on a bare TCP socket, parsed here
//   node bench/raw-http-client.mjs h2 PORT COUNT BODY   HTTP/2 over TLS through node:http2 (any certificate)
// Exits 1 at the first reply that differs, naming it.
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { floorArgs, nginxHeaders } from './lib/http-floor.mjs';

const { mode, port, count, expectedBody, fail } = floorArgs('raw-http-client');
const PATH = '/hello.txt';
const HEADERS = nginxHeaders(mode, expectedBody);

if (mode === 'h1') {
  const request = Buffer.from(`GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  let done = 0;
  let pending = Buffer.alloc(0);
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('connect', () => socket.write(request));
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const headEnd = pending.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const lines = pending.toString('latin1', 0, headEnd).split('\r\n');
      const length = Number(lines.find((l) => l.startsWith('Content-Length: '))?.slice(16));
      if (pending.length < headEnd + 4 + length) return;
      const body = pending.toString('utf8', headEnd + 4, headEnd + 4 + length);
      pending = pending.subarray(headEnd + 4 + length);
      if (lines[0] !== 'HTTP/1.1 200 OK') fail(`reply ${done + 1}: status line ${lines[0]}`);
      if (lines.length !== HEADERS.length + 1) fail(`reply ${done + 1}: ${lines.length - 1} headers`);
      for (const [i, [name, ok]] of HEADERS.entries()) {
        const line = lines[i + 1] ?? '';
        if (!line.startsWith(`${name}: `) || !ok(line.slice(name.length + 2)))
          fail(`reply ${done + 1}: ${line}`);
      }
      if (body !== expectedBody) fail(`reply ${done + 1}: body ${JSON.stringify(body)}`);
      if (++done === count) {
        if (pending.length > 0) fail('bytes after the last reply');
        socket.end();
        return;
      }
      socket.write(request);
    }
  });
  socket.on('error', (err) => fail(err.message));
  socket.on('close', () => {
    if (done < count) fail(`connection closed after ${done} of ${count} replies`);
  });
} else {
  const session = http2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on('error', (err) => fail(err.message));
  let done = 0;
  const next = () => {
    const stream = session.request({ ':path': PATH, ':authority': '127.0.0.1' });
    /** @type {Buffer[]} */
    const chunks = [];
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) fail(`reply ${done + 1}: status ${headers[':status']}`);
      const names = Object.keys(headers).filter((name) => !name.startsWith(':'));
      if (names.join() !== HEADERS.map(([name]) => name).join()) fail(`reply ${done + 1}: headers ${names}`);
      for (const [name, ok] of HEADERS) {
        if (!ok(String(headers[name]))) fail(`reply ${done + 1}: ${name}: ${headers[name]}`);
      }
    });
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (body !== expectedBody) fail(`reply ${done + 1}: body ${JSON.stringify(body)}`);
      if (++done === count) session.close();
      else next();
    });
    stream.on('error', (err) => fail(err.message));
  };
  session.on('connect', next);
}
