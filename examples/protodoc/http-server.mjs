// A tiny HTTP server for examples/protodoc/http.txt: `node examples/protodoc/http-server.mjs PORT`.
// Two routes: GET /hello answers a fixed text; POST /echo answers the request body back.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 8080);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 6 });
    res.end('hello\n');
    return;
  }
  if (req.method === 'POST' && req.url === '/echo') {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.end(body);
    });
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
  res.end('not found\n');
});

server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
// protodoc --server stops the whole process group with SIGTERM; close cleanly on it.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
