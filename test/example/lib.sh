# Sourced by the tests in this folder that drive the real pier-registry binary over
# loopback: a temporary dir, starting and stopping the server, failures with its log.
# Set `bin` first; `data` (default $tmp/data) and `listen_at` (default 127.0.0.1:0, a host
# that listens on 127.0.0.1 first) may be set before `start`, and a script may define
# `on_exit` for its own clean-up, which runs before the temp dir goes.
command -v curl >/dev/null ||
  { echo "$(basename "$0"): curl is missing (tools/deps.sh test)" >&2; exit 1; }

tmp=$(mktemp -d)
data="$tmp/data"
listen_at="127.0.0.1:0"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; wait "$pid" || true; fi
  if declare -F on_exit >/dev/null; then on_exit; fi
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

# start [flags...]: runs the server on $listen_at with $data; sets pid and port (the one
# of 127.0.0.1, first in the start-up line's comma-separated list).
start() {
  : >"$tmp/log"
  "$bin" serve --listen "$listen_at" --data "$data" "$@" 2>"$tmp/log" &
  pid=$!
  port=""
  for _ in $(seq 1200); do
    port=$(sed -n 's/.*msg="pier-registry started".* listen=127\.0\.0\.1:\([0-9]*\)[ ,].*/\1/p' \
      "$tmp/log")
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the server exited during start-up"
    sleep 0.05
  done
  fail "no start-up line within 60 s"
}

# stop: SIGTERM; the server must exit with 0 within 60 s and log its stop line.
stop() {
  kill -TERM "$pid"
  for _ in $(seq 1200); do
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
  fail "still running 60 s after SIGTERM"
}

url() { echo "http://127.0.0.1:$port$1"; }

# wait_for_log TEXT: waits up to 60 s for a log line holding TEXT.
wait_for_log() {
  for _ in $(seq 1200); do
    grep -q "$1" "$tmp/log" && return 0
    sleep 0.05
  done
  fail "no log line with '$1'"
}

# expect_status WANT curl-args...: runs curl and checks the HTTP status; the body lands in
# $tmp/body, the headers in $tmp/headers.
expect_status() {
  local want=$1
  shift
  local got
  got=$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@") ||
    fail "curl $* failed"
  [ "$got" = "$want" ] || fail "curl $*: status $got, want $want; body: $(head -c 300 "$tmp/body")"
}
