#!/bin/sh
# Runs nginx in the foreground on 127.0.0.1:PORT serving ./www, as the current user, with its
# config, pid file and temp files in a throwaway directory (removed when nginx stops).
#   protodoc check --server "sh examples/protodoc/nginx/serve.sh {port}" ...
set -eu
port=${1:?usage: serve.sh PORT}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/protodoc-nginx.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 143' INT TERM
mkdir "$dir/tmp"
sed -e "s|@PORT@|$port|" -e "s|@ROOT@|$here/www|" "$here/nginx.conf" > "$dir/nginx.conf"
# nginx lives in /usr/sbin, which is not on every user's PATH.
PATH=$PATH:/usr/sbin:/usr/local/sbin
nginx -e stderr -p "$dir" -c "$dir/nginx.conf"
