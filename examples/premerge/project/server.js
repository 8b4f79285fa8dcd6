// Usage: node server.js PORT — serves the line protocol of reply.js on 127.0.0.1:PORT.
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { reply } from './reply.js';

const port = Number(process.argv[2] ?? 7000);
createServer((socket) => {
  createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
    const answer = reply(line);
    if (answer === '+BYE') socket.end(`${answer}\r\n`);
    else socket.write(`${answer}\r\n`);
  });
  socket.on('error', () => {});
}).listen(port, '127.0.0.1');
