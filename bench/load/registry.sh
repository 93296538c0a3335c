#!/usr/bin/env bash
# pier-registry against the reference registry (CNCF Distribution 2.8, Debian's
# docker-registry): the same workloads on loopback against each, one table with both
# numbers and the ratio pier / reference.
#
#   bench/load/registry.sh [build-dir]
#
# Workloads (see bench/README.md, "Registry: pier vs the reference registry"):
#   manifest GET    wrk on GET /v2/<repo>/manifests/<tag> with an OCI Accept header
#   blob HEAD       closed-loop HEAD /v2/<repo>/blobs/<digest> (pier_bench_push_load
#                   hammer: wrk 4.1 hangs on HEAD responses that have a Content-Length)
#   1 GiB upload    pier: one POST ?digest= with the body; reference: POST, then PUT
#                   ?digest= with the body (it ignores the body of a POST ?digest=)
#   image pushes    IMAGES small images, WORKERS concurrent clients (pier_bench_push_load)
#   1 GiB download  GET of the blob uploaded above, median of 3; the same file from nginx
#                   (sendfile, page cache) by the same client
#   memory          VmHWM of each server over the run; then a HUGE_MIB upload to pier with
#                   its VmRSS / VmHWM before and after
#
# Needs wrk, docker-registry and nginx (tools/deps.sh bench; without /usr/sbin/nginx the
# download against nginx is left out). Environment:
# DURATION (10s), CONNECTIONS (64), WRK_THREADS (2), PIER_THREADS (2), PORT (18090: pier,
# +1 the reference, +2 the sink, +3 nginx), NGINX (/usr/sbin/nginx), IMAGES (500), WORKERS (16), BIG_MIB (1024),
# HUGE_MIB (4096; 0 skips), REFERENCE (docker-registry), WORKDIR (/tmp), WAIT_QUIET (0:
# seconds each workload may wait for idle CPUs).
# Everything listens on 127.0.0.1; every process started here is stopped by its PID; the
# data directories are removed at the end.
set -euo pipefail
# shellcheck source=bench/load/lib.sh
source "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/bench-registry}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
PIER_THREADS=${PIER_THREADS:-2}
PORT=${PORT:-18090}
IMAGES=${IMAGES:-500}
WORKERS=${WORKERS:-16}
BIG_MIB=${BIG_MIB:-1024}
HUGE_MIB=${HUGE_MIB:-4096}
REFERENCE=${REFERENCE:-docker-registry}
WAIT_QUIET=${WAIT_QUIET:-0}
PIER_PORT=$PORT
REF_PORT=$((PORT + 1))
SINK_PORT=$((PORT + 2))
NGINX_PORT=$((PORT + 3))
NGINX=${NGINX:-/usr/sbin/nginx}

command -v wrk >/dev/null || { echo "wrk not found (tools/deps.sh bench installs it)" >&2; exit 1; }
command -v "$REFERENCE" >/dev/null ||
  { echo "$REFERENCE not found (apt-get install docker-registry)" >&2; exit 1; }

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIER_BUILD_BENCH=ON \
      -DPIER_BUILD_TESTS=OFF -DPIER_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$BUILD" --target pier-registry pier_bench_push_load >/dev/null
PIER=$BUILD/example/registry/pier-registry
LOAD=$BUILD/bench/pier_bench_push_load
LUA=$ROOT/bench/load

WORK=$(mktemp -d "${WORKDIR:-/tmp}/pier-registry-bench.XXXXXX")
pier_pid= ref_pid= sink_pid= nginx_pid=
cleanup() {
  stop "$nginx_pid"
  stop "$sink_pid"
  stop "$pier_pid"
  stop "$ref_pid"
  rm -rf "$WORK"
}
trap cleanup EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; } # utime + stime
# Milliseconds of CPU per GiB: ticks spent on MIB mebibytes.
ms_per_gib() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v m="$2" 'BEGIN {printf "%.0f", t * 1000 / hz / (m / 1024)}'; }
# kB of VmHWM or VmRSS of a PID.
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# The value of key=... in a line of key=value pairs.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# How quiet the machine was: the 1-minute load average as a workload starts (this script's
# own client and servers add ~2 to it), and the share of both CPUs that user processes
# other than this script, its children and the two servers used while it ran (kernel
# threads are left out: they mostly do this script's loopback traffic and writeback).
# user + nice + system only: interrupt time (loopback traffic, disk) is charged to no task.
busy_and_total() { awk '/^cpu / {b = $2 + $3 + $4; print b, b + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
own_ticks() { # utime + stime (+ those of reaped children) of this shell and the servers
  local t=0 p
  for p in $$ $pier_pid $ref_pid; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')))
  done
  echo "$t"
}
kernel_ticks() { # utime + stime of kernel threads (ksoftirqd runs loopback traffic, kworkers flush)
  local t=0 f line rest
  for f in /proc/[0-9]*/stat; do
    read -r line <"$f" 2>/dev/null || continue
    rest=${line##*) }
    set -- $rest
    [[ $2 == 2 || $f == /proc/2/stat ]] && t=$((t + ${12} + ${13}))
  done
  echo "$t"
}
# With WAIT_QUIET=N, each workload waits up to N seconds for the CPUs to be 90 % idle over
# two seconds (the servers are idle between workloads), for machines shared with builds.
wait_quiet() {
  ((WAIT_QUIET > 0)) || return 0
  local deadline=$((SECONDS + WAIT_QUIET)) b1 t1 b2 t2
  while ((SECONDS < deadline)); do
    read -r b1 t1 < <(busy_and_total)
    sleep 2
    read -r b2 t2 < <(busy_and_total)
    if (((b2 - b1) * 10 < t2 - t1)); then return 0; fi
  done
  echo "the CPUs did not become idle within ${WAIT_QUIET}s: measuring anyway" >&2
}
quiet=() w_name= w_load= w_busy= w_total= w_own= w_kernel=
begin_workload() {
  wait_quiet
  w_name=$1 w_load=$(load1) w_own=$(own_ticks) w_kernel=$(kernel_ticks)
  read -r w_busy w_total < <(busy_and_total)
}
end_workload() {
  local busy total own
  read -r busy total < <(busy_and_total)
  own=$(( $(own_ticks) + $(kernel_ticks) - w_kernel))
  quiet+=("$(awk -v n="$w_name" -v l="$w_load" -v b=$((busy - w_busy)) -v t=$((total - w_total)) \
    -v o=$((own - w_own)) 'BEGIN {x = t > 0 ? (b - o) * 100 / t : 0; if (x < 0) x = 0
      printf "%s: load %s, others %.0f%%", n, l, x}')")
}

# --- servers -----------------------------------------------------------------------------
"$PIER" serve --listen "127.0.0.1:$PIER_PORT" --data "$WORK/pier" --threads "$PIER_THREADS" \
  --log-level warn 2>"$WORK/pier.log" &
pier_pid=$!

write_reference_config "$WORK/reference.yml" "$WORK/reference" "$REF_PORT"
"$REFERENCE" serve "$WORK/reference.yml" 2>"$WORK/reference.log" &
ref_pid=$!
wait_for_port "$PIER_PORT"
wait_for_port "$REF_PORT"
ref_version=$("$REFERENCE" --version | awk '{print $NF}')

# Fixtures: one image (fixture/r0:v0) and a 1 MiB blob in fixture/r0, on each server.
head -c 1048576 /dev/urandom >"$WORK/small.bin"
for port in "$PIER_PORT" "$REF_PORT"; do
  "$LOAD" push --port "$port" --images 1 --workers 1 --repos 1 --prefix fixture --seed 7 >/dev/null
  out=$("$LOAD" upload --port "$port" --file "$WORK/small.bin" --repo fixture/r0 --flow post-put)
done
small_digest=$(field "$out" digest)
accept="application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
accept+=", application/vnd.docker.distribution.manifest.v2+json"
accept+=", application/vnd.docker.distribution.manifest.list.v2+json"

echo "pier-registry (--threads $PIER_THREADS) on :$PIER_PORT, $REFERENCE $ref_version on :$REF_PORT;" \
  "$(nproc) CPUs, client and servers share them"

# --- 1. manifest GET -----------------------------------------------------------------------
wrk_rps() { # port target
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$LUA/registry_manifest_get.lua" \
    "http://127.0.0.1:$1$2" >"$WORK/wrk.out"
  if grep -qE 'Non-2xx|Socket errors' "$WORK/wrk.out"; then
    cat "$WORK/wrk.out" >&2
    echo "wrk saw errors" >&2
    return 1
  fi
  awk '/^Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk.out"
}
begin_workload "manifest GET"
get_pier=$(wrk_rps "$PIER_PORT" /v2/fixture/r0/manifests/v0)
get_ref=$(wrk_rps "$REF_PORT" /v2/fixture/r0/manifests/v0)
end_workload
echo "manifest GET: pier $get_pier req/s, reference $get_ref req/s"

# --- 2. blob HEAD ----------------------------------------------------------------------------
hammer_rps() { # port target method [header]
  local args=(hammer --port "$1" --path "$2" --method "$3" --connections "$CONNECTIONS"
              --threads "$WRK_THREADS" --duration "${DURATION%s}")
  [[ -n ${4:-} ]] && args+=(--header "$4")
  field "$("$LOAD" "${args[@]}")" requests_per_s
}
begin_workload "blob HEAD"
head_pier=$(hammer_rps "$PIER_PORT" "/v2/fixture/r0/blobs/$small_digest" HEAD)
head_ref=$(hammer_rps "$REF_PORT" "/v2/fixture/r0/blobs/$small_digest" HEAD)
end_workload
echo "blob HEAD: pier $head_pier req/s, reference $head_ref req/s"
# The HEAD client against wrk on the same manifest GET: they should agree.
cal_pier=$(hammer_rps "$PIER_PORT" /v2/fixture/r0/manifests/v0 GET "Accept: $accept")
echo "  (calibration: the HEAD client doing pier's manifest GET: $cal_pier req/s; wrk: $get_pier)"

# --- 3. large upload -------------------------------------------------------------------------
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$WORK/big.bin"
"$LOAD" sink --port "$SINK_PORT" &
sink_pid=$!
wait_for_port "$SINK_PORT"
sync
sink_out=$("$LOAD" upload --port "$SINK_PORT" --file "$WORK/big.bin")
stop "$sink_pid"
sink_pid=
big_digest=$(field "$sink_out" digest)
up_sink=$(field "$sink_out" MB_per_s)
sync
begin_workload "${BIG_MIB} MiB upload"
t0=$(proc_ticks "$pier_pid")
up_pier=$(field "$("$LOAD" upload --port "$PIER_PORT" --file "$WORK/big.bin" \
  --digest "$big_digest" --flow monolithic)" MB_per_s)
up_pier_cpu=$(ms_per_gib $(($(proc_ticks "$pier_pid") - t0)) "$BIG_MIB")
sync
t0=$(proc_ticks "$ref_pid")
up_ref=$(field "$("$LOAD" upload --port "$REF_PORT" --file "$WORK/big.bin" \
  --digest "$big_digest" --flow post-put)" MB_per_s)
up_ref_cpu=$(ms_per_gib $(($(proc_ticks "$ref_pid") - t0)) "$BIG_MIB")
end_workload
sync
echo "${BIG_MIB} MiB upload: pier $up_pier MB/s (one POST ?digest=), reference $up_ref MB/s" \
  "(POST + PUT); the client alone, into a sink: $up_sink MB/s; server CPU per GiB: pier" \
  "$up_pier_cpu ms, reference $up_ref_cpu ms"

# --- 4. image pushes -------------------------------------------------------------------------
push() { # port
  "$LOAD" push --port "$1" --images "$IMAGES" --workers "$WORKERS" --repos "$WORKERS" \
    --prefix push --seed 42
}
begin_workload "image pushes"
push_pier_out=$(push "$PIER_PORT")
sync
push_ref_out=$(push "$REF_PORT")
sync
end_workload
push_pier=$(field "$push_pier_out" images_per_s)
push_ref=$(field "$push_ref_out" images_per_s)
echo "push: pier $push_pier_out"
echo "push: reference $push_ref_out"

# --- 5. large download -----------------------------------------------------------------------
download() { # port pid name
  local runs=() t0
  t0=$(proc_ticks "$2")
  for _ in 1 2 3; do
    runs+=("$(field "$("$LOAD" download --port "$1" --path "/v2/big/blob/blobs/$big_digest")" \
      MB_per_s)")
  done
  echo "  $3: ${runs[*]} MB/s; server CPU per GiB:" \
    "$(ms_per_gib $(($(proc_ticks "$2") - t0)) $((3 * BIG_MIB))) ms" >&2
  median3 "${runs[@]}"
}
begin_workload "${BIG_MIB} MiB download"
down_pier=$(download "$PIER_PORT" "$pier_pid" pier)
down_ref=$(download "$REF_PORT" "$ref_pid" reference)
end_workload
echo "${BIG_MIB} MiB download: pier $down_pier MB/s, reference $down_ref MB/s (median of 3)"
# The same file from nginx (sendfile, the page cache, PIER_THREADS workers), by the same
# client: the rate a static file server reaches on this machine.
down_nginx=
if [[ -x $NGINX ]]; then
  mkdir -p "$WORK/static"
  mv "$WORK/big.bin" "$WORK/static/big.bin"
  chmod 755 "$WORK" "$WORK/static" && chmod 644 "$WORK/static/big.bin" # workers: another user
  write_nginx_config "$WORK/nginx.conf" "$WORK/static" "$NGINX_PORT" "$PIER_THREADS"
  "$NGINX" -c "$WORK/nginx.conf" -g 'daemon off;' &
  nginx_pid=$!
  wait_for_port "$NGINX_PORT"
  "$LOAD" download --port "$NGINX_PORT" --path /big.bin >/dev/null # into the page cache
  begin_workload "${BIG_MIB} MiB download from nginx"
  runs=()
  for _ in 1 2 3; do
    runs+=("$(field "$("$LOAD" download --port "$NGINX_PORT" --path /big.bin)" MB_per_s)")
  done
  end_workload
  down_nginx=$(median3 "${runs[@]}")
  echo "  nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'): ${runs[*]} MB/s" >&2
  stop "$nginx_pid"
  nginx_pid=
  echo "${BIG_MIB} MiB download: nginx $down_nginx MB/s (median of 3)"
  rm -f "$WORK/static/big.bin"
fi
rm -f "$WORK/big.bin"

# --- 6. memory -------------------------------------------------------------------------------
hwm_pier=$(mem_kb "$pier_pid" VmHWM)
hwm_ref=$(mem_kb "$ref_pid" VmHWM)
huge_line=
if ((HUGE_MIB > 0)); then
  rss_before=$(mem_kb "$pier_pid" VmRSS)
  hwm_before=$hwm_pier
  head -c $((HUGE_MIB * 1048576)) /dev/urandom >"$WORK/huge.bin"
  sync
  begin_workload "${HUGE_MIB} MiB upload"
  huge_out=$("$LOAD" upload --port "$PIER_PORT" --file "$WORK/huge.bin" --repo big/huge)
  end_workload
  rss_after=$(mem_kb "$pier_pid" VmRSS)
  hwm_after=$(mem_kb "$pier_pid" VmHWM)
  rm -f "$WORK/huge.bin"
  huge_line=$(printf '%s MiB upload to pier (%s MB/s): VmRSS %d -> %d KiB, VmHWM %d -> %d KiB (+%d KiB)' \
    "$HUGE_MIB" "$(field "$huge_out" MB_per_s)" "$rss_before" "$rss_after" "$hwm_before" \
    "$hwm_after" $((hwm_after - hwm_before)))
  echo "$huge_line"
  hwm_pier=$hwm_after
fi

# --- the table -------------------------------------------------------------------------------
met() { awk -v v="$1" -v g="$2" 'BEGIN {print (v >= g ? "yes" : "no")}'; }
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }
echo
row workload pier reference "pier / reference" goal met
row --- ---: ---: ---: --- ---
r=$(ratio "$get_pier" "$get_ref")
row "manifest GET, wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION" "$get_pier req/s" "$get_ref req/s" "$r" "≥ 10×" "$(met "$r" 10)"
r=$(ratio "$head_pier" "$head_ref")
row "blob HEAD, $CONNECTIONS connections, $DURATION" "$head_pier req/s" "$head_ref req/s" "$r" "≥ 10×" "$(met "$r" 10)"
r=$(ratio "$up_pier" "$up_ref")
row "${BIG_MIB} MiB upload, 201 included" "$up_pier MB/s" "$up_ref MB/s" "$r" "≥ 350 MB/s" "$(met "$up_pier" 350)"
r=$(ratio "$push_pier" "$push_ref")
row "$IMAGES image pushes, $WORKERS workers" "$push_pier images/s" "$push_ref images/s" "$r" "≥ 5×" "$(met "$r" 5)"
r=$(ratio "$down_pier" "$down_ref")
row "${BIG_MIB} MiB download" "$down_pier MB/s" "$down_ref MB/s" "$r" "≥ 1×" "$(met "$r" 1)"
if [[ -n $down_nginx ]]; then
  r=$(ratio "$down_pier" "$down_nginx")
  row "${BIG_MIB} MiB download, against nginx" "$down_pier MB/s" "nginx $down_nginx MB/s" "$r" "≥ 1× nginx" "$(met "$r" 1)"
fi
r=$(ratio "$hwm_pier" "$hwm_ref")
row "peak RSS (VmHWM) over the run" "$((hwm_pier / 1024)) MiB" "$((hwm_ref / 1024)) MiB" "$r" "≤ 0.5×" \
  "$(awk -v r="$r" 'BEGIN {print (r <= 0.5 ? "yes" : "no")}')"
echo
echo "client alone into a sink: ${up_sink} MB/s upload"
[[ -n $huge_line ]] && echo "$huge_line"
echo "machine while measuring (others = CPU share of processes not started here):"
printf '  %s\n' "${quiet[@]}"
