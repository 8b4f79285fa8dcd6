/**
 * The forge on plain git (forge.ts): any repository git reaches by path or URL (a bare repository on this machine,
 * ssh, https), and in the three-repository layout a second one candidates are pushed to. It fetches into the bot's
 * mirror, reads the trusted config from the mirror's copy of the default branch, lands with
 * `git push --force-with-lease`, and publishes with git notes and the status ref (git-publisher.ts). Pushes carry
 * the token of `hook install --protect` as a push option, when the state directory has one.
 *
 * Ref layout it keeps inside the mirror (workspace.ts): `refs/origin/heads/*` and `refs/origin/tags/*` for the
 * repository, `refs/cands/heads/*` for the candidates repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushReason, RepoNotBareError, unreachable } from './errors.js';
import type {
  Authorization,
  CandidateTip,
  Forge,
  ForgeContext,
  ForgeSnapshot,
  LandRequest,
  LandResult,
  TrustedConfig,
} from './forge.js';
import { git } from './git.js';
import { GitPublisher } from './git-publisher.js';
import { readPushToken, tokenEnv } from './protect.js';
import type { Publisher } from './publisher.js';
import { repoIdentity, repoName } from './repo-identity.js';
import { localPath } from './repo-location.js';
import { trustedConfigOf } from './trusted-config.js';
import type { Mirror } from './workspace.js';

const HEADS = 'refs/origin/heads/';
const TAGS = 'refs/origin/tags/';
const CANDS = 'refs/cands/heads/';

/** The forge of a repository git reaches by path or URL. */
export class GitForge implements Forge {
  readonly identity: string;
  readonly name: string;
  readonly publisher: Publisher;
  private readonly mirror: Mirror;
  private readonly repo: string;
  private readonly candidatesFrom: string | undefined;
  private readonly pushToken: string | null;

  constructor(context: ForgeContext) {
    this.mirror = context.mirror;
    this.repo = context.repo;
    this.candidatesFrom = context.candidatesFrom;
    this.identity = repoIdentity(context.repo);
    this.name = repoName(context.repo);
    this.pushToken = readPushToken(context.stateDir);
    this.publisher = new GitPublisher(context.mirror, context.repo, context.candidatesFrom, this.pushToken);
  }

  secrets(): readonly string[] {
    return this.pushToken ? [this.pushToken] : [];
  }

  async fetch(): Promise<ForgeSnapshot> {
    // Two connections at once: the default branch is asked of the repository itself. When both fail, the fetch's
    // error is the one to show, whichever came first.
    const [fetched, head] = await Promise.allSettled([
      this.mirror.fetch(this.repo, this.candidatesFrom),
      this.defaultBranch(),
    ]);
    if (fetched.status === 'rejected') throw fetched.reason;
    if (head.status === 'rejected') throw head.reason;
    const defaultBranch = head.value;
    return this.snapshot(defaultBranch, await this.mirror.refs());
  }

  /** The branch the repository's HEAD names (its default branch); `master` when the server does not say. */
  private async defaultBranch(): Promise<string> {
    let out: string;
    try {
      out = (await git(['ls-remote', '--symref', this.repo, 'HEAD'])).stdout;
    } catch (e) {
      throw unreachable('read', this.name, e);
    }
    const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out);
    return m?.[1] ?? 'master';
  }

  private snapshot(defaultBranch: string, refs: ReadonlyMap<string, string>): ForgeSnapshot {
    const branches = new Map<string, string>();
    const tags = new Map<string, string>();
    const candidates: CandidateTip[] = [];
    const candidatePrefix = this.candidatesFrom ? CANDS : HEADS;
    for (const [ref, sha] of refs) {
      if (ref.startsWith(HEADS)) branches.set(ref.slice(HEADS.length), sha);
      else if (ref.startsWith(TAGS)) tags.set(ref.slice(TAGS.length), sha);
      if (ref.startsWith(candidatePrefix))
        candidates.push({ branch: ref.slice(candidatePrefix.length), sha });
    }
    return { defaultBranch, branches, tags, candidates };
  }

  readTrustedConfig(snapshot: ForgeSnapshot): Promise<TrustedConfig> {
    return trustedConfigOf(this.mirror, this.name, snapshot);
  }

  /**
   * Refuses a local repository that is not bare and has `target` checked out: git would refuse every landing push
   * (`receive.denyCurrentBranch`, unless set to `updateInstead`, `warn` or `ignore`). The common case, a bare
   * repository, costs a look at two files.
   */
  async checkTarget(target: string): Promise<void> {
    const dir = localPath(this.repo);
    if (dir === null) return;
    const dotGit = join(dir, '.git');
    let gitDir: string;
    if (existsSync(dotGit)) gitDir = dotGit;
    else if (
      existsSync(join(dir, 'HEAD')) &&
      /^\s*bare\s*=\s*false\s*$/im.test(readText(join(dir, 'config')))
    )
      gitDir = dir;
    else return;
    const r = await git(['--git-dir', gitDir, 'symbolic-ref', '--quiet', 'HEAD'], { okCodes: [1, 128] });
    if (r.stdout.trim() !== `refs/heads/${target}`) return;
    const deny = await git(['--git-dir', gitDir, 'config', '--get', 'receive.denyCurrentBranch'], {
      okCodes: [1],
    });
    if (/^(updateinstead|warn|ignore|false|no|off|0)$/i.test(deny.stdout.trim())) return;
    throw new RepoNotBareError(
      `${this.name} is not a bare repository and has ${target} checked out: git refuses to update a checked-out branch, so nothing could land there. Give --repo a bare repository (git clone --bare ${this.name} NAME.git, and push there), or check out another branch in ${this.name}`,
      this.name,
    );
  }

  /** One `ls-remote` of the candidates repository. */
  async currentTips(branches: readonly string[]): Promise<ReadonlyMap<string, string>> {
    return this.remoteTips(this.candidatesFrom ?? this.repo, branches);
  }

  private async remoteTips(repo: string, branches: readonly string[]): Promise<Map<string, string>> {
    const r = await this.mirror.run(['ls-remote', repo, ...branches.map((b) => `refs/heads/${b}`)]);
    const tips = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref?.startsWith('refs/heads/') && branches.includes(ref.slice(11)))
        tips.set(ref.slice(11), sha);
    }
    return tips;
  }

  /** Plain git knows no pushers: the config gate alone decides. */
  async authorize(): Promise<Authorization> {
    return { ok: true, approvesConfigChange: false };
  }

  async land({ target, expected, sha }: LandRequest): Promise<LandResult> {
    const ref = `refs/heads/${target}`;
    const env = tokenEnv(this.pushToken);
    const args = [
      'push',
      '--porcelain',
      '--quiet',
      `--force-with-lease=${ref}:${expected}`,
      this.repo,
      `${sha}:${ref}`,
    ];
    let push = await this.mirror.run(args, [1, 128], env);
    // One state directory may serve a protected repository and one that is not (and takes no push options).
    if (env && push.code !== 0 && /does not support push options/.test(push.stderr)) {
      push = await this.mirror.run(args, [1, 128]);
    }
    if (push.code === 0) {
      // The mirror's copy of the target follows, so `status` and the hook start from there before the next fetch.
      await this.mirror.run(['update-ref', `${HEADS}${target}`, sha]);
      return { status: 'landed' };
    }
    const message = pushReason(push.stdout, push.stderr);
    try {
      const current = (await this.remoteTips(this.repo, [target])).get(target) ?? null;
      if (current === sha) await this.mirror.run(['update-ref', `${HEADS}${target}`, sha]);
      return { status: 'refused', message, current };
    } catch {
      return { status: 'unknown', message };
    }
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
