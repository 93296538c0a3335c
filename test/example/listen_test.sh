#!/usr/bin/env bash
# Drives the real pier-registry binary: `--listen localhost:0` listens on 127.0.0.1 and ::1
# (issue 10: it bound the first address only), on one port, which the start-up line gives
# for both. Exit 77 (skipped) on a machine without IPv6, where the server says it left ::1
# out and serves 127.0.0.1.
# Usage: listen_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"

listen_at="localhost:0"
start
expect_status 200 "http://127.0.0.1:$port/v2/"
if ! grep -q "msg=\"pier-registry started\".* listen=127\.0\.0\.1:$port,\[::1\]:$port " "$tmp/log"; then
  if grep -q 'not listening on \[::1\]' "$tmp/log"; then
    echo "listen_test: skipped, no IPv6 here: $(grep 'not listening' "$tmp/log")"
    stop
    exit 77
  fi
  fail "the start-up line does not list 127.0.0.1:$port and [::1]:$port"
fi
# -g: the brackets are an IPv6 address, not a curl URL pattern.
expect_status 200 -g "http://[::1]:$port/v2/"
grep -qi '^Docker-Distribution-API-Version: registry/2.0' "$tmp/headers" ||
  fail "[::1] answered, but not as the registry: $(cat "$tmp/headers")"
expect_status 200 "http://127.0.0.1:$port/v2/"
stop
echo "listen_test: all passed"
