#!/bin/sh
# premerge-bot in a minute: a bare "public" repository with the post-receive hook, a developer clone with the
# git aliases, and a small TCP server project whose premerge test runs `npm test` and protodoc transcripts.
# Then `git pup` pushes a change to pu, the hook starts the bot, and master moves to the tested commit; a broken
# change is pushed next and master stays where it is.
#
# Usage (from the repository root, after `npm ci`):  sh examples/premerge/demo.sh [DIR]
# DIR defaults to a new temporary directory; everything the demo makes lives there (the bot's state too).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/packages/premerge-bot/dist/cli.js" ] || { echo "demo: run npm ci (or npx tsc -b) first" >&2; exit 1; }
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/premerge-demo.XXXXXX")}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
state="$dir/state"

# premerge-bot and protodoc from this checkout come first on PATH; the bot passes PATH on to the project's test,
# which calls `protodoc` (in a project of your own, make protodoc a devDependency instead).
PATH="$root/node_modules/.bin:$PATH"
export PATH
# A fixed identity for the demo's commits, whatever the user's git config holds.
GIT_AUTHOR_NAME='Demo Developer' GIT_AUTHOR_EMAIL='dev@example.com'
GIT_COMMITTER_NAME='Demo Developer' GIT_COMMITTER_EMAIL='dev@example.com'
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
master() { git -C "$dir/public.git" rev-parse --short refs/heads/master; }

# Waits (up to two minutes) until the bot has a verdict for the commit this clone pushed, then prints it.
await_verdict() {
  code=0
  (cd "$dir/clone" && git pu-status --wait=2m) || code=$?
  [ "$code" -ne 2 ] || { echo "demo: no verdict after 2 minutes; see $state/hook.log" >&2; exit 1; }
}

say "1. A bare public repository, with master holding the project and its trusted .github/premerge.yml"
git init -q --bare -b master "$dir/public.git"
git clone -q "$dir/public.git" "$dir/seed" 2>/dev/null
cp -R "$root/examples/premerge/project/." "$dir/seed/"
git -C "$dir/seed" add -A
git -C "$dir/seed" commit -q -m "A tiny line-protocol server with unit tests and transcripts"
git -C "$dir/seed" push -q origin master
echo "public.git master is at $(master)"

say "2. premerge-bot hook install: the hook returns at once and starts the bot in the background"
premerge-bot hook install --repo "$dir/public.git" --state-dir "$state"

say "3. A developer clone with the aliases (git pup, git pu-status)"
git clone -q "$dir/public.git" "$dir/clone"
cd "$dir/clone"
premerge-bot alias install

say "4. A VERSION command with its transcript, on a topic branch, then git pup"
git switch -q -c version-command
# The change itself, as a developer's diff: reply.js learns VERSION.
git apply <<'EOF'
--- a/reply.js
+++ b/reply.js
@@ -5,6 +5,8 @@ export function reply(line) {
       return '+PONG';
     case 'ECHO':
       return rest.join(' ');
+    case 'VERSION':
+      return '+1.1';
     case 'QUIT':
       return '+BYE';
     default:
EOF
printf '>>> VERSION\n+1.1\n>>> QUIT\n+BYE\n' > transcripts/version.txt
git add -A
git commit -q -m "VERSION command"
good=$(git rev-parse --short HEAD)
git pup
echo "git pup returned; master is still at $(master) while the bot tests $good"

say "5. The verdict, published as a git note and read by git pu-status"
await_verdict
echo "public.git master is now at $(master) (the tested commit: $good)"

say "6. A broken change: the transcript expects a reply the server does not give"
printf '>>> PING\n+PONG!\n' > transcripts/broken.txt
git add -A
git commit -q -m "A transcript that fails"
git pup
await_verdict
echo "public.git master stays at $(master)"

say "7. What the bot knows (premerge-bot status), and the failed run's output (premerge-bot log)"
premerge-bot status --repo "$dir/public.git" --state-dir "$state"
premerge-bot log --repo "$dir/public.git" --state-dir "$state" pu | tail -n 15

say "Done. Everything is in $dir (remove it with: rm -rf '$dir')"
