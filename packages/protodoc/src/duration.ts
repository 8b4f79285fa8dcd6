import { UsageError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)$/;

/**
 * Parses a duration as written on the command line or in `>>>! timeout`: a number and a unit
 * (`ms`, `s`, `m`, `h`), decimals allowed. The unit is required so `5` is never guessed to mean 5ms or 5s.
 * @returns milliseconds, rounded to a whole number.
 * @throws {UsageError} `PROTODOC_ERR_USAGE` for anything else.
 * @example parseDuration('1.5s') // 1500
 */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new UsageError(
      `invalid duration '${text}': expected a number and a unit (ms, s, m, h), e.g. 500ms or 5s`,
    );
  }
  return ms;
}

/** Like {@link parseDuration} but returns undefined instead of throwing (the parser reports its own error). */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** `500ms`, `5s`, `1.5s`: the way durations are written on the command line. */
export function formatMs(ms: number): string {
  return ms < 1000 || ms % 100 !== 0 ? `${ms}ms` : `${ms / 1000}s`;
}
