/**
 * The state one locked engine session works with: the journal (and what it says), the mirror, the trusted config,
 * the report being built. Recording a verdict goes through here so the journal, the report and the events agree.
 */
import { randomBytes } from 'node:crypto';
import type { PremergeConfig } from './config.js';
import type { RepoPaths } from './paths.js';
import { applyRecord, type Journal, type JournalRecord, type JournalState, summarize } from './store.js';
import type { EngineEvent, OnceReport, Verdict } from './types.js';
import type { Mirror } from './workspace.js';

export interface SessionInit {
  paths: RepoPaths;
  repo: string;
  candidatesFrom: string | undefined;
  mirror: Mirror;
  journal: Journal;
  records: JournalRecord[];
  tornLines: number;
  report: OnceReport;
  onEvent: ((e: EngineEvent) => void) | undefined;
  signal: AbortSignal | undefined;
  pollIntervalMs: number;
  maxBatch: number;
}

export class Session {
  readonly paths: RepoPaths;
  readonly repo: string;
  readonly candidatesFrom: string | undefined;
  readonly mirror: Mirror;
  readonly journal: Journal;
  readonly report: OnceReport;
  readonly signal: AbortSignal | undefined;
  readonly pollIntervalMs: number;
  readonly maxBatch: number;
  private readonly onEvent: ((e: EngineEvent) => void) | undefined;
  state: JournalState;
  config!: PremergeConfig;
  /** Where the mirror keeps the candidate branches: `candidatesFrom`'s when given, else `repo`'s. */
  get candidateRefs(): string {
    return this.candidatesFrom ? 'refs/cands/heads/' : 'refs/origin/heads/';
  }

  /** The target's commit as far as this session knows (updated by fetches and by our own landings). */
  targetSha = '';

  constructor(init: SessionInit) {
    this.paths = init.paths;
    this.repo = init.repo;
    this.candidatesFrom = init.candidatesFrom;
    this.mirror = init.mirror;
    this.journal = init.journal;
    this.report = init.report;
    this.signal = init.signal;
    this.pollIntervalMs = init.pollIntervalMs;
    this.maxBatch = init.maxBatch;
    this.onEvent = init.onEvent;
    this.state = summarize(init.records, init.tornLines);
  }

  /** Reports progress; a throwing listener must not break a landing. */
  emit(event: EngineEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // The listener's problem, not the bot's.
    }
  }

  /** Appends (and fsyncs) a journal record, then updates the derived state. */
  record(rec: JournalRecord): void {
    this.journal.append(rec);
    applyRecord(this.state, rec);
  }

  /** Records a verdict: journal first (fsynced), then report and event. */
  verdict(
    v: Omit<Verdict, 'at' | 'target' | 'configHash'> & Partial<Pick<Verdict, 'target' | 'configHash'>>,
  ): Verdict {
    const full: Verdict = {
      ...v,
      target: v.target ?? this.config.target,
      configHash: v.configHash ?? this.config.hash,
      at: new Date().toISOString(),
    };
    this.record({
      type: 'verdict',
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      verdict: full,
    });
    this.report.verdicts.push(full);
    this.emit({ type: 'verdict', verdict: full });
    return full;
  }

  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }
}

/** A fresh, sortable run id. */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}
