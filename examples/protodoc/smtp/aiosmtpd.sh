#!/bin/sh
# Runs aiosmtpd (Debian's python3-aiosmtpd) with whichever Python has it: Debian's /usr/bin/python3 first,
# since that is the one Debian's python3-* packages install for, and a pyenv shim or virtualenv that comes
# first on PATH usually lacks it; then python3 on PATH (a virtualenv with `pip install aiosmtpd`).
#   sh examples/protodoc/smtp/aiosmtpd.sh -n -l 127.0.0.1:PORT [more aiosmtpd options]
for python in /usr/bin/python3 "$(command -v python3)"; do
  if [ -x "$python" ] && "$python" -c 'import aiosmtpd' 2>/dev/null; then
    exec "$python" -m aiosmtpd "$@"
  fi
done
echo "aiosmtpd.sh: no python3 here has aiosmtpd; install it with: sudo apt-get install -y python3-aiosmtpd" >&2
exit 127
