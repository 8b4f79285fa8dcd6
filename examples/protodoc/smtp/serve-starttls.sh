#!/bin/sh
# aiosmtpd on 127.0.0.1:PORT offering STARTTLS, with a throwaway self-signed certificate for
# `localhost` made at start and removed when the server stops.
#   protodoc check --insecure --server "sh examples/protodoc/smtp/serve-starttls.sh {port}" ...
set -eu
port=${1:?usage: serve-starttls.sh PORT}
dir=$(mktemp -d "${TMPDIR:-/tmp}/protodoc-smtp.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 143' INT TERM
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
sh "$(dirname "$0")/aiosmtpd.sh" -n -l "127.0.0.1:$port" --tlscert "$dir/cert.pem" --tlskey "$dir/key.pem"
