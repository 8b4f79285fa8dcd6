// A tiny HTTP server for examples/protodoc/http*.txt: `node examples/protodoc/http-server.mjs PORT`, or
// `... PORT --h2c` for HTTP/2 in clear text (examples/protodoc/http2.txt, through `--connect h2c://...`).
// GET /hello answers a fixed text; POST /echo answers the request body back; POST /notes keeps the body
// as a note under a random id (`Location: /notes/ID`) for a random session (`Set-Cookie: session=...`),
// and GET /notes/ID answers it only with that session's cookie.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';

const port = Number(process.argv[2] ?? 8080);
const h2c = process.argv[3] === '--h2c';

/** @type {Map<string, { session: string, body: Buffer }>} notes by path */
const notes = new Map();

/**
 * One handler for both versions (node:http2's compatibility API has the same request and response).
 * @param {import('node:http').IncomingMessage | import('node:http2').Http2ServerRequest} req
 * @param {import('node:http').ServerResponse | import('node:http2').Http2ServerResponse} res
 */
function answer(req, res) {
  if (req.method === 'POST' && req.url === '/notes') {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const path = `/notes/${randomBytes(4).toString('hex')}`;
      const session = randomBytes(8).toString('hex');
      notes.set(path, { session, body: Buffer.concat(chunks) });
      res.writeHead(201, {
        Location: path,
        'Set-Cookie': `session=${session}; Path=/; HttpOnly`,
        'Content-Length': 0,
      });
      res.end();
    });
    return;
  }
  const note = req.method === 'GET' && req.url !== undefined ? notes.get(req.url) : undefined;
  if (note !== undefined) {
    const cookie = req.headers.cookie ?? '';
    if (!cookie.split(/;\s*/).includes(`session=${note.session}`)) {
      res.writeHead(403, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
      res.end('forbidden\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': note.body.length });
    res.end(note.body);
    return;
  }
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
}

const server = h2c ? createHttp2Server(answer) : createServer(answer);

server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
// protodoc --server stops the whole process group with SIGTERM; close cleanly on it.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
