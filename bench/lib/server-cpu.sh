#!/bin/bash
# Runs a server (the arguments) and, once it has exited, appends its CPU time to the file BENCH_SERVER_CPU names:
# one line "USER SYSTEM" in seconds, from bash's `times` (children that were waited for). The stop signal that
# protodoc sends to the whole process group reaches the server, which stops; this shell ignores it and waits, so
# the server's CPU time is not lost with it. The benchmarks put it before `redis-server` in a `--server` command.
"$@" &
server=$!
trap '' TERM INT
wait "$server"
status=$?
if [ -n "$BENCH_SERVER_CPU" ]; then
  # `times` prints this shell's times, then its children's ("0m0.066s 0m0.253s"); run in this shell, not in a
  # pipeline's subshell, which has no children of its own.
  times > "$BENCH_SERVER_CPU.$$"
  tail -n 1 "$BENCH_SERVER_CPU.$$" | sed -E 's/([0-9]+)m([0-9.]+)s/\1 \2/g' |
    awk '{ print $1 * 60 + $2, $3 * 60 + $4 }' >> "$BENCH_SERVER_CPU"
  rm -f "$BENCH_SERVER_CPU.$$"
fi
exit "$status"
