/**
 * The state one locked engine session works with: the journal (and what it says), the mirror, the trusted config,
 * the report being built. Recording a verdict goes through here so the journal, the report and the events agree.
 */
import { randomBytes } from 'node:crypto';
import type { PremergeConfig } from './config.js';
import { checkMirror, checkTreeGitDir } from './mirror-guard.js';
import type { RepoPaths } from './paths.js';
import type { Publisher } from './publisher.js';
import type { Runner } from './runner.js';
import { applyRecord, type Journal, type JournalRecord, type JournalState, summarize } from './store.js';
import { TREE_GIT_CONFIG } from './test-tree.js';
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
  /** The bot's token for a target protected by `hook install --protect`, when there is one. */
  pushToken: string | null;
  /** The most of a test's output a run's log keeps. */
  logLimit: number;
  /** Where verdicts and the status are published. */
  publisher: Publisher;
  /** A `watch`'s heartbeat: the status is published at least this often (ms). */
  heartbeatMs: number | undefined;
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
  readonly pushToken: string | null;
  readonly logLimit: number;
  readonly publisher: Publisher;
  readonly heartbeatMs: number | undefined;
  /** The publications in progress, one after another (publication.ts). */
  publishing: Promise<void> = Promise.resolve();
  /** What stops the bot from working (a bad config...), for the status it publishes. */
  problem: { code: string; message: string } | undefined;
  state: JournalState;
  config!: PremergeConfig;
  /** The config in force, once the scan read it. */
  get configIfRead(): PremergeConfig | undefined {
    return this.config as PremergeConfig | undefined;
  }
  /** The branch the trusted config was read from (the repository's default branch). */
  defaultBranch = '';
  /** The commit of the default branch the trusted config was read from, and the object id of its file. */
  trustedConfig: { commit: string; oid: string } | undefined;
  /** The mirror's refs as of the last scan (mirror.refs()). */
  refs = new Map<string, string>();
  /** Runs the tests (chosen for the config in force: see engine.ts). */
  runner!: Runner;
  /** The isolation settings {@link runner} was made for. */
  runnerKey: string | undefined;
  /** A candidate whose config change an operator approved (`land --config-change`). */
  approvedConfigChange: string | undefined;
  /** Where the mirror keeps the candidate branches: `candidatesFrom`'s when given, else `repo`'s. */
  get candidateRefs(): string {
    return this.candidatesFrom ? 'refs/cands/heads/' : 'refs/origin/heads/';
  }

  /** The candidate branches as of the last scan, with their tips. */
  candidateTips(): Array<{ branch: string; sha: string }> {
    const prefix = this.candidateRefs;
    return [...this.refs]
      .filter(([ref]) => ref.startsWith(prefix))
      .map(([ref, sha]) => ({ branch: ref.slice(prefix.length), sha }));
  }

  /** Refs the test's own checkout gets: the repository's tags, and the target at `base` as origin's. */
  testRefs(base: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [ref, sha] of this.refs) {
      if (ref.startsWith('refs/origin/tags/'))
        out.set(`refs/tags/${ref.slice('refs/origin/tags/'.length)}`, sha);
    }
    out.set(`refs/remotes/origin/${this.config.target}`, base);
    return out;
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
    this.pushToken = init.pushToken;
    this.logLimit = init.logLimit;
    this.publisher = init.publisher;
    this.heartbeatMs = init.heartbeatMs;
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

  /**
   * Throws MirrorTamperedError unless the bot's git directories hold only what it wrote (mirror-guard.ts); called
   * before the bot's git commands use them after anything a test could have done.
   */
  async guard(): Promise<void> {
    await checkMirror(this.mirror.gitDir);
    checkTreeGitDir(this.paths.treeGit, TREE_GIT_CONFIG, this.mirror.objectsDir);
  }

  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }
}

/** A fresh, sortable run id. */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}
