#!/usr/bin/env node
// The Node floor for benchmark 1: the least a Node program can do to make COUNT sequential PING round trips on one
// connection (send PING, wait for +PONG, repeat; nothing pipelined), then half-close and wait for the server to
// close, as protodoc does at the end of a transcript. It checks every reply byte so that it does the same job.
// It reads `'data'` events, as a Node program usually does; with --onread it reads through net's `onread` into one
// buffer of its own instead, as protodoc's byte streams read (src/transports/socket-reader.ts): the floor for a Node
// client that uses that API (benchmark 1 prints protodoc against both).
//   node bench/raw-redis-client.mjs PORT [COUNT] [HOST] [--onread]
import { connect } from 'node:net';

const onread = process.argv.includes('--onread');
const args = process.argv.slice(2).filter((a) => a !== '--onread');
const port = Number(args[0]);
const count = Number(args[1] ?? 10_000);
const host = args[2] ?? '127.0.0.1';
if (!Number.isInteger(port) || !Number.isInteger(count)) {
  console.error('usage: node bench/raw-redis-client.mjs PORT [COUNT] [HOST] [--onread]');
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
const socket = onread
  ? connect({
      port,
      host,
      onread: {
        buffer,
        callback: (bytes) => {
          onChunk(buffer.subarray(0, bytes));
          return true;
        },
      },
    })
  : connect(port, host);
if (!onread) socket.on('data', onChunk);
socket.setNoDelay(true);
socket.on('connect', () => {
  sent = 1;
  socket.write(request);
});
socket.on('error', (err) => {
  console.error(`raw-redis-client: ${err.message}`);
  process.exit(1);
});
socket.on('close', () => {
  if (sent <= count) {
    console.error(`connection closed after ${sent - 1} of ${count} replies`);
    process.exit(1);
  }
});
