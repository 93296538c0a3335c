#!/usr/bin/env bash
# Drives the real pier-registry binary: failed logins and a lockout are logged at warn with
# the user and the client address, and the password never appears in the log.
# Usage: login_log_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
command -v curl >/dev/null || { echo "login_log_test: curl is missing (tools/deps.sh test)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$tmp/log" ]; then
    echo "--- server log:" >&2
    cat "$tmp/log" >&2
  fi
  exit 1
}

echo 'alice-password' | "$bin" user add alice --password-stdin --data "$tmp/data" >/dev/null ||
  fail "user add alice"

"$bin" serve --listen 127.0.0.1:0 --data "$tmp/data" --auth basic 2>"$tmp/log" &
pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*msg="pier-registry started".* listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/log")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited during start-up"
  sleep 0.05
done
[ -n "$port" ] || fail "no start-up line within 10 s"

# Ten wrong passwords reach the default limit of one user from one address: the tenth locks
# the pair, the eleventh attempt is refused without being checked.
for i in $(seq 11); do
  curl -s -o /dev/null -u "alice:secret-guess-$i" "http://127.0.0.1:$port/v2/" || fail "curl"
done
status=$(curl -s -o /dev/null -w '%{http_code}' -u 'alice:alice-password' "http://127.0.0.1:$port/v2/")
[ "$status" = 429 ] || fail "a locked-out login answered $status, not 429"

kill -TERM "$pid"
wait "$pid" || true
pid=""

failed=$(grep -c 'level=warn msg="login failed" user=alice client=127.0.0.1' "$tmp/log" || true)
[ "$failed" = 9 ] || fail "$failed 'login failed' lines at warn, not 9"
grep -q 'level=warn msg="login failed; locked out" user=alice client=127.0.0.1 retry_after_s=' \
  "$tmp/log" || fail "no lockout line at warn"
refused=$(grep -c 'level=warn msg="login refused: locked out" user=alice client=127.0.0.1' "$tmp/log" || true)
[ "$refused" = 2 ] || fail "$refused 'login refused' lines at warn, not 2"
if grep -q 'secret-guess\|alice-password' "$tmp/log"; then fail "a password is in the log"; fi
echo "login_log_test: ok"
