/**
 * The server the golden transcripts talk to: a line protocol whose commands make it do each thing
 * a real server may do (answer, answer late, split a reply into single bytes, send raw bytes, close,
 * reset, stay silent, upgrade to TLS), so every rule of the format can be shown with a transcript.
 *
 * Commands (one per line; the client's line ending is not part of the command):
 *   ECHO TEXT        TEXT + CRLF              ECHOLF TEXT      TEXT + LF
 *   HEX HH..         those bytes, nothing else LINES N          `line 1` .. `line N`, CRLF each
 *   SPLIT TEXT       TEXT + CRLF, one byte per packet
 *   LATER MS TEXT    TEXT + CRLF after MS milliseconds
 *   SHOW             the NEXT line is not a command: it is answered with `got "RAW"`, its bytes
 *                    including the line ending, JSON-escaped (so sends can be checked byte for byte)
 *   SILENT           nothing                  QUIT             `bye` + CRLF, then close
 *   CLOSE            close without a word     RESET            reset the connection (RST)
 *   STARTTLS         `220 go ahead` + CRLF, then TLS with the test certificate
 *   anything else    `ERR unknown command 'WORD'` + CRLF
 * When the client half-closes, the server closes too, once its pending LATER replies are sent.
 *
 * Also a program, for `--server`: node tests/protodoc/playground.mjs PORT [--greeting TEXT]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {object} PlaygroundOptions
 * @property {string} [greeting] a line sent on connect, before any command (as SMTP servers greet)
 * @property {{ key: string | Buffer, cert: string | Buffer }} [tls] key and certificate (PEM) for STARTTLS
 * @property {number} [port] the port to listen on; 0 picks a free one
 */

const CRLF = '\r\n';

/**
 * @param {import('node:net').Socket} socket
 * @param {PlaygroundOptions} options
 * @param {(socket: import('node:net').Socket) => void} onUpgrade
 */
function serve(socket, options, onUpgrade) {
  let buffer = Buffer.alloc(0);
  let showNext = false;
  let pending = 0;
  let ended = false;
  let upgrading = false;
  const timers = new Set();

  const maybeEnd = () => {
    if (ended && pending === 0 && !socket.destroyed) socket.end();
  };
  /** @param {number} ms @param {() => void} fn */
  const later = (ms, fn) => {
    pending++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      pending--;
      if (!socket.destroyed) fn();
      maybeEnd();
    }, ms);
    timers.add(timer);
  };

  /** @param {Buffer} raw */
  const command = (raw) => {
    if (showNext) {
      showNext = false;
      socket.write(`got ${JSON.stringify(raw.toString('latin1'))}${CRLF}`);
      return;
    }
    const line = raw.toString('utf8').replace(/\r?\n$/, '');
    const space = line.indexOf(' ');
    const word = space === -1 ? line : line.slice(0, space);
    const rest = space === -1 ? '' : line.slice(space + 1);
    switch (word) {
      case 'ECHO':
        socket.write(rest + CRLF);
        break;
      case 'ECHOLF':
        socket.write(`${rest}\n`);
        break;
      case 'HEX':
        socket.write(Buffer.from(rest.replace(/\s+/g, ''), 'hex'));
        break;
      case 'LINES': {
        const lines = [];
        for (let i = 1; i <= Number(rest); i++) lines.push(`line ${i}${CRLF}`);
        socket.write(lines.join(''));
        break;
      }
      case 'SPLIT': {
        const bytes = Buffer.from(rest + CRLF);
        for (const [i, byte] of bytes.entries()) later(i, () => socket.write(Buffer.of(byte)));
        break;
      }
      case 'LATER': {
        const [ms, ...text] = rest.split(' ');
        later(Number(ms), () => socket.write(text.join(' ') + CRLF));
        break;
      }
      case 'SHOW':
        showNext = true;
        break;
      case 'SILENT':
        break;
      case 'QUIT':
        socket.end(`bye${CRLF}`);
        break;
      case 'CLOSE':
        socket.end();
        break;
      case 'RESET':
        socket.resetAndDestroy();
        break;
      case 'STARTTLS':
        if (!options.tls) {
          socket.write(`ERR no TLS here${CRLF}`);
          break;
        }
        socket.write(`220 go ahead${CRLF}`);
        // Whatever follows is the TLS handshake: stop reading lines from the plain socket.
        upgrading = true;
        socket.removeAllListeners('data');
        socket.removeAllListeners('end');
        onUpgrade(socket);
        break;
      default:
        socket.write(`ERR unknown command '${word}'${CRLF}`);
    }
  };

  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    let lf = buffer.indexOf(0x0a);
    while (lf !== -1 && !upgrading) {
      command(buffer.subarray(0, lf + 1));
      buffer = buffer.subarray(lf + 1);
      lf = buffer.indexOf(0x0a);
    }
  });
  socket.on('end', () => {
    ended = true;
    maybeEnd();
  });
  socket.on('close', () => {
    for (const timer of timers) clearTimeout(timer);
  });
  // Transcripts provoke resets and early closes on purpose.
  socket.on('error', () => {});
  if (options.greeting !== undefined) socket.write(options.greeting + CRLF);
}

/**
 * Starts a playground on 127.0.0.1.
 * @param {PlaygroundOptions} options
 * @returns {Promise<{ port: number, close(): Promise<void> }>}
 */
export async function startPlayground(options = {}) {
  const sockets = new Set();
  /** @param {import('node:net').Socket} socket */
  const track = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  /** @param {import('node:net').Socket} plain */
  const upgrade = (plain) => {
    const secure = new TLSSocket(plain, { isServer: true, key: options.tls?.key, cert: options.tls?.cert });
    track(secure);
    // After the upgrade the same commands work, without a second greeting.
    serve(secure, { ...options, greeting: undefined }, () => {});
  };
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    track(socket);
    serve(socket, options, upgrade);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve(undefined));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('playground: no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve(undefined));
      }),
  };
}

// As a program: `node tests/protodoc/playground.mjs PORT [--greeting TEXT] [--tls KEY CERT]`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [port, ...rest] = process.argv.slice(2);
  /** @type {PlaygroundOptions} */
  const options = { port: Number(port) };
  const value = (/** @type {number} */ at) => {
    const text = rest[at];
    if (text === undefined) throw new Error(`playground: ${rest[at - 1]} needs a value`);
    return text;
  };
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--greeting') options.greeting = value(++i);
    else if (rest[i] === '--tls')
      options.tls = { key: readFileSync(value(++i)), cert: readFileSync(value(++i)) };
  }
  const playground = await startPlayground(options);
  process.on('SIGTERM', () => playground.close().then(() => process.exit(0)));
}
