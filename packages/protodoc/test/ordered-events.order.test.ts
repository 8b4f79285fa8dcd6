/**
 * Events of files that finish out of order come out in input order, one file after another: the head
 * file streams live, the others wait until every file before them is done.
 */
import { describe, expect, it } from 'vitest';
import { type IndexedEvent, OrderedEvents } from '../src/ordered-events.js';
import type { TraceEvent } from '../src/results.js';

function start(path: string): IndexedEvent {
  return { type: 'file-start', path, index: ['a', 'b', 'c'].indexOf(path) };
}

function sent(path: string): TraceEvent {
  return { type: 'sent', path, connection: 'main', at: 0, bytes: Buffer.from('PING\r\n') };
}

describe('OrderedEvents', () => {
  it('streams the head file live and releases the others in input order', () => {
    const seen: string[] = [];
    const events = new OrderedEvents(
      (event) => seen.push(`event ${event.type === 'file-start' ? event.path : event.type}`),
      (trace) => seen.push(`trace ${trace.path}`),
    );
    const [a, b, c] = [events.channel(0), events.channel(1), events.channel(2)];
    c.event(start('c'));
    c.trace(sent('c'));
    b.event(start('b'));
    a.event(start('a'));
    // Only the head's events went through.
    expect(seen).toEqual(['event a']);
    events.finish(2); // c is done before a and b
    a.trace(sent('a'));
    expect(seen).toEqual(['event a', 'trace a']);
    events.finish(0);
    // b is the head now: what it sent so far comes out, and from now on it streams live.
    expect(seen).toEqual(['event a', 'trace a', 'event b']);
    b.trace(sent('b'));
    expect(seen.at(-1)).toBe('trace b');
    events.finish(1);
    // c finished long ago: all of it comes out at once, after b.
    expect(seen).toEqual(['event a', 'trace a', 'event b', 'trace b', 'event c', 'trace c']);
  });
});
