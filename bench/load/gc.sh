#!/usr/bin/env bash
# Garbage collection: pier-registry against the reference registry (CNCF Distribution 2.8,
# Debian's docker-registry) on the same work: IMAGES small images pushed to each, half of
# them deleted, then the unreferenced blobs collected.
#
#   bench/load/gc.sh [build-dir]
#
# What is timed (wall clock, each on a stopped server unless said otherwise):
#   pier offline     `pier-registry gc --data COPY --grace 0` on a copy of pier's data
#   pier online      one run through `POST /api/v1/gc` on the running server (its
#                    `duration_ms`), on the original data: pushes and pulls could go on
#   reference        `docker-registry garbage-collect --delete-untagged CONFIG`: it needs
#                    the registry stopped or read-only, and walks the whole storage
# Deletion is by tag on pier (the manifest goes at once: --untagged-retention 0) and by
# digest on the reference (2.8 cannot delete a tag); both leave the same images.
# Afterwards a kept image must still resolve on both, and a deleted one's layer must be gone.
#
# Needs docker-registry and curl. Environment: IMAGES (2000), REPOS (16), PORT (18190:
# pier, +1 the reference), REFERENCE (docker-registry), WORKDIR (/tmp). Everything listens on
# 127.0.0.1; every process started here is stopped by its PID; the data is removed at the end.
set -euo pipefail
# shellcheck source=bench/load/lib.sh
source "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/bench-registry}
IMAGES=${IMAGES:-2000}
REPOS=${REPOS:-16}
PORT=${PORT:-18190}
REFERENCE=${REFERENCE:-docker-registry}
PIER_PORT=$PORT
REF_PORT=$((PORT + 1))

command -v "$REFERENCE" >/dev/null ||
  { echo "$REFERENCE not found (apt-get install docker-registry)" >&2; exit 1; }

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIER_BUILD_BENCH=ON \
  -DPIER_BUILD_TESTS=OFF -DPIER_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$BUILD" --target pier-registry pier_bench_push_load >/dev/null
PIER=$BUILD/example/registry/pier-registry
LOAD=$BUILD/bench/pier_bench_push_load

WORK=$(mktemp -d "${WORKDIR:-/tmp}/pier-gc-bench.XXXXXX")
pier_pid='' ref_pid=''
cleanup() {
  stop "$pier_pid"
  stop "$ref_pid"
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
files_below() { find "$1" -type f | wc -l; }
accept="application/vnd.oci.image.manifest.v1+json"
start_pier() {
  "$PIER" serve --listen "127.0.0.1:$PIER_PORT" --data "$WORK/pier" --threads 2 \
    --log-level warn --auth none --gc-interval 0 --gc-grace 0 2>>"$WORK/pier.log" &
  pier_pid=$!
  wait_for_port "$PIER_PORT"
}
# The digest of manifest REPO:TAG on PORT.
manifest_digest() {
  curl -fsS -I -H "Accept: $accept" "http://127.0.0.1:$1/v2/$2/manifests/$3" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {print $2}'
}

write_reference_config "$WORK/reference.yml" "$WORK/reference" "$REF_PORT"
start_pier
"$REFERENCE" serve "$WORK/reference.yml" 2>"$WORK/reference.log" &
ref_pid=$!
wait_for_port "$REF_PORT"

for port in "$PIER_PORT" "$REF_PORT"; do
  "$LOAD" push --port "$port" --images "$IMAGES" --workers 8 --repos "$REPOS" --prefix gc \
    --seed 11 --no-head >/dev/null
done
# A layer of image 0 (deleted below) and image 1 (kept), to check what each collector did.
kept_repo=gc/r$((1 % REPOS))
gone_repo=gc/r0
gone_layer=$(curl -fsS -H "Accept: $accept" "http://127.0.0.1:$PIER_PORT/v2/$gone_repo/manifests/v0" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')

# Half the images go: every even one.
t0=$(now_ms)
for ((i = 0; i < IMAGES; i += 2)); do
  repo=gc/r$((i % REPOS))
  curl -fsS -o /dev/null -X DELETE "http://127.0.0.1:$PIER_PORT/v2/$repo/manifests/v$i"
  d=$(manifest_digest "$REF_PORT" "$repo" "v$i")
  curl -fsS -o /dev/null -X DELETE "http://127.0.0.1:$REF_PORT/v2/$repo/manifests/$d"
done
echo "pushed $IMAGES images to each, deleted $((IMAGES / 2)) ($(($(now_ms) - t0)) ms for both)"

stop "$pier_pid"
pier_pid=
stop "$ref_pid"
ref_pid=
pier_files=$(files_below "$WORK/pier/blobs")
ref_files=$(files_below "$WORK/reference/docker/registry/v2/blobs")

# pier, offline, on a copy.
cp -a "$WORK/pier" "$WORK/pier-copy"
t0=$(now_ms)
out=$("$PIER" gc --data "$WORK/pier-copy" --grace 0)
pier_offline=$(($(now_ms) - t0))
echo "pier offline gc: $pier_offline ms: $out"
echo "  blob files: $pier_files before, $(files_below "$WORK/pier-copy/blobs") after"
rm -rf "$WORK/pier-copy"

# pier, online, on the original.
start_pier
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PIER_PORT/api/v1/gc"
for _ in $(seq 600); do
  report=$(curl -fsS "http://127.0.0.1:$PIER_PORT/api/v1/gc")
  grep -q '"running":false,"last":{' <<<"$report" && break
  sleep 0.05
done
pier_online=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1])["last"]
print("%.1f ms: %d blobs (%d bytes) removed" % (r["duration_ms"], r["blobs_removed"], r["bytes_freed"]))' "$report")
echo "pier online gc run: $pier_online"
kept_digest=$(manifest_digest "$PIER_PORT" "$kept_repo" v1)
[[ -n $kept_digest ]] || { echo "pier lost $kept_repo:v1" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$PIER_PORT/v2/$gone_repo/blobs/$gone_layer")
[[ $code == 404 ]] || { echo "pier kept a deleted image's layer ($code)" >&2; exit 1; }
stop "$pier_pid"
pier_pid=

# The reference, offline.
t0=$(now_ms)
out=$("$REFERENCE" garbage-collect --delete-untagged "$WORK/reference.yml" 2>&1 | tail -1)
ref_offline=$(($(now_ms) - t0))
echo "reference garbage-collect: $ref_offline ms: $out"
echo "  blob files: $ref_files before, $(files_below "$WORK/reference/docker/registry/v2/blobs") after"
"$REFERENCE" serve "$WORK/reference.yml" 2>>"$WORK/reference.log" &
ref_pid=$!
wait_for_port "$REF_PORT"
[[ -n $(manifest_digest "$REF_PORT" "$kept_repo" v1) ]] ||
  { echo "the reference lost $kept_repo:v1" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$REF_PORT/v2/$gone_repo/blobs/$gone_layer")
[[ $code == 404 ]] || echo "note: the reference still serves a deleted image's layer ($code)"

awk -v p="$pier_offline" -v r="$ref_offline" \
  'BEGIN {printf "offline gc: pier %d ms, reference %d ms: reference / pier = %.1f\n", p, r, (p > 0 ? r / p : 0)}'
