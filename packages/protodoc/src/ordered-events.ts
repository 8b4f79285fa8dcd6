/**
 * Parallel files, serial output: every file's events (progress and `-v`'s conversation) come out in
 * input order, one file after another, never interleaved. The first file not yet finished streams live;
 * the others' events wait in a buffer until every file before them has finished, and then come out at
 * once. Listeners see exactly what a run with `--jobs 1` would show them, only sooner.
 */
import type { RunEvent, TraceEvent } from './results.js';

/** A transcript's event, with the transcript's place in the run (`CheckEvent`). */
export type IndexedEvent = RunEvent & { index: number };

/** Where one file's events go. */
export interface FileChannel {
  event(event: IndexedEvent): void;
  trace(event: TraceEvent): void;
}

type Item = { kind: 'event'; event: IndexedEvent } | { kind: 'trace'; event: TraceEvent };

export class OrderedEvents {
  private readonly onEvent: ((event: IndexedEvent) => void) | undefined;
  private readonly onTrace: ((event: TraceEvent) => void) | undefined;
  /** Position of the first file not yet finished: its events go straight through. */
  private head = 0;
  private readonly waiting = new Map<number, Item[]>();
  private readonly finished = new Set<number>();

  constructor(onEvent?: (event: IndexedEvent) => void, onTrace?: (event: TraceEvent) => void) {
    this.onEvent = onEvent;
    this.onTrace = onTrace;
  }

  /** The channel of the file at `position` (0-based, input order). */
  channel(position: number): FileChannel {
    return {
      event: (event) => this.push(position, { kind: 'event', event }),
      trace: (event) => this.push(position, { kind: 'trace', event }),
    };
  }

  /** The file at `position` has sent its last event; the files after it may come out. */
  finish(position: number): void {
    this.finished.add(position);
    while (this.finished.has(this.head)) {
      this.finished.delete(this.head);
      this.head++;
      const items = this.waiting.get(this.head);
      if (items === undefined) continue;
      this.waiting.delete(this.head);
      for (const item of items) this.deliver(item);
    }
  }

  private push(position: number, item: Item): void {
    if (position === this.head) {
      this.deliver(item);
      return;
    }
    const items = this.waiting.get(position);
    if (items === undefined) this.waiting.set(position, [item]);
    else items.push(item);
  }

  private deliver(item: Item): void {
    if (item.kind === 'event') this.onEvent?.(item.event);
    else this.onTrace?.(item.event);
  }
}
