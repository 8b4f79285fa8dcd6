/**
 * `hook install --protect`: a pre-receive hook in the repository that holds the target, refusing every update of
 * the target that does not come from premerge-bot, so that "every value the target takes is a tested commit" holds
 * against people too. The bot and the developers often push as the same account (one `git` user on a server), so
 * the bot's pushes are told apart by something only the bot holds: a random token in its state directory (`0600`),
 * sent as a push option (`git push -o premerge-bot-token=...`, over any transport). The hook keeps only the token's
 * SHA-256, so reading the hook gives nothing away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Second line of the pre-receive hook premerge-bot writes. */
export const PROTECT_MARKER = '# premerge-bot pre-receive hook';

/** The push option that carries the token. */
export const TOKEN_OPTION = 'premerge-bot-token';

/** Where the token lives in the state directory. */
export function tokenPath(stateDir: string): string {
  return join(stateDir, 'push-token');
}

/** The bot's token, or null when no `hook install --protect` made one for this state directory. */
export function readPushToken(stateDir: string): string | null {
  try {
    return readFileSync(tokenPath(stateDir), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** The token, made the first time (readable by the bot's user only). */
export function ensurePushToken(stateDir: string): string {
  const existing = readPushToken(stateDir);
  if (existing) return existing;
  const token = randomBytes(32).toString('hex');
  writeFileSync(tokenPath(stateDir), `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The environment that makes one git push carry the token as a push option (`push.pushOption`), never on a command
 * line (another user can read a process's command line in /proc, and error messages quote it).
 */
export function tokenEnv(token: string | null): NodeJS.ProcessEnv | undefined {
  return token
    ? {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'push.pushOption',
        GIT_CONFIG_VALUE_0: `${TOKEN_OPTION}=${token}`,
      }
    : undefined;
}

/** The refs only the bot writes (its verdicts and its status): guarded wherever a protect hook is installed. */
export const BOT_REFS = ['refs/notes/premerge', 'refs/premerge/*'] as const;

/**
 * The text of the pre-receive hook protecting `refs/heads/TARGET` (when `target` is given) and the bot's own refs
 * ({@link BOT_REFS}: nobody but the bot can publish a verdict). POSIX sh; needs `sha256sum` (coreutils).
 */
export function protectHookScript(target: string | null, hash: string): string {
  const ref = target === null ? '' : `refs/heads/${target}`;
  const quoted = `'${ref.replaceAll("'", `'\\''`)}'`;
  const what = `${target === null ? '' : `${ref} and `}its own refs (refs/notes/premerge, refs/premerge/*)`;
  return `#!/bin/sh
${PROTECT_MARKER} (written by \`premerge-bot hook install --protect\`; \`premerge-bot hook uninstall\` removes it).
# Only premerge-bot updates ${what}:
# an update of them that does not carry the bot's token as a push option is refused. The token is in the bot's
# state directory; this file holds only its SHA-256.
protected=${quoted}
expected=${hash}
bot=
i=0
while [ "$i" -lt "\${GIT_PUSH_OPTION_COUNT:-0}" ]; do
  eval "option=\\\${GIT_PUSH_OPTION_$i}"
  case $option in
    ${TOKEN_OPTION}=*)
      given=$(printf %s "\${option#${TOKEN_OPTION}=}" | sha256sum 2>/dev/null | cut -d' ' -f1)
      [ -n "$given" ] && [ "$given" = "$expected" ] && bot=1 ;;
  esac
  i=$((i + 1))
done
status=0
while read -r old new ref; do
  [ -n "$bot" ] && continue
  if [ -n "$protected" ] && [ "$ref" = "$protected" ]; then
    echo "premerge-bot: $protected only takes tested commits: push your work to a candidate branch (git pup) and premerge-bot lands it once its test passes" >&2
    status=1
  fi
  case $ref in
    refs/notes/premerge | refs/premerge/*)
      echo "premerge-bot: $ref is written by premerge-bot only: its verdicts cannot be pushed by anyone else" >&2
      status=1 ;;
  esac
done
exit $status
`;
}
