/**
 * The state one locked engine session works with: the journal (and what it says), the mirror, the trusted config,
 * the report being built. Recording a verdict goes through here so the journal, the report and the events agree.
 */
import { randomBytes } from 'node:crypto';
import type { BotStatus } from './bot-status.js';
import type { PremergeConfig } from './config.js';
import type { CandidateTip, Forge, ForgeSnapshot } from './forge.js';
import { checkMirror, checkTreeGitDir } from './mirror-guard.js';
import type { RepoPaths } from './paths.js';
import type { Runner } from './runner.js';
import { applyRecord, type Journal, type JournalRecord, type JournalState, summarize } from './store.js';
import { TREE_GIT_CONFIG } from './test-tree.js';
import type { EngineEvent, OnceReport, Verdict } from './types.js';
import type { Mirror } from './workspace.js';

export interface SessionInit {
  paths: RepoPaths;
  /** The repository as messages and statuses name it ({@link Forge.name}: no credentials); git gets the forge's URL. */
  repo: string;
  /** The candidates repository, named the same way. */
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
  /** The most of a test's output a run's log keeps. */
  logLimit: number;
  /** Where the repository lives: fetching, the trusted config, landing, publishing (forge.ts). */
  forge: Forge;
  /** A `watch`'s heartbeat: the status is published at least this often (ms). */
  heartbeatMs: number | undefined;
  /** Receives each status computed for publishing. */
  onStatus?: ((status: BotStatus) => void) | undefined;
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
  readonly logLimit: number;
  readonly forge: Forge;
  readonly heartbeatMs: number | undefined;
  readonly onStatus: ((status: BotStatus) => void) | undefined;
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
  /** What the forge's last fetch saw. */
  snapshot: ForgeSnapshot = { defaultBranch: '', branches: new Map(), tags: new Map(), candidates: [] };
  /** Runs the tests (chosen for the config in force: see engine.ts). */
  runner!: Runner;
  /** The isolation settings {@link runner} was made for. */
  runnerKey: string | undefined;
  /** A candidate whose config change an operator approved (`land --config-change`). */
  approvedConfigChange: string | undefined;
  /** The candidate branches as of the last scan, with their tips (every branch; the config selects). */
  candidateTips(): CandidateTip[] {
    return [...this.snapshot.candidates];
  }

  /** The tip of candidate branch `branch` as of the last scan, if it exists. */
  candidateTip(branch: string): string | undefined {
    return this.snapshot.candidates.find((c) => c.branch === branch)?.sha;
  }

  /** Refs the test's own checkout gets: the repository's tags, and the target at `base` as origin's. */
  testRefs(base: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [tag, sha] of this.snapshot.tags) out.set(`refs/tags/${tag}`, sha);
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
    this.logLimit = init.logLimit;
    this.forge = init.forge;
    this.heartbeatMs = init.heartbeatMs;
    this.onStatus = init.onStatus;
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
