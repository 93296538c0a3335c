#!/usr/bin/env bash
# Drives the real pier-registry binary over loopback: start on a free port with a fresh
# data dir, GET /v2/, push a blob (monolithic POST ?digest=) and pull it, the access log,
# SIGTERM, restart on the same data, a second instance, and configuration errors.
# Usage: serve_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
command -v curl >/dev/null || { echo "serve_test: curl is missing (tools/deps.sh test)" >&2; exit 1; }

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

# start [flags...]: runs the server on a free port with $tmp/data; sets pid and port.
start() {
  : >"$tmp/log"
  "$bin" serve --listen 127.0.0.1:0 --data "$tmp/data" "$@" 2>"$tmp/log" &
  pid=$!
  port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*msg="pier-registry started".* listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
      "$tmp/log")
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the server exited during start-up"
    sleep 0.05
  done
  fail "no start-up line within 10 s"
}

# stop: SIGTERM; the server must exit with 0 within 5 s.
stop() {
  kill -TERM "$pid"
  for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0
      wait "$pid" || rc=$?
      pid=""
      [ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM"
      grep -q 'msg="pier-registry stopped"' "$tmp/log" || fail "no stop line"
      return 0
    fi
    sleep 0.05
  done
  fail "still running 5 s after SIGTERM"
}

url() { echo "http://127.0.0.1:$port$1"; }

# expect_status WANT curl-args...: runs curl and checks the HTTP status.
expect_status() {
  local want=$1
  shift
  local got
  got=$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@") ||
    fail "curl $* failed"
  [ "$got" = "$want" ] || fail "curl $*: status $got, want $want; body: $(head -c 300 "$tmp/body")"
}

# --- first start: a fresh data dir ----------------------------------------------------------
start
if [ ! -d "$tmp/data/blobs" ] || [ ! -d "$tmp/data/meta" ]; then
  fail "data dir layout: $(ls "$tmp/data")"
fi
grep -q 'msg="pier-registry started" version=[0-9.]* listen=127.0.0.1:[0-9]* data=[^ ]*/data threads=[0-9]*' \
  "$tmp/log" || fail "start-up line"

expect_status 200 "$(url /v2/)"
grep -qi '^Docker-Distribution-API-Version: registry/2.0' "$tmp/headers" ||
  fail "no API version header: $(cat "$tmp/headers")"

printf 'hello from pier\n' >"$tmp/blob"
size=$(stat -c %s "$tmp/blob")
digest="sha256:$(sha256sum "$tmp/blob" | cut -d' ' -f1)"
secret="c2VjcmV0LXBhc3N3b3Jk" # must never reach the log
expect_status 201 -X POST --data-binary @"$tmp/blob" -H 'Content-Type: application/octet-stream' \
  -H "Authorization: Basic $secret" "$(url "/v2/test/hello/blobs/uploads/?digest=$digest")"

expect_status 200 "$(url "/v2/test/hello/blobs/$digest")"
cmp -s "$tmp/blob" "$tmp/body" || fail "the blob read back differs"
expect_status 404 "$(url "/v2/test/hello/blobs/sha256:$(printf '%064d' 0)")"

# One logfmt line per request, written after the response: give it a moment.
sleep 0.2
line_re="level=info msg=request method=GET path=/v2/test/hello/blobs/$digest status=200"
line_re+=" bytes=$size duration_ms=[0-9]+\.[0-9]{3} client=127\.0\.0\.1\$"
grep -Eq "$line_re" "$tmp/log" || fail "no access log line for the blob GET"
grep -Eq "msg=request method=POST path=/v2/test/hello/blobs/uploads/ query=\"digest=$digest\" status=201 " \
  "$tmp/log" || fail "no access log line for the POST"
grep -Eq 'msg=request method=GET path=/v2/ status=200 bytes=[0-9]+ ' "$tmp/log" ||
  fail "no access log line for /v2/"
if grep -q "$secret" "$tmp/log"; then fail "the Authorization value is in the log"; fi

# A second pier-registry on the same data is refused (RocksDB's lock), and so is a port in use.
# (`timeout`: should one start after all, the test fails instead of waiting for ever.)
rc=0
timeout 10 "$bin" serve --listen 127.0.0.1:0 --data "$tmp/data" 2>"$tmp/second" || rc=$?
[ "$rc" -eq 1 ] || fail "a second instance on the same data: exit $rc, want 1"
grep -q 'level=error msg="cannot open the metadata store"' "$tmp/second" ||
  fail "second instance: $(cat "$tmp/second")"
rc=0
timeout 10 "$bin" serve --listen "127.0.0.1:$port" --data "$tmp/other" 2>"$tmp/second" || rc=$?
[ "$rc" -eq 1 ] || fail "a port in use: exit $rc, want 1"
grep -q 'level=error msg="cannot listen"' "$tmp/second" || fail "port in use: $(cat "$tmp/second")"

stop

# --- restart on the same data: the blob is still there --------------------------------------
start
startup_ms=$(sed -n 's/.* startup_ms=\([0-9.]*\).*/\1/p' "$tmp/log")
echo "start-up on the existing data dir: ${startup_ms} ms (to listening)"
expect_status 200 "$(url "/v2/test/hello/blobs/$digest")"
cmp -s "$tmp/blob" "$tmp/body" || fail "the blob read back after a restart differs"
stop

# --- SIGTERM during an upload: the upload finishes, then the server exits ------------------
start
head -c 300000 /dev/urandom >"$tmp/slow"
slow_digest="sha256:$(sha256sum "$tmp/slow" | cut -d' ' -f1)"
curl -sS -o /dev/null -w '%{http_code}' --limit-rate 150k -X POST --data-binary @"$tmp/slow" \
  "$(url "/v2/test/slow/blobs/uploads/?digest=$slow_digest")" >"$tmp/slow_status" &
curl_pid=$!
sleep 0.7
stop
wait "$curl_pid" || fail "the upload in flight at SIGTERM failed"
[ "$(cat "$tmp/slow_status")" = 201 ] || fail "the upload in flight at SIGTERM: $(cat "$tmp/slow_status")"
start
expect_status 200 -I "$(url "/v2/test/slow/blobs/$slow_digest")"
stop

# --- --log-level warn silences request lines, not the start-up line --------------------------
start --log-level warn
expect_status 200 "$(url /v2/)"
sleep 0.2
if grep -q 'msg=request' "$tmp/log"; then fail "request lines at --log-level warn"; fi
stop

# --- a config file, and flags that override it ---------------------------------------------
cat >"$tmp/good.json" <<JSON
{ "listen": "127.0.0.1:1", "data": "$tmp/data", "threads": 1, "log_level": "debug",
  "shutdown_timeout": "2s", "max_page_size": 10 }
JSON
start --config "$tmp/good.json"
grep -q 'threads=1 log_level=debug' "$tmp/log" || fail "config file not applied"
grep -q 'level=debug msg=settings .*shutdown_timeout_ms=2000 .*max_page_size=10 ' "$tmp/log" ||
  fail "settings line"
expect_status 200 "$(url "/v2/test/hello/blobs/$digest")"
stop

# --- bad configuration: exit 2 with a message, nothing started --------------------------------
expect_config_error() { # expect_config_error WANT-IN-MESSAGE args...
  local want=$1
  shift
  local rc=0
  timeout 10 "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "pier-registry $*: exit $rc, want 2; stderr: $(cat "$tmp/err")"
  grep -qF -- "$want" "$tmp/err" || fail "pier-registry $*: stderr lacks '$want': $(cat "$tmp/err")"
}
echo '{"listen": 5000}' >"$tmp/bad-type.json"
echo '{"listen": ":5000", "colour": "blue"}' >"$tmp/bad-key.json"
echo '{"listen": ":5000",' >"$tmp/bad-json.json"
expect_config_error '"listen" must be a string' serve --config "$tmp/bad-type.json"
expect_config_error 'unknown setting "colour"' serve --config "$tmp/bad-key.json"
expect_config_error 'not valid JSON' serve --config "$tmp/bad-json.json"
expect_config_error 'cannot read config file' serve --config "$tmp/missing.json"
expect_config_error 'unknown option "--port"' serve --port 5000
expect_config_error 'put an IPv6 address in brackets' serve --listen ::1:5000
expect_config_error '--threads' serve --threads 0
expect_config_error 'no command given'
expect_config_error 'cannot resolve' serve --listen no-such-host.invalid:0 --data "$tmp/data"

"$bin" --version | grep -qx 'pier-registry [0-9.]*' || fail "--version"
"$bin" help | grep -q 'pier-registry serve' || fail "help"
echo "serve_test: all passed"
