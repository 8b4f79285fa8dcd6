/**
 * `protodoc record`'s model of a conversation: what the proxy saw (chunks of bytes, each from a client or
 * from the server, on a numbered connection, with the time it arrived) cut into steps as a transcript
 * replays them (DECISIONS.md, FORMAT §17):
 *
 * - a step is one connection's client bytes up to the first server byte; its reply is the server bytes
 *   that follow on that connection until its client sends again, until the connection has been quiet for
 *   the settle time, or until a client on another connection sends (a replay runs one step at a time, so
 *   bytes that came after another connection's send may have been caused by it: they go after it);
 * - server bytes that belong to no open step (a greeting, a pushed message, the rest of a reply after
 *   another connection sent) are a step that sends nothing;
 * - a line is never cut in two between steps: a reply that ends in the middle of a line takes the rest
 *   of that line, unless its own client sent first (then the line has no ending: a prompt);
 * - steps are in the order of their first byte.
 *
 * Pure and synchronous: the proxy (src/record.ts) only appends chunks; everything here runs once, when
 * the recording stops.
 */

/**
 * What a WebSocket client sent (FORMAT §14): a text or binary message, a close frame, or the headers of
 * its opening handshake (§14.1). Each is a step of its own: a message says where it ends.
 */
export type ClientMessage =
  | { kind: 'text' }
  | { kind: 'binary' }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'handshake' };

/** One piece of traffic the proxy forwarded. */
export interface RecordedChunk {
  /** The connection, numbered from 0 in the order clients connected. */
  connection: number;
  /** Who sent it: the client (a send), or the server (a reply). */
  from: 'client' | 'server';
  /** When it arrived, in milliseconds (any monotonic clock: only differences count). */
  at: number;
  bytes: Uint8Array;
  /** A WebSocket client's message (`bytes` are its own, or a handshake's header lines). */
  message?: ClientMessage;
  /** Nothing after it is the same reply: a handshake's answer, after which messages are steps of their own. */
  endsReply?: boolean;
}

/** A step of a recording: what one connection's client sent, and what the server answered. */
export interface RecordedStep {
  connection: number;
  /** The client's bytes; empty for a step that sends nothing (a greeting, a pushed message). */
  send: Uint8Array;
  /** The server's bytes. */
  reply: Uint8Array;
  /** The WebSocket message the step sends (`send` its bytes). */
  message?: ClientMessage;
}

/** A step being built. */
interface Open {
  connection: number;
  message?: ClientMessage;
  send: Uint8Array[];
  reply: Uint8Array[];
  /** Takes more client bytes (nothing came from the server yet, no other client sent since). */
  sending: boolean;
  /** Takes more server bytes. */
  replying: boolean;
  /** Closed in the middle of a line: takes server bytes up to the next LF still. */
  midLine: boolean;
  /** When its last server byte came (or its first client byte, before any). */
  lastServerAt: number;
  /** The last byte of its reply so far was an LF (or there is no reply yet). */
  endsLine: boolean;
}

const LF = 0x0a;

/**
 * Cuts the traffic of a recording into steps, in the order of their first byte.
 * @param chunks every chunk the proxy forwarded, in the order it forwarded them
 * @param settleMs the quiet period that ends a reply (`--settle`)
 * @example segmentRecording([{ connection: 0, from: 'client', at: 0, bytes: ping }, { connection: 0, from: 'server', at: 1, bytes: pong }], 200)
 *   // [{ connection: 0, send: ping, reply: pong }]
 */
export function segmentRecording(chunks: readonly RecordedChunk[], settleMs: number): RecordedStep[] {
  const steps: Open[] = [];
  /** The last step of each connection. */
  const last = new Map<number, Open>();
  /** Steps that still take bytes (sending or replying): a client's send on another connection ends them. */
  const open = new Set<Open>();

  const start = (connection: number, at: number): Open => {
    const step: Open = {
      connection,
      send: [],
      reply: [],
      sending: false,
      replying: true,
      midLine: false,
      lastServerAt: at,
      endsLine: true,
    };
    steps.push(step);
    last.set(connection, step);
    open.add(step);
    return step;
  };
  /** No more bytes for this step, but for the rest of a line it is in the middle of (`finishLine`). */
  const close = (step: Open, finishLine: boolean): void => {
    step.sending = false;
    step.replying = false;
    step.midLine = finishLine && !step.endsLine;
    open.delete(step);
  };
  const addReply = (step: Open, bytes: Uint8Array, at: number): void => {
    step.reply.push(bytes);
    step.lastServerAt = at;
    step.endsLine = bytes[bytes.length - 1] === LF;
  };

  for (const chunk of chunks) {
    const { connection, at } = chunk;
    let bytes = chunk.bytes;
    const message = chunk.message;
    // An empty message is a message; empty bytes of a stream are nothing.
    if (bytes.length === 0 && message === undefined) continue;
    const mine = last.get(connection);
    if (chunk.from === 'client') {
      // A send ends every other connection's step: a replay sends this only after they are done.
      for (const other of open) if (other.connection !== connection) close(other, true);
      if (mine?.sending && message === undefined) {
        mine.send.push(bytes);
        continue;
      }
      // Its own client speaking ends a reply for good: a line without its ending is a prompt.
      if (mine !== undefined) close(mine, false);
      const step = start(connection, at);
      // Until its first reply byte (however late: a blocking command); a message takes no more sends,
      // though: it is a block of its own, and the next one the next step, reply or not.
      step.sending = true;
      step.replying = true;
      step.send.push(bytes);
      if (message !== undefined) step.message = message;
      continue;
    }
    // After a client's close frame, all its server sends is the answer to it (messages under way, the
    // close frame), however late: a replay's `>>>! close` step waits for them.
    if (mine?.message?.kind === 'close') {
      addReply(mine, bytes, at);
      continue;
    }
    // Quiet for the settle time: the reply was over.
    if (mine?.replying && !mine.sending && at - mine.lastServerAt > settleMs) close(mine, true);
    if (mine?.midLine) {
      // The rest of a line that began in this step's reply.
      const lf = bytes.indexOf(LF);
      const end = lf < 0 ? bytes.length : lf + 1;
      addReply(mine, bytes.subarray(0, end), at);
      mine.midLine = lf < 0;
      if (end === bytes.length) continue;
      bytes = bytes.subarray(end);
    }
    let current = last.get(connection);
    if (current?.replying) current.sending = false;
    else current = start(connection, at);
    addReply(current, bytes, at);
    if (chunk.endsReply === true) close(current, false);
  }
  return withoutReplayEnd(
    steps.map((step) => ({
      connection: step.connection,
      send: join(step.send),
      reply: join(step.reply),
      ...(step.message === undefined ? {} : { message: step.message }),
    })),
  );
}

const CLOSE_LINE = Buffer.from('\\close ');

/**
 * The steps without the close frames a replay sends by itself at its end (FORMAT §14: code 1000 on
 * each WebSocket still open), with the server's answers: a client's close 1000 without a reason that
 * only such closes and answers follow.
 */
function withoutReplayEnd(steps: RecordedStep[]): RecordedStep[] {
  let from = steps.length;
  const isEndClose = (step: RecordedStep): boolean =>
    step.message?.kind === 'close' && step.message.code === 1000 && step.message.reason === '';
  const isAnswer = (step: RecordedStep): boolean =>
    step.send.length === 0 &&
    step.message === undefined &&
    Buffer.from(step.reply).subarray(0, 7).equals(CLOSE_LINE);
  while (from > 0 && (isEndClose(steps[from - 1]!) || isAnswer(steps[from - 1]!))) from--;
  if (from === steps.length) return steps;
  const closed = new Set(
    steps
      .slice(from)
      .filter(isEndClose)
      .map((step) => step.connection),
  );
  return steps.filter(
    (step, i) => i < from || !(isEndClose(step) || (isAnswer(step) && closed.has(step.connection))),
  );
}

const EMPTY = new Uint8Array(0);

function join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}
