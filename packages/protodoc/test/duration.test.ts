import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/duration.js';
import { UsageError } from '../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['0ms', 0],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 's', '5 sec', '-1s', '1.5.2s', '5S', 'abc', '1e3ms'])(
    'refuses %j with a usage error',
    (text) => {
      let caught: unknown;
      try {
        parseDuration(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UsageError);
      expect((caught as UsageError).code).toBe('PROTODOC_ERR_USAGE');
    },
  );
});
