#!/usr/bin/env node
// bench/raw-redis-client.mjs reading the way protodoc's byte streams read (src/transports/socket-reader.ts): through
// net's `onread` into a buffer of its own, without the Readable stream's 'data' events. The same round trips and
// checks; the floor for a Node client that knows this API (benchmark 1 prints protodoc against both).
//   node bench/raw-redis-client-onread.mjs PORT [COUNT] [HOST]
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const count = Number(process.argv[3] ?? 10_000);
const host = process.argv[4] ?? '127.0.0.1';
if (!Number.isInteger(port) || !Number.isInteger(count)) {
  console.error('usage: node bench/raw-redis-client-onread.mjs PORT [COUNT] [HOST]');
  process.exit(2);
}

const request = Buffer.from('PING\r\n');
const reply = Buffer.from('+PONG\r\n');
let sent = 0;
let matched = 0; // bytes of the current reply matched so far

/** @param {Buffer} chunk */
function onChunk(chunk) {
  for (let i = 0; i < chunk.length; i++) {
    if (sent > count || chunk[i] !== reply[matched]) {
      console.error(`unexpected byte 0x${chunk.readUInt8(i).toString(16)} in reply ${sent}`);
      process.exit(1);
    }
    if (++matched === reply.length) {
      matched = 0;
      if (sent === count) {
        sent++; // anything more is unexpected
        socket.end();
      } else {
        sent++;
        socket.write(request);
      }
    }
  }
}

// One buffer, read into again and again: nothing here keeps a chunk past its callback.
const buffer = Buffer.allocUnsafe(64 * 1024);
const socket = connect({
  port,
  host,
  onread: {
    buffer,
    callback: (bytes) => {
      onChunk(buffer.subarray(0, bytes));
      return true;
    },
  },
});
socket.setNoDelay(true);
socket.on('connect', () => {
  sent = 1;
  socket.write(request);
});
socket.on('error', (err) => {
  console.error(`raw-redis-client-onread: ${err.message}`);
  process.exit(1);
});
socket.on('close', () => {
  if (sent <= count) {
    console.error(`connection closed after ${sent - 1} of ${count} replies`);
    process.exit(1);
  }
});
