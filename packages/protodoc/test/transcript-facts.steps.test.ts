import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTranscriptFile } from '../src/load.js';
import { parseTranscript } from '../src/transcript.js';
import { scanSteps, stepFacts } from '../src/transcript-facts.js';
import type { Transcript } from '../src/transcript-model.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples', 'protodoc');

describe('stepFacts: what the steps use', () => {
  it('says what the parse built: connections in the order of their first step, and each special form', () => {
    const t = parseTranscript(
      [
        '>>>@b tcp://127.0.0.1:1',
        '>>> A',
        'ok',
        '>>>@main',
        '>>> B',
        '>>>~ (?<id>\\d+)',
        '>>>@c',
        '>>>?',
        '>>>@b',
        '>>>(vars) {{id}}',
        'ok',
        '>>>@d',
        '>>>! starttls',
      ].join('\n'),
      'f.txt',
    );
    const facts = stepFacts(t);
    expect(facts).toEqual({
      connections: ['b', 'main', 'c', 'd'],
      variables: true,
      special: true,
      webSocket: false,
    });
    expect(facts).toEqual(scanSteps(t.steps));
  });

  it('tells WebSocket-only steps and plain ones apart', () => {
    const plain = parseTranscript('>>> PING\n+PONG\n>>> PING\n+PONG\n', 'p.txt');
    expect(stepFacts(plain)).toEqual({
      connections: ['main'],
      variables: false,
      special: false,
      webSocket: false,
    });
    for (const ws of ['>>>! handshake\n>>> x\n', '>>> x\n>>>! close 1000\n', '>>>(binary) x\n']) {
      const t = parseTranscript(ws, 'w.txt');
      expect(stepFacts(t).webSocket).toBe(true);
      expect(stepFacts(t)).toEqual(scanSteps(t.steps));
    }
  });

  it('records for every example transcript what a pass over its steps finds', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.txt') || f.endsWith('.md'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const path = join(EXAMPLES, file);
      for (const t of parseTranscriptFile(readFileSync(path), path)) {
        expect(stepFacts(t), file).toEqual(scanSteps(t.steps));
      }
    }
  });

  it('goes over steps built by hand, and again once their number changes', () => {
    const t: Transcript = {
      path: 'hand.txt',
      connections: [],
      steps: [{ connection: 'main', send: new Uint8Array(0), line: 1, expect: [] }],
    };
    expect(stepFacts(t)).toEqual({
      connections: ['main'],
      variables: false,
      special: false,
      webSocket: false,
    });
    t.steps.push({ connection: 'x', send: new Uint8Array(0), line: 2, expect: [], unwritten: 2 });
    expect(stepFacts(t)).toEqual({
      connections: ['main', 'x'],
      variables: false,
      special: true,
      webSocket: false,
    });
  });
});
