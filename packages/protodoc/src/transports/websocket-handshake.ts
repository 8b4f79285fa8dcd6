/**
 * The block of a `>>>! handshake` step (FORMAT §14.1) read as what the WebSocket opening handshake's
 * request adds: header lines `Name: value`, as an HTTP request's are written (§13), with
 * `Sec-WebSocket-Protocol` as the subprotocols offered. `ws` writes the request line and the headers
 * the protocol itself needs (RFC 6455 §4.1), and checks the answer against them: a block cannot
 * choose those.
 */

/** The headers a handshake step adds to the opening handshake's request. */
export interface HandshakeRequest {
  /** Header values by name as first written (names compare case-insensitively; repeats in order). */
  headers: Record<string, string[]>;
  /** The subprotocols offered (`Sec-WebSocket-Protocol`), in order: `ws` checks the server picks one. */
  protocols: string[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible latin1 text, spaces and tabs: no CR, LF or other control byte can go into a header.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What `ws` writes itself, and why a block cannot: each is part of the protocol's own handshake. */
const WRITTEN_BY_WS: Record<string, string> = {
  'sec-websocket-key': 'the key is random for each handshake, and the answer is checked against it',
  'sec-websocket-version': 'the version is 13 (RFC 6455)',
  'sec-websocket-extensions': 'ws offers the extensions it implements (permessage-deflate)',
  upgrade: 'a WebSocket handshake always asks for Upgrade: websocket',
  connection: 'a WebSocket handshake always sends Connection: Upgrade',
};

/**
 * Reads a handshake step's block: each line (ending in CRLF or LF, the last one may have none) is a
 * header `Name: value`; the value's leading and trailing spaces and tabs are not part of it.
 * `Sec-WebSocket-Protocol` lines give the subprotocols, comma-separated tokens, each offered once.
 * @returns the request, or what is wrong with the block
 * @example parseHandshake(Buffer.from('Sec-WebSocket-Protocol: chat, v2\r\nOrigin: https://a.example\r\n'))
 *   // { headers: { Origin: ['https://a.example'] }, protocols: ['chat', 'v2'] }
 */
export function parseHandshake(block: Uint8Array): HandshakeRequest | string {
  const text = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('latin1');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const request: HandshakeRequest = { headers: {}, protocols: [] };
  const spelled = new Map<string, string>();
  for (const [k, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const which = `line ${k + 1} of the block`;
    if (line === '') return `${which} is empty: a handshake block is header lines only`;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    if (colon < 0 || !TOKEN.test(name)) return `${which} is not a header 'Name: value': ${line}`;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) return `the value of ${name} holds a control character`;
    const lower = name.toLowerCase();
    const why = WRITTEN_BY_WS[lower];
    if (why !== undefined) return `ws writes ${name} itself: ${why}`;
    if (lower === 'sec-websocket-protocol') {
      for (const protocol of value.split(',').map((p) => p.trim())) {
        if (!TOKEN.test(protocol)) {
          return `Sec-WebSocket-Protocol: '${protocol}' is not a subprotocol name (a token, RFC 6455 §4.1)`;
        }
        if (request.protocols.includes(protocol))
          return `Sec-WebSocket-Protocol: '${protocol}' is offered twice`;
        request.protocols.push(protocol);
      }
      continue;
    }
    const key = spelled.get(lower) ?? name;
    spelled.set(lower, key);
    (request.headers[key] ??= []).push(value);
  }
  return request;
}
