: premerge-bot; f() {
  remote=${1:-$(git config premerge.remote || echo origin)}
  branch=$(git symbolic-ref --quiet --short HEAD) || {
    echo 'git pup: HEAD is detached, so there is no branch to push; switch to one first (git switch -c NAME)' >&2
    return 1
  }
  pu=$(git config premerge.branch || echo pu)
  head=$(git rev-parse HEAD) || return
  short=$(git rev-parse --short HEAD)
  # What pu holds now: a commit of someone else's that has no verdict yet is never tested once overwritten.
  old=$(git ls-remote "$remote" "refs/heads/$pu") || return
  old=${old%%[[:space:]]*}
  mine=$(git config premerge.pushed)
  mine=${mine%% *}
  if [ -n "$old" ] && [ "$old" != "$head" ] && [ "$old" != "$mine" ] &&
    ! git merge-base --is-ancestor "$old" "$head" 2>/dev/null; then
    git fetch --quiet "$remote" "+refs/notes/premerge:refs/notes/premerge" 2>/dev/null
    if ! git notes --ref=premerge show "$old" >/dev/null 2>&1; then
      echo "git pup: warning: $remote $pu held $(echo "$old" | cut -c1-7), which this clone did not push and which has no verdict yet: it will not be tested now (a candidate branch of your own, such as pu/NAME with candidates: \"pu/*\", avoids this)" >&2
    fi
  fi
  out=$(git push --force "$remote" "refs/heads/$branch:refs/heads/$pu" 2>&1)
  code=$?
  [ -z "$out" ] || printf '%s\n' "$out" >&2
  [ "$code" -eq 0 ] || return "$code"
  git config premerge.pushed "$head $remote $pu"
  echo "git pup: pushed $branch ($short) to $remote $pu; see git pu-status"
  case $out in
    *'premerge-bot: '*) ;;
    *)
      # No premerge-bot hook answered: say what the published verdicts know of the commit.
      git fetch --quiet "$remote" "+refs/notes/premerge:refs/notes/premerge" 2>/dev/null
      kind=$(git notes --ref=premerge show "$head" 2>/dev/null | sed -n 's/^{"kind":"\([^"]*\)".*/\1/p')
      case $kind in
        failed | timed-out)
          echo "git pup: $short already $kind, which is final: premerge-bot does not test it again; push a new commit, or ask whoever runs the bot for premerge-bot retry $short" ;;
        landed) echo "git pup: $short already landed" ;;
        *)
          checks=$(premerge_checks "$remote" "$head")
          if [ -n "$checks" ]; then
            echo "git pup: on GitHub premerge-bot answers with a check run on the commit: $checks"
          else
            echo "git pup: no premerge-bot hook answered on $remote: the push is tested when a bot looks (watch or cron)"
          fi ;;
      esac ;;
  esac
}; f
