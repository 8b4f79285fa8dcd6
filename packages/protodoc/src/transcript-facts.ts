/**
 * What the checks before a run and the runner's start need to know about a transcript's steps, found in
 * one pass over them and kept: the connections they use, and whether any of them needs more than the
 * plain path (variables, captures, `>>>?`, a WebSocket-only form).
 *
 * Why one pass: a cold process interprets a loop over 10,000 steps once per loop, and V8 compiles each
 * such loop while it runs. The variables check, the transport registry, the byte streams' check and the
 * runner each made one of their own; without them, a check of 10,000 PINGs ran about 25 M instructions less.
 *
 * The parser records them as it builds the steps, so a parsed transcript costs no pass at all; any
 * other is gone over once. Kept while the transcript's `steps` array is the same array of the same
 * length (a parsed transcript is data nothing in protodoc changes; a caller who edits steps in place
 * and runs them again should run a copy).
 */
import type { Step, Transcript } from './transcript-model.js';

/** What a transcript's steps use, as {@link stepFacts} finds it. */
export interface StepFacts {
  /** The connections the steps run on, each once, in the order of their first step. */
  readonly connections: readonly string[];
  /** Some step uses a `{{name}}`. */
  readonly variables: boolean;
  /** Some step uses variables, captures a value or has a reply not written yet (`>>>?`). */
  readonly special: boolean;
  /** Some step is a `close` or `handshake` step or sends `binary`: forms only WebSocket connections take. */
  readonly webSocket: boolean;
}

const known = new WeakMap<readonly Step[], { length: number; facts: StepFacts }>();

/** The facts of a transcript's steps: those its parse recorded, else one indexed pass (then kept). */
export function stepFacts(transcript: Transcript): StepFacts {
  const steps = transcript.steps;
  const kept = known.get(steps);
  if (kept !== undefined && kept.length === steps.length) return kept.facts;
  const facts = scanSteps(steps);
  known.set(steps, { length: steps.length, facts });
  return facts;
}

/**
 * The parser's record of what it built (src/transcript.ts knows each fact as it makes the step that has
 * it), so a parsed transcript needs no pass at all. It must say what {@link scanSteps} would.
 */
export function recordStepFacts(steps: readonly Step[], facts: StepFacts): void {
  known.set(steps, { length: steps.length, facts });
}

/** The facts, found by going over the steps (exported for the test that holds the parser's to it). */
export function scanSteps(steps: readonly Step[]): StepFacts {
  const connections: string[] = [];
  let variables = false;
  let special = false;
  let webSocket = false;
  let previous: string | undefined;
  // Indexed, not for-of: an iterator result per step is garbage that the run's scavenges then pay for.
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.uses !== undefined) variables = true;
    if (step.captures !== undefined || step.unwritten !== undefined) special = true;
    if (step.close !== undefined || step.handshake !== undefined || step.binary !== undefined)
      webSocket = true;
    const name = step.connection;
    // Consecutive steps mostly share a connection: a long run of them costs one compare each.
    if (name === previous) continue;
    previous = name;
    if (!connections.includes(name)) connections.push(name);
  }
  return { connections, variables, special: special || variables, webSocket };
}
