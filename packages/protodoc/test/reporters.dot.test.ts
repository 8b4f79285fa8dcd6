/** The dot reporter: a mark per transcript as it ends, 80 to a line, then what did not pass and the summary. */
import { describe, expect, it } from 'vitest';
import { summarize } from '../src/summary.js';
import { everyStatus, passed } from './fixtures/results.js';
import { report } from './helpers/report.js';

describe('dot reporter', () => {
  it('writes one mark per transcript, 80 to a line', async () => {
    const results = Array.from({ length: 85 }, (_, i) => ({ ...passed, path: `t${i}.txt` }));
    const text = await report('dot', summarize(results, 1000));
    expect(text).toBe(
      `${'.'.repeat(80)}\n${'.'.repeat(5)}\n\n85 files, 170 steps: 170 passed, 0 failed, 0 skipped (1.00s)\n`,
    );
  });

  it('shows only the transcripts that did not simply pass, as pretty does, in colour when asked', async () => {
    const text = await report('dot', everyStatus);
    expect(text).toMatch(
      /^\.FE!-\n\nFAIL tests\/get\.txt \(3 steps: 1 passed, 1 failed, 1 skipped, 12ms\)\n/,
    );
    expect(text).not.toContain('examples/ping.txt');
    expect(text).not.toContain('docs/proto.md');
    const coloured = await report('dot', everyStatus, { color: true });
    expect(coloured.startsWith('\x1b[32m.\x1b[39m\x1b[1m\x1b[31mF\x1b[39m\x1b[22m')).toBe(true);
  });
});
