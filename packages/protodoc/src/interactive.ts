/**
 * `protodoc check -i`: before each change `--update` would write, show it and ask (as cram's `-i` does,
 * without patch(1)): accept, skip, accept all the rest, or quit. Answers are read a line at a time, so
 * they can come from a terminal or a pipe (`printf 'y\nn\n' | protodoc check -i ...`); the end of the
 * input is a quit.
 */
import { createInterface } from 'node:readline';
import type { CliStream } from './cli.js';
import type { ChangeToDecide, Decision } from './update.js';

/** What the CLI hands to checkFiles as `update.decide`, and closes at the end. */
export interface Prompter {
  decide(change: ChangeToDecide): Promise<Decision>;
  close(): void;
}

/** The question, as printed; a test waits for this text to appear. */
export const QUESTION = 'Accept this change? [y]es, [n]o, [a]ll, [q]uit: ';

const ANSWERS: Record<string, Decision | 'all'> = {
  y: 'accept',
  yes: 'accept',
  n: 'skip',
  no: 'skip',
  s: 'skip',
  skip: 'skip',
  a: 'all',
  all: 'all',
  q: 'quit',
  quit: 'quit',
};

/**
 * A prompter that writes to `output` and reads answers from `input`.
 * @param render turns a change into what is shown before the question (its header and diff)
 */
export function createPrompter(
  input: NodeJS.ReadableStream,
  output: CliStream,
  render: (change: ChangeToDecide) => string,
): Prompter {
  const lines = createInterface({ input, terminal: false });
  const queue: string[] = [];
  let waiting: ((line: string | null) => void) | null = null;
  let ended = false;
  lines.on('line', (line) => {
    if (waiting !== null) {
      const resolve = waiting;
      waiting = null;
      resolve(line);
    } else {
      queue.push(line);
    }
  });
  lines.on('close', () => {
    ended = true;
    waiting?.(null);
    waiting = null;
  });
  const nextLine = (): Promise<string | null> => {
    const line = queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      waiting = resolve;
    });
  };
  // Typed at a terminal, an answer shows as it is typed; read from a pipe, it is written after the question.
  const echo = (input as { isTTY?: boolean }).isTTY !== true;
  let acceptAll = false;
  return {
    async decide(change: ChangeToDecide): Promise<Decision> {
      if (acceptAll) return 'accept';
      output.write(render(change));
      for (;;) {
        output.write(QUESTION);
        const line = await nextLine();
        if (line === null) {
          output.write('\n');
          return 'quit';
        }
        if (echo) output.write(`${line}\n`);
        const answer = ANSWERS[line.trim().toLowerCase()];
        if (answer === undefined) continue;
        if (answer === 'all') {
          acceptAll = true;
          return 'accept';
        }
        return answer;
      }
    },
    close(): void {
      lines.close();
    },
  };
}
