/**
 * Publishing on plain git, so a developer reads the bot's answers with git alone:
 * - every verdict as a git note under `refs/notes/premerge` on its candidate commit, and on the commit the target
 *   got when that is another one (a rebased landing), so `git log --notes=premerge master` shows which run tested
 *   each commit (`git fetch origin refs/notes/premerge:refs/notes/premerge`, `git notes --ref=premerge show SHA`);
 * - the bot's status in `refs/premerge/status`: an orphan commit, replaced at every publication (history does not
 *   grow), whose tree holds `status` (lines a shell reads: `git pu-status`), `status.json`, and `logs/SHA.log`, the
 *   end of each recent failure's log with known secrets redacted.
 * Pushes carry the bot's token as a push option, so a target and refs guarded by `hook install --protect` take them.
 */
import { type BotStatus, STATUS_FILE, STATUS_JSON, STATUS_LOGS, statusText } from './bot-status.js';
import { pushReason } from './errors.js';
import { tokenEnv } from './protect.js';
import type { PublishedVerdict, Publisher } from './publisher.js';
import { repoIdentity } from './repo-identity.js';
import type { Verdict } from './types.js';
import type { Mirror } from './workspace.js';

export const NOTES_REF = 'refs/notes/premerge';
export const STATUS_REF = 'refs/premerge/status';
/** The repository's notes as last fetched (the mirror's fetch refspec puts them there). */
const REMOTE_NOTES = 'refs/origin-notes/premerge';

/** The note text for a verdict: one line of JSON. */
export function noteText(v: Verdict): string {
  return JSON.stringify({
    kind: v.kind,
    branch: v.branch,
    sha: v.sha,
    base: v.base,
    tested: v.tested,
    target: v.target,
    durationMs: v.durationMs,
    exitCode: v.exitCode,
    ...(v.reason ? { reason: v.reason } : {}),
    ...(v.runId ? { runId: v.runId } : {}),
    at: v.at,
  });
}

/** `git fast-import` input for one orphan commit of `files` on `ref` (objects this small end up loose). */
function importStream(ref: string, files: ReadonlyMap<string, string>, at: Date): string {
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let out = `reset ${ref}\ncommit ${ref}\ncommitter premerge-bot <premerge-bot@localhost> ${Math.floor(at.getTime() / 1000)} +0000\n${data('premerge-bot status')}`;
  for (const [path, text] of files) out += `M 100644 inline ${path}\n${data(text)}`;
  return `${out}\n`;
}

export class GitPublisher implements Publisher {
  /** The repositories' identities (repo-identity.ts): stable names for the journal, never with credentials. */
  readonly destinations: readonly string[];
  private readonly mirror: Mirror;
  private readonly token: string | null;
  /** Where git reaches each destination. */
  private readonly urls: ReadonlyMap<string, string>;

  /** Publishes to `repo` (whose notes it builds on) and, in the three-repository layout, to `candidatesFrom`. */
  constructor(mirror: Mirror, repo: string, candidatesFrom: string | undefined, token: string | null) {
    this.mirror = mirror;
    const urls = new Map([[repoIdentity(repo), repo]]);
    if (candidatesFrom) urls.set(repoIdentity(candidatesFrom), candidatesFrom);
    this.urls = urls;
    this.destinations = [...urls.keys()];
    this.token = token;
  }

  async publish(
    destination: string,
    published: readonly PublishedVerdict[],
    status: BotStatus | null,
  ): Promise<string | null> {
    const verdicts = published.map((p) => p.verdict);
    const primary = destination === this.destinations[0];
    const refspecs: string[] = [];
    const args: string[] = [];
    let remoteSeen: string | null = null;
    if (verdicts.length > 0) {
      if (primary) {
        remoteSeen = await this.addNotes(verdicts);
        // On top of the notes as last fetched: a lease, so notes another bot pushed meanwhile are not lost.
        args.push(`--force-with-lease=${NOTES_REF}:${remoteSeen ?? ''}`);
        refspecs.push(`${NOTES_REF}:${NOTES_REF}`);
      } else refspecs.push(`+${NOTES_REF}:${NOTES_REF}`);
    }
    if (status) {
      await this.writeStatus(status);
      refspecs.push(`+${STATUS_REF}:${STATUS_REF}`);
    }
    if (refspecs.length === 0) return null;
    const push = [
      'push',
      '--quiet',
      '--porcelain',
      ...args,
      this.urls.get(destination) ?? destination,
      ...refspecs,
    ];
    const env = tokenEnv(this.token);
    let r = await this.mirror.run(push, [1, 128], env);
    // One state directory may serve a protected repository and one that takes no push options.
    if (env && r.code !== 0 && /does not support push options/.test(r.stderr))
      r = await this.mirror.run(push, [1, 128]);
    if (r.code !== 0) return pushReason(r.stdout, r.stderr);
    if (primary && verdicts.length > 0) {
      const now = await this.mirror.resolve(NOTES_REF);
      if (now) await this.mirror.run(['update-ref', REMOTE_NOTES, now]);
    }
    return null;
  }

  /**
   * Adds a note for each verdict (on its candidate commit, and on the commit the target got when rebased) on top of
   * the repository's notes as last fetched; returns that starting point.
   */
  private async addNotes(verdicts: readonly Verdict[]): Promise<string | null> {
    const env = await this.mirror.identityEnv();
    const remoteSeen = await this.mirror.resolve(REMOTE_NOTES);
    if (remoteSeen) await this.mirror.run(['update-ref', NOTES_REF, remoteSeen]);
    else await this.mirror.run(['update-ref', '-d', NOTES_REF], [1]);
    for (const v of verdicts) {
      const on = v.kind === 'landed' && v.tested !== v.sha ? [v.sha, v.tested] : [v.sha];
      for (const sha of on) {
        await this.mirror.run(
          ['notes', `--ref=${NOTES_REF}`, 'add', '--force', '-m', noteText(v), sha],
          undefined,
          env,
        );
      }
    }
    return remoteSeen;
  }

  /** Makes the mirror's `refs/premerge/status` a new orphan commit of `status`. */
  private async writeStatus(status: BotStatus): Promise<void> {
    const files = new Map<string, string>([
      [STATUS_FILE, statusText(status)],
      [
        STATUS_JSON,
        `${JSON.stringify({ ...status, logs: status.logs.map(({ sha, whole }) => ({ sha, path: `${STATUS_LOGS}/${sha}.log`, whole })) }, null, 2)}\n`,
      ],
    ]);
    for (const log of status.logs) files.set(`${STATUS_LOGS}/${log.sha}.log`, log.text);
    await this.mirror.run(
      ['fast-import', '--quiet', '--force'],
      undefined,
      undefined,
      importStream(STATUS_REF, files, new Date(status.seenAt)),
    );
  }
}
