// Transcripts the benchmarks generate.

/**
 * `steps` PING round trips (10,000 in the benchmark): nothing but the base rules, one step per round trip.
 * @param {number} steps
 */
export function pingTranscript(steps) {
  return '>>> PING\n+PONG\n'.repeat(steps);
}

/**
 * One GET of `/hello.txt` from nginx and the reply protodoc expects (benchmark 2): the status line, nginx's
 * headers with `...` for the values that change (version, dates, ETag), the body. Over HTTP/2 the status line
 * has no reason phrase, the names are lower case and there is no Connection header (FORMAT.md §13.1).
 * @param {'h1' | 'h2'} version
 * @param {string} served  the file nginx serves (its length is the Content-Length expected)
 * @param {string} [body]  the body line expected; by default the served file without its line ending
 */
export function httpExchange(version, served, body = served.trimEnd()) {
  const length = Buffer.byteLength(served);
  const head =
    version === 'h1'
      ? ['HTTP/1.1 200 OK', 'Server: nginx...', 'Date: ...', 'Content-Type: text/plain']
          .concat([`Content-Length: ${length}`, 'Last-Modified: ...', 'Connection: keep-alive'])
          .concat(['ETag: "..."', 'Accept-Ranges: bytes'])
      : [
          'HTTP/2 200',
          'server: nginx...',
          'date: ...',
          'content-type: text/plain',
          `content-length: ${length}`,
        ].concat(['last-modified: ...', 'etag: "..."', 'accept-ranges: bytes']);
  return ['>>> GET /hello.txt HTTP/1.1', '>>> Host: 127.0.0.1', '>>>', ...head, '', body, ''].join('\n');
}
