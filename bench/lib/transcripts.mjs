// Transcripts the benchmarks generate.

/** 10,000 PING round trips: nothing but the base rules, one step per round trip. */
export function pingTranscript(steps) {
  return '>>> PING\n+PONG\n'.repeat(steps);
}
