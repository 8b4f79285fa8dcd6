: premerge-bot; f() {
  wait=
  case $1 in
    --wait) wait=default; shift ;;
    --wait=*) wait=${1#--wait=}; shift ;;
  esac
  remote=${1:-$(git config premerge.remote || echo origin)}
  pu=$(git config premerge.branch || echo pu)
  # The commit this clone last pushed there (git pup records it), else HEAD.
  set -- $(git config premerge.pushed)
  if [ "$2" = "$remote" ] && [ "$3" = "$pu" ]; then mine=$1; else mine=$(git rev-parse HEAD) || return 2; fi
  if [ -n "$wait" ] && [ "$wait" != default ]; then
    n=${wait%[a-z]*}
    case $n in '' | *[!0-9]*) echo "git pu-status: --wait=$wait: expected a duration such as 90s, 10m, 1h" >&2; return 2 ;; esac
    case $wait in
      *ms) secs=$(( (n + 999) / 1000 )) ;;
      *s) secs=$n ;;
      *m) secs=$((n * 60)) ;;
      *h) secs=$((n * 3600)) ;;
      *) echo "git pu-status: --wait=$wait: expected a duration such as 90s, 10m, 1h" >&2; return 2 ;;
    esac
  fi
  status_ref="refs/premerge/remotes/$remote/status"
  said=
  end=
  while :; do
    listed=$(git ls-remote "$remote" "refs/heads/$pu" refs/notes/premerge refs/premerge/status) || return 2
    tip=$(printf '%s\n' "$listed" | sed -n "s|^\([0-9a-f]*\)	refs/heads/$pu\$|\1|p")
    want=
    case $listed in *'	refs/notes/premerge'*) want="+refs/notes/premerge:refs/notes/premerge" ;; esac
    case $listed in *'	refs/premerge/status'*) want="$want +refs/premerge/status:$status_ref" ;; esac
    [ -z "$want" ] || git fetch --quiet --no-write-fetch-head "$remote" $want 2>/dev/null
    case $listed in *'	refs/premerge/status'*) status=$(git cat-file blob "$status_ref:status" 2>/dev/null) ;; *) status= ;; esac
    note=$(git notes --ref=premerge show "$mine" 2>/dev/null)
    kind=$(printf '%s' "$note" | sed -n 's/^{"kind":"\([^"]*\)".*/\1/p')
    field() { printf '%s\n' "$status" | sed -n "s/^$1 //p" | head -n 1; }
    seen=$(field seen)
    heartbeat=$(field heartbeat)
    seen_unix=$(field seen-unix)
    line=$(printf '%s\n' "$status" | grep -E "^(testing|queued|settled|in-target) $mine " | head -n 1)
    target=$(field target)
    target=${target%% *}
    head="$pu $mine"
    code=2
    stale=
    if [ -n "$heartbeat" ] && [ -n "$seen_unix" ] && [ $(( $(date +%s) - seen_unix )) -gt $((3 * heartbeat)) ]; then stale=1; fi
    if [ -n "$kind" ] && { [ -z "$line" ] || [ "${line%% *}" = settled ]; }; then
      reason=$(printf '%s' "$note" | sed -n 's/.*"reason":"//p' | sed 's/","runId":.*//; s/","at":.*//; s/\\"/"/g')
      text="$head: $kind"
      [ -z "$reason" ] || text="$text
  $reason"
      text="$text
$note"
      if [ "$kind" = landed ]; then code=0; else code=1; fi
      log=$(git cat-file blob "$status_ref:logs/$mine.log" 2>/dev/null)
      [ -z "$log" ] || text="$text
the end of its log (premerge-bot log $mine on the bot's host has all of it):
$log"
    elif [ -n "$stale" ]; then
      text="$head: no verdict yet, and no heartbeat from the bot since $seen (its watch says it every ${heartbeat}s): it may be down; ask whoever runs it"
    elif [ "${line%% *}" = testing ]; then
      text="$head: testing since $(printf '%s' "$line" | cut -d' ' -f4)"
    elif [ "${line%% *}" = queued ]; then
      ahead=$(printf '%s' "$line" | cut -d' ' -f4)
      text="$head: queued ($ahead ahead)"
    elif [ "${line%% *}" = in-target ]; then
      text="$head: already in ${target:-the target}: nothing to test"
      code=0
    elif [ -n "$tip" ] && [ "$tip" != "$mine" ]; then
      text="$head: $remote $pu moved on to $(echo "$tip" | cut -c1-12) before your commit was tested, so it never will be; git pup it again to have it tested"
      code=1
    elif [ -z "$tip" ]; then
      text="$head: $remote has no branch $pu; push one with git pup"
      code=1
    elif [ -z "$status" ] && checks=$(premerge_checks "$remote" "$mine") && [ -n "$checks" ]; then
      text="$head: on GitHub premerge-bot answers with a check run on the commit, which git cannot read: $checks"
      wait= # nothing here will change: answer now, also under --wait
    elif [ -z "$status" ]; then
      text="$head: no record of this push: no premerge-bot has published to $remote (is its hook installed there, or a watch running?)"
    elif problem=$(field problem) && [ -n "$problem" ]; then
      text="$head: no verdict yet: the bot cannot work: ${problem#* }"
    else
      text="$head: no record of this push yet (the bot last published at $seen)"
    fi
    if [ -z "$wait" ] || [ "$code" -ne 2 ]; then
      printf '%s\n' "$text"
      return "$code"
    fi
    if [ -z "$end" ]; then
      if [ "$wait" = default ]; then
        ms=$(field timeout-ms)
        secs=$(( ${ms:-1800000} / 1000 + 300 ))
      fi
      end=$(( $(date +%s) + secs ))
    fi
    [ "$text" = "$said" ] || printf '%s\n' "$text" >&2
    said=$text
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "git pu-status: still no verdict after ${secs}s of waiting" >&2
      printf '%s\n' "$text"
      return 2
    fi
    sleep 2
  done
}; f
