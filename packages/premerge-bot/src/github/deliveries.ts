/**
 * The App's journal of webhook deliveries: which `X-GitHub-Delivery` ids were already acted on (GitHub's UI and API
 * redeliver a delivery with the same id for 3 days, and a delivery can arrive twice), and who pushed each candidate
 * tip (a push event's `sender`, which only the webhook tells; reconcile falls back to the repository's activity),
 * and which commits a "Re-run" (of a check run, or of all checks in a suite) asked to decide again.
 * One append-only JSONL file, each record fsynced before the delivery is answered, so a restart neither does a
 * delivery's work twice nor forgets a pusher. Records older than {@link DELIVERY_RETENTION_MS} are dropped when the
 * journal is opened (an atomic rewrite).
 */
import { DELIVERY_RETENTION_MS } from '../store.js';
import { JsonlJournal } from './jsonl.js';

/** Who pushed a branch tip, as a push event said. */
export interface Pusher {
  id: number;
  login: string;
}

/** A candidate tip a push event named, with its pusher. */
export interface PushHint {
  /** The repository's id (GitHub's, stable across renames). */
  repositoryId: number;
  /** `refs/heads/BRANCH`. */
  ref: string;
  /** The pushed tip. */
  after: string;
  sender: Pusher;
}

/** The pusher a delivery names, to journal with it: only a push (not a deletion) names one. */
export function pushHint(event: string, payload: unknown): PushHint | undefined {
  if (event !== 'push') return undefined;
  const p = payload as {
    repository?: { id?: number };
    ref?: string;
    after?: string;
    deleted?: boolean;
    sender?: { id?: number; login?: string };
  };
  if (p.deleted || typeof p.repository?.id !== 'number' || !p.ref || !p.after) return undefined;
  if (typeof p.sender?.id !== 'number' || typeof p.sender.login !== 'string') return undefined;
  return {
    repositoryId: p.repository.id,
    ref: p.ref,
    after: p.after,
    sender: { id: p.sender.id, login: p.sender.login },
  };
}

/**
 * A "Re-run" of one of the App's check runs (`check_run` `rerequested`), or "Re-run all checks" on the App's check
 * suite of a commit (`check_suite` `rerequested`): either asks to decide that commit again.
 */
export interface RerunHint {
  repositoryId: number;
  /** The check run's (or check suite's) commit: the candidate to decide again. */
  sha: string;
  /** Who asked (for the log: it vouches for nothing; the pusher's own role is asked again). */
  sender: Pusher;
}

type RerunPayload = {
  action?: string;
  check_run?: { head_sha?: string; app?: { id?: number } | null };
  check_suite?: { head_sha?: string; app?: { id?: number } | null; latest_check_runs_count?: number };
  repository?: { id?: number };
  sender?: { id?: number; login?: string };
};

/**
 * The re-run a delivery asks for, to journal with it: `check_run` `rerequested` for a check run of App `appId`, or
 * `check_suite` `rerequested` for a suite of App `appId` that holds a check run (GitHub sends those only to the App
 * that made the run or owns the suite; anything else is not ours to act on). GitHub makes an App a suite on every
 * push it may see; one with no run in it was never the bot's to decide.
 */
export function rerunHint(event: string, payload: unknown, appId: number): RerunHint | undefined {
  const p = payload as RerunPayload;
  if (p.action !== 'rerequested') return undefined;
  const of = event === 'check_run' ? p.check_run : event === 'check_suite' ? p.check_suite : undefined;
  if (of?.app?.id !== appId || typeof of.head_sha !== 'string') return undefined;
  if (event === 'check_suite' && p.check_suite?.latest_check_runs_count === 0) return undefined;
  if (typeof p.repository?.id !== 'number') return undefined;
  if (typeof p.sender?.id !== 'number' || typeof p.sender.login !== 'string') return undefined;
  return {
    repositoryId: p.repository.id,
    sha: of.head_sha,
    sender: { id: p.sender.id, login: p.sender.login },
  };
}

/** The records of the last {@link DELIVERY_RETENTION_MS}. */
function current(records: DeliveryRecord[], now: number): DeliveryRecord[] {
  return records.filter(
    (r) =>
      r.type === 'delivery' && typeof r.id === 'string' && now - Date.parse(r.at) < DELIVERY_RETENTION_MS,
  );
}

type DeliveryRecord = {
  type: 'delivery';
  id: string;
  event: string;
  at: string;
  push?: PushHint;
  rerun?: RerunHint;
};

export class DeliveryJournal {
  readonly path: string;
  /** Null for a journal only read ({@link DeliveryJournal.read}). */
  private readonly journal: JsonlJournal<DeliveryRecord> | null;
  private readonly seen = new Map<string, string>();
  /** `repositoryId ref after` → the latest pusher of that tip. */
  private readonly pushers = new Map<string, Pusher>();
  /** Repository id → commit → when its latest re-run was asked for. */
  private readonly reruns = new Map<number, Map<string, string>>();

  private constructor(path: string, journal: JsonlJournal<DeliveryRecord> | null, records: DeliveryRecord[]) {
    this.path = path;
    this.journal = journal;
    for (const r of records) this.apply(r);
  }

  /**
   * Opens the journal at `path` (creating it, mode 0600), keeping the records of the last
   * {@link DELIVERY_RETENTION_MS}; a torn last line (a crash mid-write: that delivery was not answered, so GitHub
   * did not count it as delivered either) is dropped.
   */
  static open(path: string, now = Date.now()): DeliveryJournal {
    const { journal, records } = JsonlJournal.open<DeliveryRecord>(path, 'delivery journal', (all) =>
      current(all, now),
    );
    return new DeliveryJournal(path, journal, records);
  }

  /**
   * The journal at `path` for reading only (`premerge-bot status` beside a running App): nothing is created or
   * rewritten, and {@link claim} throws.
   */
  static read(path: string, now = Date.now()): DeliveryJournal {
    return new DeliveryJournal(path, null, current(JsonlJournal.read(path, 'delivery journal'), now));
  }

  /** Whether a delivery id was already acted on. */
  has(id: string): boolean {
    return this.seen.has(id);
  }

  /**
   * Records delivery `id` (and the push or re-run it carries) unless it is known: true when it is new and now
   * journaled (fsynced), false when it was seen before.
   */
  claim(id: string, event: string, push?: PushHint, rerun?: RerunHint): boolean {
    if (this.seen.has(id)) return false;
    if (!this.journal) throw new Error(`the delivery journal ${this.path} was opened for reading only`);
    const record: DeliveryRecord = {
      type: 'delivery',
      id,
      event,
      at: new Date().toISOString(),
      ...(push ? { push } : {}),
      ...(rerun ? { rerun } : {}),
    };
    this.journal.append(record);
    this.apply(record);
    return true;
  }

  /** The pusher a push event named for `after` on `ref` of repository `repositoryId`, if one did. */
  pusherOf(repositoryId: number, ref: string, after: string): Pusher | undefined {
    return this.pushers.get(`${repositoryId} ${ref} ${after}`);
  }

  /** The commits of repository `repositoryId` a "Re-run" asked to decide again, with when (latest). */
  rerunsOf(repositoryId: number): ReadonlyMap<string, string> {
    return this.reruns.get(repositoryId) ?? new Map();
  }

  /** Records a pusher found another way (reconcile's activity lookup), so it is asked once. */
  rememberPusher(hint: PushHint): void {
    this.claim(`activity:${hint.repositoryId}:${hint.ref}:${hint.after}`, 'activity', hint);
  }

  close(): void {
    this.journal?.close();
  }

  private apply(r: DeliveryRecord): void {
    this.seen.set(r.id, r.at);
    if (r.push) this.pushers.set(`${r.push.repositoryId} ${r.push.ref} ${r.push.after}`, r.push.sender);
    if (r.rerun) {
      let shas = this.reruns.get(r.rerun.repositoryId);
      if (!shas) this.reruns.set(r.rerun.repositoryId, (shas = new Map()));
      if ((shas.get(r.rerun.sha) ?? '') < r.at) shas.set(r.rerun.sha, r.at);
    }
  }
}
