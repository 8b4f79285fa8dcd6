import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { type LaunchedServer, startMemcached } from './helpers/servers.js';

let memcached: LaunchedServer;
beforeAll(async () => {
  memcached = await startMemcached();
});
afterAll(async () => {
  await memcached?.stop();
});

describe('runner against memcached', () => {
  it('stores and reads a value, the block of a set sent together', async () => {
    const result = await run(
      '>>> set greeting 0 0 5\n>>> hello\nSTORED\n>>> get greeting\nVALUE greeting 0 5\nhello\nEND\n>>> version\nVERSION ...\n',
      { target: memcached.target },
    );
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed']);
  });

  it('fails when the transcript forgets the END line: it is not a pass', async () => {
    const result = await run(
      '>>> set k 0 0 1\n>>> v\nSTORED\n>>> get k\nVALUE k 0 1\nv\n>>> get k\nVALUE k 0 1\nv\n',
      {
        target: memcached.target,
      },
    );
    expect(statuses(result)).toEqual(['passed', 'passed', 'failed']);
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.line).toBe(8);
    expect(text(step.failure.received)).toBe('END\r\nVALUE k 0 1\r\nv\r\nEND\r\n');
  });

  it('shows the whole wrong reply of a miss', async () => {
    const result = await run('>>> get missing-key\nVALUE missing-key 0 1\nx\nEND\n', {
      target: memcached.target,
    });
    const step = failedStep(result);
    expect(step.failure.line).toBe(2);
    expect(text(step.failure.received)).toBe('END\r\n');
  });

  it('accepts a reply ended by the server closing (quit)', async () => {
    const result = await run('>>> version\nVERSION ...\n>>> quit\n', { target: memcached.target });
    expect(result.status).toBe('passed');
  });
});
