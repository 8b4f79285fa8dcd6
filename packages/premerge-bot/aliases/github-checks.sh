premerge_checks() {
  # On GitHub the bot answers with a check run on the commit (no hook runs there, no notes are published): the
  # address of the commit's checks when REMOTE ($1) is on github.com, or on the GitHub whose web address
  # premerge.github holds (GitHub Enterprise Server); nothing otherwise.
  url=$(git config "remote.$1.url" || printf '%s' "$1")
  web=$(git config premerge.github)
  case $url in *[@/.]github.com[:/]*) web=${web:-https://github.com} ;; esac
  [ -n "$web" ] || return 0
  repo=$(printf '%s\n' "$url" | sed -n -e 's|/*$||' -e 's|\.git$||' -e 's|^.*[:/]\([^/:]*/[^/:]*\)$|\1|p')
  [ -z "$repo" ] || printf '%s/%s/commit/%s/checks\n' "${web%/}" "$repo" "$2"
}
