#!/usr/bin/env bash
# Drives the real pier-registry binary: failed logins and a lockout are logged at warn with
# the user and the client address, and the password never appears in the log.
# Usage: login_log_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"

echo 'alice-password' | "$bin" user add alice --password-stdin --data "$tmp/data" >/dev/null ||
  fail "user add alice"

start --auth basic

# Ten wrong passwords reach the default limit of one user from one address: the tenth locks
# the pair, the eleventh attempt is refused without being checked.
for i in $(seq 11); do
  curl -s -o /dev/null -u "alice:secret-guess-$i" "http://127.0.0.1:$port/v2/" || fail "curl"
done
status=$(curl -s -o /dev/null -w '%{http_code}' -u 'alice:alice-password' "http://127.0.0.1:$port/v2/")
[ "$status" = 429 ] || fail "a locked-out login answered $status, not 429"

stop

failed=$(grep -c 'level=warn msg="login failed" user=alice client=127.0.0.1' "$tmp/log" || true)
[ "$failed" = 9 ] || fail "$failed 'login failed' lines at warn, not 9"
grep -q 'level=warn msg="login failed; locked out" user=alice client=127.0.0.1 retry_after_s=' \
  "$tmp/log" || fail "no lockout line at warn"
refused=$(grep -c 'level=warn msg="login refused: locked out" user=alice client=127.0.0.1' "$tmp/log" || true)
[ "$refused" = 2 ] || fail "$refused 'login refused' lines at warn, not 2"
if grep -q 'secret-guess\|alice-password' "$tmp/log"; then fail "a password is in the log"; fi
echo "login_log_test: ok"
