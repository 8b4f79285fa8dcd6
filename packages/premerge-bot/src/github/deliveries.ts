/**
 * The App's journal of webhook deliveries: which `X-GitHub-Delivery` ids were already acted on (GitHub's UI and API
 * redeliver a delivery with the same id for 3 days, and a delivery can arrive twice), and who pushed each candidate
 * tip (a push event's `sender`, which only the webhook tells; reconcile falls back to the repository's activity).
 * One append-only JSONL file, each record fsynced before the delivery is answered, so a restart neither does a
 * delivery's work twice nor forgets a pusher. Records older than {@link DELIVERY_RETENTION_MS} are dropped when the
 * journal is opened (an atomic rewrite).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import { DELIVERY_RETENTION_MS, fsyncDir } from '../store.js';

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

type DeliveryRecord = {
  type: 'delivery';
  id: string;
  event: string;
  at: string;
  push?: PushHint;
};

export class DeliveryJournal {
  readonly path: string;
  private fd: number;
  private readonly seen = new Map<string, string>();
  /** `repositoryId ref after` → the latest pusher of that tip. */
  private readonly pushers = new Map<string, Pusher>();

  private constructor(path: string, fd: number, records: DeliveryRecord[]) {
    this.path = path;
    this.fd = fd;
    for (const r of records) this.apply(r);
  }

  /**
   * Opens the journal at `path` (creating it, mode 0600), keeping the records of the last
   * {@link DELIVERY_RETENTION_MS}; a torn last line (a crash mid-write) is ignored.
   */
  static open(path: string, now = Date.now()): DeliveryJournal {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const all = readRecords(path);
    const kept = all.filter((r) => now - Date.parse(r.at) < DELIVERY_RETENTION_MS);
    if (kept.length !== all.length || (all.length > 0 && !endsWithNewline(path))) rewriteFile(path, kept);
    const isNew = !existsSync(path);
    let fd: number;
    try {
      fd = openSync(path, 'a', 0o600);
    } catch (e) {
      throw new StateError(`cannot open the delivery journal ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (isNew) fsyncDir(dirname(path));
    return new DeliveryJournal(path, fd, kept);
  }

  /** Whether a delivery id was already acted on. */
  has(id: string): boolean {
    return this.seen.has(id);
  }

  /**
   * Records delivery `id` (and the push it carries) unless it is known: true when it is new and now journaled
   * (fsynced), false when it was seen before.
   */
  claim(id: string, event: string, push?: PushHint): boolean {
    if (this.seen.has(id)) return false;
    const record: DeliveryRecord = {
      type: 'delivery',
      id,
      event,
      at: new Date().toISOString(),
      ...(push ? { push } : {}),
    };
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
    this.apply(record);
    return true;
  }

  /** The pusher a push event named for `after` on `ref` of repository `repositoryId`, if one did. */
  pusherOf(repositoryId: number, ref: string, after: string): Pusher | undefined {
    return this.pushers.get(`${repositoryId} ${ref} ${after}`);
  }

  /** Records a pusher found another way (reconcile's activity lookup), so it is asked once. */
  rememberPusher(hint: PushHint): void {
    this.claim(`activity:${hint.repositoryId}:${hint.ref}:${hint.after}`, 'activity', hint);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private apply(r: DeliveryRecord): void {
    this.seen.set(r.id, r.at);
    if (r.push) this.pushers.set(`${r.push.repositoryId} ${r.push.ref} ${r.push.after}`, r.push.sender);
  }
}

function readRecords(path: string): DeliveryRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StateError(`cannot read the delivery journal ${path}: ${(e as Error).message}`, { cause: e });
  }
  const out: DeliveryRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line) as DeliveryRecord;
      if (r.type === 'delivery' && typeof r.id === 'string') out.push(r);
    } catch {
      // A torn last line: that delivery was not answered, so GitHub did not count it as delivered either.
    }
  }
  return out;
}

function endsWithNewline(path: string): boolean {
  const text = readFileSync(path);
  return text.length === 0 || text[text.length - 1] === 0x0a;
}

/** Replaces the journal with `records`, atomically (a crash leaves the old file or the new one). */
function rewriteFile(path: string, records: readonly DeliveryRecord[]): void {
  const tmp = `${path}.rewrite-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}
