#!/usr/bin/env bash
# Load test of pier's HTTP server with wrk: both threading models, a ~500-byte body from
# memory and the same bytes as a file (sendfile), and nginx serving that file.
#
#   bench/load/http_server.sh [build-dir]
#
# Needs wrk (apt-get install wrk); nginx is measured when /usr/sbin/nginx exists
# (apt-get install nginx-light). Environment: DURATION (10s), CONNECTIONS (64),
# WRK_THREADS (2), SERVER_THREADS (2), PORT (18080), ROUNDS (1).
# Everything runs on loopback; every process started here is stopped by its PID.
set -euo pipefail
# shellcheck source=bench/load/lib.sh
source "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/bench-load}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
SERVER_THREADS=${SERVER_THREADS:-2}
PORT=${PORT:-18080}
ROUNDS=${ROUNDS:-1}
NGINX=${NGINX:-/usr/sbin/nginx}

command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIER_BUILD_BENCH=ON \
      -DPIER_BUILD_TESTS=OFF -DPIER_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD" --target pier_bench_http_server >/dev/null
SERVER=$BUILD/bench/pier_bench_http_server

WORK=$(mktemp -d /tmp/pier-load.XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

head -c 500 /dev/zero | tr '\0' x >"$WORK/small.txt"
chmod 755 "$WORK" && chmod 644 "$WORK/small.txt" # nginx workers may run as another user

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# CPU time (clock ticks) used so far by the server: its process and its children (nginx
# workers).
cpu_ticks() {
  local total=0 p
  for p in "$server_pid" $(ps -o pid= --ppid "$server_pid"); do
    # Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): utime, stime.
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}

# Prints requests/s, latency percentiles and the server's CPU time per request for one
# wrk run. CPU per request is the steadier number on a machine shared with other work.
measure() {
  local label=$1 url=$2 out before after
  before=$(cpu_ticks)
  out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  after=$(cpu_ticks)
  local rps p50 p99 errors requests cpu_us
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  printf '%-34s %10s req/s  p50 %-8s p99 %-8s %6s us CPU/req %s\n' \
    "$label" "$rps" "$p50" "$p99" "$cpu_us" "$errors"
}

run_pier() {
  local mode=$1 body=$2 label=$3
  local args=(--port "$PORT" --threads "$SERVER_THREADS" --mode "$mode")
  [[ $body == file ]] && args+=(--file "$WORK/small.txt")
  "$SERVER" "${args[@]}" >/dev/null &
  server_pid=$!
  wait_for_port "$PORT"
  measure "$label" "http://127.0.0.1:$PORT/small.txt"
  stop_server
}

run_nginx() {
  write_nginx_config "$WORK/nginx.conf" "$WORK" "$PORT" "$SERVER_THREADS"
  "$NGINX" -c "$WORK/nginx.conf" -g 'daemon off;' &
  server_pid=$!
  wait_for_port "$PORT"
  local version
  version=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
  measure "nginx $version, file (sendfile)" "http://127.0.0.1:$PORT/small.txt"
  stop_server
}

echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, server threads: $SERVER_THREADS, $(nproc) CPUs"
for round in $(seq "$ROUNDS"); do
  [[ $ROUNDS -gt 1 ]] && echo "round $round"
  run_pier per-thread memory "pier context-per-thread, memory"
  run_pier shared memory "pier shared-context, memory"
  run_pier per-thread file "pier context-per-thread, file"
  run_pier shared file "pier shared-context, file"
  if [[ -x $NGINX ]]; then run_nginx; fi
done
