// A tiny WebSocket server for examples/protodoc/websocket.txt: `node examples/protodoc/ws-server.mjs PORT`.
// On /chat it greets each client with a JSON welcome naming its session, answers `{"say": TEXT}` with
// `{"echo": TEXT}`, answers a binary message with its bytes reversed, and closes with code 4000 on `bye`.
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 8080);
const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/chat' });

server.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'welcome', session: randomBytes(4).toString('hex') }));
  ws.on('message', (data, isBinary) => {
    const bytes = /** @type {Buffer} */ (data);
    if (isBinary) {
      ws.send(Buffer.from(bytes).reverse(), { binary: true });
      return;
    }
    const text = bytes.toString();
    if (text === 'bye') {
      ws.close(4000, 'see you');
      return;
    }
    try {
      const { say } = JSON.parse(text);
      ws.send(JSON.stringify({ echo: say }, null, 1));
    } catch {
      ws.send(JSON.stringify({ error: 'not JSON' }));
    }
  });
});
server.on('listening', () => console.log(`listening on 127.0.0.1:${port}`));
// protodoc --server stops the whole process group with SIGTERM; close cleanly on it.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
