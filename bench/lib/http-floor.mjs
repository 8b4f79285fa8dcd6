// What benchmark 2's two floors share (bench/raw-http-client.mjs, bench/undici-http-client.mjs): their command line
// and the checks protodoc's transcript makes of each reply, so that both check exactly the same things.

/**
 * `SCRIPT h1|h2 PORT COUNT BODY`; a wrong command line exits 2 with the usage.
 * @param {string} script  the floor's name, for the usage line and its messages
 */
export function floorArgs(script) {
  const [mode, portText, countText, expectedBody] = process.argv.slice(2);
  const port = Number(portText);
  const count = Number(countText);
  if (
    (mode !== 'h1' && mode !== 'h2') ||
    !Number.isInteger(port) ||
    !Number.isInteger(count) ||
    !expectedBody
  ) {
    console.error(`usage: node bench/${script}.mjs h1|h2 PORT COUNT BODY`);
    process.exit(2);
  }
  /** Exits 1, naming the reply that differs. @param {string} why @returns {never} */
  const fail = (why) => {
    console.error(`${script}: ${why}`);
    process.exit(1);
  };
  return { mode: /** @type {'h1' | 'h2'} */ (mode), port, count, expectedBody, fail };
}

/**
 * The headers nginx sends for a static file, in order: the name as HTTP/1.1 spells it and a check of the value
 * (`Server` starts `nginx`, the values that vary are only present, the others exact). Over HTTP/2 the names are lower
 * case and there is no Connection header.
 * @param {'h1' | 'h2'} mode
 * @param {string} expectedBody  the body, whose length is the Content-Length
 * @returns {[string, (value: string) => boolean][]}
 */
export function nginxHeaders(mode, expectedBody) {
  const bodyLength = String(Buffer.byteLength(expectedBody));
  /** @type {[string, (value: string) => boolean][]} */
  const headers = [
    ['Server', (v) => v.startsWith('nginx')],
    ['Date', (v) => v.length > 0],
    ['Content-Type', (v) => v === 'text/plain'],
    ['Content-Length', (v) => v === bodyLength],
    ['Last-Modified', (v) => v.length > 0],
    ['Connection', (v) => v === 'keep-alive'],
    ['ETag', (v) => v.startsWith('"') && v.endsWith('"')],
    ['Accept-Ranges', (v) => v === 'bytes'],
  ];
  return mode === 'h1'
    ? headers
    : headers.filter(([name]) => name !== 'Connection').map(([name, ok]) => [name.toLowerCase(), ok]);
}
