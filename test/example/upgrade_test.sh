#!/usr/bin/env bash
# A data dir written by the 201a317 release (metadata layout 4; test/data/layout4.tar.gz,
# made by test/data/make-layout4.sh) opens with today's pier-registry and keeps working:
# every tag, manifest, blob, referrer, user and quota is there; pushes, deletes, GC and
# fsck work on it. Usage: upgrade_test.sh PATH-TO-pier-registry
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/example/lib.sh
source "$here/lib.sh"

tar -C "$tmp" -xzf "$here/../data/layout4.tar.gz"
data="$tmp/data"
# shellcheck disable=SC1091
source "$tmp/fixture.txt" # layer, v1, v2, multi, referrer, base, stray, layer_base

# The offline commands first: the user is there, and fsck finds the data clean.
"$bin" user list --data "$data" >"$tmp/out" || fail "user list: $(cat "$tmp/out")"
grep -q '^ann' "$tmp/out" || fail "user ann is gone: $(cat "$tmp/out")"
"$bin" fsck --data "$data" >"$tmp/out" || fail "fsck of the old data: $(cat "$tmp/out")"
grep -q '^clean: ' "$tmp/out" || fail "fsck of the old data: $(cat "$tmp/out")"

start --auth none --gc-interval 0
expect_status 200 "$(url /v2/fixture/app/tags/list)"
for t in v1 v2 multi; do
  grep -q "\"$t\"" "$tmp/body" || fail "tag $t is gone: $(cat "$tmp/body")"
done
accept='Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'
for pair in "v1 $v1" "v2 $v2" "multi $multi"; do
  set -- $pair
  expect_status 200 -H "$accept" "$(url "/v2/fixture/app/manifests/$1")"
  grep -qi "^Docker-Content-Digest: $2" "$tmp/headers" || fail "manifest $1 is not $2"
  [ "sha256:$(sha256sum "$tmp/body" | cut -d' ' -f1)" = "$2" ] || fail "manifest $1's bytes changed"
done
expect_status 200 -H "$accept" "$(url /v2/library/base/manifests/latest)"
grep -qi "^Docker-Content-Digest: $base" "$tmp/headers" || fail "library/base:latest is not $base"
expect_status 200 "$(url "/v2/fixture/app/blobs/$layer")"
[ "sha256:$(sha256sum "$tmp/body" | cut -d' ' -f1)" = "$layer" ] || fail "the layer's bytes changed"
expect_status 200 "$(url "/v2/fixture/app/referrers/$v1")"
grep -q "$referrer" "$tmp/body" || fail "the referrer of v1 is gone: $(cat "$tmp/body")"
grep -q '"artifactType":"application/vnd.example.sbom"' "$tmp/body" ||
  fail "the referrer's artifactType: $(cat "$tmp/body")"
expect_status 200 "$(url /api/v1/namespaces/fixture/usage)"
grep -q '"quota":1000000' "$tmp/body" || fail "the quota of fixture is gone: $(cat "$tmp/body")"
grep -q '"unique_bytes":[1-9]' "$tmp/body" || fail "the usage of fixture: $(cat "$tmp/body")"

# It keeps working: a new image, a deleted tag, and the index still holds v2's manifest.
printf 'new layer\n' >"$tmp/new"
d="sha256:$(sha256sum "$tmp/new" | cut -d' ' -f1)"
expect_status 201 -X POST --data-binary @"$tmp/new" "$(url "/v2/fixture/app/blobs/uploads/?digest=$d")"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}' \
  "$d" "$(stat -c %s "$tmp/new")" >"$tmp/m"
expect_status 201 -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary @"$tmp/m" "$(url /v2/fixture/app/manifests/v3)"
expect_status 202 -X DELETE "$(url /v2/fixture/app/manifests/v2)"
expect_status 200 -H "$accept" "$(url "/v2/fixture/app/manifests/$v2")"
stop

# GC takes the blob no manifest references, and nothing else; fsck agrees afterwards.
"$bin" gc --data "$data" --grace 0 >"$tmp/out" || fail "gc: $(cat "$tmp/out")"
"$bin" fsck --data "$data" >"$tmp/out" || fail "fsck after the upgrade: $(cat "$tmp/out")"
grep -q '^clean: ' "$tmp/out" || fail "fsck after the upgrade: $(cat "$tmp/out")"
start --auth none --gc-interval 0
expect_status 404 "$(url "/v2/fixture/app/blobs/$stray")"
expect_status 200 "$(url "/v2/fixture/app/blobs/$layer")"
expect_status 200 "$(url "/v2/library/base/blobs/$layer_base")"
expect_status 200 -H "$accept" "$(url /v2/fixture/app/manifests/v3)"
stop
echo "upgrade_test: all passed"
