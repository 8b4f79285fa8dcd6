// Transcripts the benchmarks generate.

/**
 * `steps` PING round trips (10,000 in the benchmark): nothing but the base rules, one step per round trip.
 * @param {number} steps
 */
export function pingTranscript(steps) {
  return '>>> PING\n+PONG\n'.repeat(steps);
}
