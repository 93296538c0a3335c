#!/usr/bin/env bash
# Makes test/data/layout4.tar.gz: a small data dir written by pier-registry as released at
# 201a317 (RocksDB metadata layout 4), which test/example/upgrade_test.sh opens with
# today's binary. Kept so that the upgrade is tested against what that release really
# wrote, not against what today's code thinks it wrote.
#
#   git worktree add /tmp/old 201a317 && cmake -S /tmp/old -B /tmp/old/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=Release -DPIER_BUILD_TESTS=OFF && ninja -C /tmp/old/build pier-registry
#   test/data/make-layout4.sh /tmp/old/build/example/registry/pier-registry
#
# What it holds (fixture.txt lists the digests): a user `ann`; fixture/app:v1 and :v2
# (two images sharing a layer), fixture/app:multi (an OCI index of both), a referrer of v1
# (artifactType application/vnd.example.sbom), library/base:latest, a quota of 1 MB on
# namespace fixture, and an unreferenced blob in fixture/app.
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/example/lib.sh
source "$here/../example/lib.sh"
data="$tmp/data"

echo 'ann-password' | "$bin" user add ann --password-stdin --data "$data" >/dev/null
start --auth none

# blob REPO FILE: a monolithic upload; prints the digest.
blob() {
  local d
  d="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  expect_status 201 -X POST --data-binary @"$2" "$(url "/v2/$1/blobs/uploads/?digest=$d")"
  echo "$d"
}
# manifest REPO REF MEDIA-TYPE FILE: a PUT; prints the digest.
manifest() {
  expect_status 201 -X PUT -H "Content-Type: $3" --data-binary @"$4" "$(url "/v2/$1/manifests/$2")"
  echo "sha256:$(sha256sum "$4" | cut -d' ' -f1)"
}
size() { stat -c %s "$1"; }
oci_manifest=application/vnd.oci.image.manifest.v1+json
# image REPO TAG CONFIG-TEXT: a config and the shared layer; prints the manifest digest.
image() {
  printf '%s' "$3" >"$tmp/cfg"
  local c
  c=$(blob "$1" "$tmp/cfg")
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
    "$oci_manifest" "$c" "$(size "$tmp/cfg")" "$layer" "$(size "$tmp/layer")" >"$tmp/m"
  manifest "$1" "$2" "$oci_manifest" "$tmp/m"
}

head -c 3000 /dev/urandom >"$tmp/layer"
layer=$(blob fixture/app "$tmp/layer")
v1=$(image fixture/app v1 '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
v1_size=$(size "$tmp/m")
v2=$(image fixture/app v2 '{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
v2_size=$(size "$tmp/m")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"arm64","os":"linux"}}]}' \
  "$oci_manifest" "$v1" "$v1_size" "$oci_manifest" "$v2" "$v2_size" >"$tmp/index"
multi=$(manifest fixture/app multi application/vnd.oci.image.index.v1+json "$tmp/index")
printf '{}' >"$tmp/empty"
empty=$(blob fixture/app "$tmp/empty")
printf '{"schemaVersion":2,"mediaType":"%s","artifactType":"application/vnd.example.sbom","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2}],"subject":{"mediaType":"%s","digest":"%s","size":%d}}' \
  "$oci_manifest" "$empty" "$empty" "$oci_manifest" "$v1" "$v1_size" >"$tmp/referrer"
referrer=$(manifest fixture/app "sha256:$(sha256sum "$tmp/referrer" | cut -d' ' -f1)" \
  "$oci_manifest" "$tmp/referrer")
layer_base=$(blob library/base "$tmp/layer") # a mount-free second link of the same bytes
base=$(image library/base latest '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Cmd":["sh"]}}')
head -c 500 /dev/urandom >"$tmp/stray"
stray=$(blob fixture/app "$tmp/stray")
expect_status 204 -X PUT -H 'Content-Type: application/json' --data '{"bytes": 1000000}' \
  "$(url /api/v1/namespaces/fixture/quota)"
stop

rm -f "$data"/meta/LOG*
cat >"$tmp/fixture.txt" <<FIXTURE
layer=$layer
v1=$v1
v2=$v2
multi=$multi
referrer=$referrer
base=$base
stray=$stray
layer_base=$layer_base
FIXTURE
tar -C "$tmp" -czf "$here/layout4.tar.gz" --owner=0 --group=0 fixture.txt data
echo "wrote $here/layout4.tar.gz ($(stat -c %s "$here/layout4.tar.gz") bytes)"
