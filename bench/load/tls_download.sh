#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Blob download over TLS on loopback: one large file with curl as the client, kTLS allowed
# vs kTLS off, TLS 1.3 AES-256-GCM and TLS 1.2 AES-128-GCM, and plain TCP (sendfile) for
# reference.
#
#   bench/load/tls_download.sh [server-binary]
#
# Without an argument the server is built with g++ -O2 into $WORK. Environment: SIZE_MIB
# (1024), ROUNDS (3), PORT (18443). Prints MB/s as curl reports it (speed_download, bytes
# per second / 1e6) and the server's CPU seconds per GiB sent. Every process started here is
# stopped by its PID.
set -euo pipefail
# shellcheck source=bench/load/lib.sh
source "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18443}

WORK=$(mktemp -d /tmp/pier-tls.XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

SERVER=${1:-}
if [[ -z $SERVER ]]; then
  SERVER=$WORK/pier_bench_tls_download
  g++ -std=c++20 -O2 -DNDEBUG -I"$ROOT/include" "$ROOT/bench/load/tls_download.cpp" -o "$SERVER" \
    -lboost_url -lboost_json -lssl -lcrypto -lcrypt -pthread
fi

head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/blob"

start_server() {
  "$SERVER" --port "$PORT" --file "$WORK/blob" "$@" >"$WORK/server.log" &
  server_pid=$!
  wait_for_port "$PORT"
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

cpu_ticks() { sed 's/.*) //' "/proc/$server_pid/stat" | awk '{print $12 + $13}'; }

# One download; prints MB/s, the server's CPU s/GiB, and the protocol and cipher curl saw.
measure() {
  local label=$1 url=$2
  shift 2
  local before after speed cipher
  before=$(cpu_ticks)
  speed=$(curl -sS "$@" -o /dev/null -w '%{speed_download}' "$url" 2>"$WORK/curl.err")
  after=$(cpu_ticks)
  cipher=$(grep -o 'SSL connection using .*' "$WORK/curl.err" | sed 's/SSL connection using //' || true)
  awk -v l="$label" -v s="$speed" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
    -v g="$SIZE_MIB" -v c="${cipher:-none}" \
    'BEGIN {printf "%-28s %8.0f MB/s  server %5.2f CPU s/GiB  %s\n", l, s / 1e6, t / hz / (g / 1024), c}'
}

tls_runs() {
  local mode=$1 ca=$WORK/tls/ca.crt url=https://localhost:$PORT/blob
  measure "TLS 1.3 AES-256-GCM, $mode" "$url" --cacert "$ca" -v --tlsv1.3 \
    --tls13-ciphers TLS_AES_256_GCM_SHA384
  measure "TLS 1.3 AES-128-GCM, $mode" "$url" --cacert "$ca" -v --tlsv1.3 \
    --tls13-ciphers TLS_AES_128_GCM_SHA256
  measure "TLS 1.2 AES-128-GCM, $mode" "$url" --cacert "$ca" -v --tlsv1.2 --tls-max 1.2 \
    --ciphers ECDHE-ECDSA-AES128-GCM-SHA256
}

echo "$SIZE_MIB MiB file, curl client, $(nproc) CPUs, $(uname -r)"
for round in $(seq "$ROUNDS"); do
  [[ $ROUNDS -gt 1 ]] && echo "round $round"
  start_server
  [[ $round -eq 1 ]] && head -1 "$WORK/server.log"
  measure "plain TCP (sendfile)" "http://127.0.0.1:$PORT/blob"
  stop_server
  for k in on off; do
    start_server --tls "$WORK/tls" --ktls "$k"
    tls_runs "kTLS $k"
    stop_server
  done
done
