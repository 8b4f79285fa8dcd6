/** SocketReader: the buffers a byte-stream socket reads into through `onread`, and when their bytes are told. */
import { describe, expect, it } from 'vitest';
import { SocketReader } from '../src/transports/socket-reader.js';

/** What libuv does on a read: writes the bytes into the buffer the reader gives, then calls back. */
function read(reader: SocketReader, bytes: Buffer): void {
  const { buffer, callback } = reader.onread;
  const into = typeof buffer === 'function' ? buffer() : buffer;
  expect(into.length).toBeGreaterThanOrEqual(bytes.length);
  into.set(bytes);
  callback(bytes.length, into);
}

/** `length` bytes that differ from read to read. */
function bytesOf(n: number, length: number): Buffer {
  return Buffer.alloc(length, n % 251);
}

describe('SocketReader', () => {
  it('hands over chunks that later reads never write into, across pools', () => {
    const reader = new SocketReader();
    const told: Buffer[] = [];
    reader.start((chunk) => told.push(chunk));
    const sent: Buffer[] = [];
    // 300 reads of 1,000 bytes: well past one 64 KB pool, so the pool is replaced several times.
    for (let i = 0; i < 300; i++) {
      const bytes = bytesOf(i, 1000);
      sent.push(bytes);
      read(reader, bytes);
    }
    expect(told).toHaveLength(300);
    for (let i = 0; i < 300; i++) expect(told[i]!.equals(sent[i]!)).toBe(true);
    expect(new Set(told.map((chunk) => chunk.buffer)).size).toBeGreaterThan(3);
  });

  it('keeps what is read before start() and tells it on the next tick, before later reads', async () => {
    const reader = new SocketReader();
    read(reader, Buffer.from('220 hello\r\n'));
    const told: string[] = [];
    reader.start((chunk) => told.push(chunk.toString()));
    expect(told).toEqual([]);
    read(reader, Buffer.from('more\r\n')); // before the tick: after the greeting
    await new Promise((resolve) => process.nextTick(resolve));
    expect(told).toEqual(['220 hello\r\n', 'more\r\n']);
    read(reader, Buffer.from('live\r\n'));
    expect(told).toEqual(['220 hello\r\n', 'more\r\n', 'live\r\n']);
  });

  it('tells nothing after stop(), also what was waiting for the tick', async () => {
    const reader = new SocketReader();
    read(reader, Buffer.from('early'));
    const told: string[] = [];
    reader.start((chunk) => told.push(chunk.toString()));
    reader.stop();
    await new Promise((resolve) => process.nextTick(resolve));
    read(reader, Buffer.from('late'));
    expect(told).toEqual([]);
  });
});
