#!/usr/bin/env bash
# A full disk, for real: pier-registry on a 64 MiB tmpfs that the test mounts, with
# --min-free-space 24MiB. Uploads are refused with 507 once the floor is reached (monolithic
# and chunked), pulls go on, a manifest of blobs already uploaded is still accepted under
# the floor; with the disk filled to the last byte, manifest and tag writes answer 507 (not
# 500, and the server does not abort) and say why in the log; once the filler is removed,
# writes work again without a restart; fsck then finds the data dir consistent.
# Needs root (mount); exits 77 (skipped) when tmpfs cannot be mounted.
# Usage: disk_full_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
disk="$tmp/disk"
data="$disk/data"
mounted=""
on_exit() { if [ -n "$mounted" ]; then umount "$disk" || true; fi; }

mkdir -p "$disk"
if ! mount -t tmpfs -o size=64m tmpfs "$disk" 2>"$tmp/mount.err"; then
  echo "SKIP: cannot mount a tmpfs (needs root): $(cat "$tmp/mount.err")"
  exit 77
fi
mounted=1

# status curl-args...: the HTTP status of one request; the body lands in $tmp/body.
status() { curl -sS -o "$tmp/body" -w '%{http_code}' "$@" || echo "curl-failed"; }

alive() { kill -0 "$pid" 2>/dev/null || fail "the server died (see the log)"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# push_blob FILE: monolithic upload into test/app; prints the status.
push_blob() {
  status -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$1" \
    "$(url "/v2/test/app/blobs/uploads/?digest=sha256:$(sha "$1")")"
}

start --min-free-space 24MiB

# A config and a first layer, then the manifest that uses them is pushed later, under the
# floor.
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
  >"$tmp/config"
head -c 1048576 /dev/urandom >"$tmp/layer"
[ "$(push_blob "$tmp/config")" = 201 ] || fail "config upload: $(cat "$tmp/body")"
[ "$(push_blob "$tmp/layer")" = 201 ] || fail "layer upload: $(cat "$tmp/body")"
manifest() { # manifest: an OCI image manifest of the config and the layer
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
  printf '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},' \
    "$(sha "$tmp/config")" "$(stat -c %s "$tmp/config")"
  printf '"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$(sha "$tmp/layer")" "$(stat -c %s "$tmp/layer")"
}
manifest >"$tmp/manifest"
put_manifest() { # put_manifest TAG: prints the status
  status -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$tmp/manifest" "$(url "/v2/test/app/manifests/$1")"
}

# 1. Fill with 4 MiB blobs until the floor refuses one: 507 with the reason, never 500.
refused=""
for i in $(seq 20); do
  head -c 4194304 /dev/urandom >"$tmp/blob"
  got=$(push_blob "$tmp/blob")
  if [ "$got" = 507 ]; then
    refused=$i
    break
  fi
  [ "$got" = 201 ] || fail "upload $i: status $got: $(head -c 300 "$tmp/body")"
done
[ -n "$refused" ] || fail "20 uploads of 4 MiB into 64 MiB were all accepted"
[ "$refused" -gt 1 ] || fail "the first upload was refused already"
grep -q '"code":"UNAVAILABLE"' "$tmp/body" && grep -q 'free space' "$tmp/body" ||
  fail "the 507 body does not say why: $(cat "$tmp/body")"
# A chunked upload is refused too: its PATCH (the refused upload above gave back the room
# it had taken, so the POST that opens the session still fits).
curl -sS -o /dev/null -D "$tmp/headers" -X POST "$(url /v2/test/app/blobs/uploads/)"
location=$(sed -n 's/^Location: *\([^\r]*\).*/\1/Ip' "$tmp/headers")
[ -n "$location" ] || fail "no upload session: $(cat "$tmp/headers")"
expect_status 507 -X PATCH -H 'Content-Type: application/octet-stream' \
  --data-binary "@$tmp/blob" "$(url "$location")"
grep -q '"code":"UNAVAILABLE"' "$tmp/body" || fail "the PATCH's 507 body: $(cat "$tmp/body")"
expect_status 204 -X DELETE "$(url "$location")"
alive

# 2. Pulls go on, and a manifest of blobs already uploaded is accepted under the floor.
expect_status 200 "$(url "/v2/test/app/blobs/sha256:$(sha "$tmp/layer")")"
[ "$(put_manifest v1)" = 201 ] || fail "manifest PUT under the floor: $(head -c 300 "$tmp/body")"

# 3. The disk filled to the last byte: manifest and tag writes answer 507, reads go on.
dd if=/dev/zero of="$disk/filler" bs=1M 2>/dev/null || true
dd if=/dev/zero of="$disk/filler2" bs=4k 2>/dev/null || true
[ "$(df --output=avail -B1 "$disk" | tail -n 1 | tr -d ' ')" -lt 65536 ] || fail "the disk is not full"
for tag in v2 v3; do
  got=$(put_manifest "$tag")
  [ "$got" = 507 ] || [ "$got" = 503 ] || fail "tag $tag on a full disk: status $got: $(head -c 300 "$tmp/body")"
done
expect_status 507 -X DELETE "$(url /v2/test/app/manifests/v1)"
alive
expect_status 200 "$(url /v2/test/app/manifests/v1)"
expect_status 200 "$(url "/v2/test/app/blobs/sha256:$(sha "$tmp/config")")"
grep -q 'level=error .*ENOSPC' "$tmp/log" || fail "no error log line naming ENOSPC"

# 4. Space freed: writes work again by themselves. Recovery may be asynchronous (RocksDB
# looks for free space every few seconds), so retry for up to 60 s and check the outcome.
rm -f "$disk/filler" "$disk/filler2"
got=""
for _ in $(seq 120); do
  got=$(put_manifest v2)
  [ "$got" = 201 ] && break
  alive
  sleep 0.5
done
[ "$got" = 201 ] || fail "no manifest write within 60 s of freeing space: $got $(head -c 300 "$tmp/body")"
expect_status 200 "$(url /v2/test/app/manifests/v2)"
expect_status 200 "$(url /v2/test/app/manifests/v1)"

# 5. A clean stop, and nothing inconsistent left.
stop
"$bin" fsck --data "$data" >"$tmp/out" || fail "fsck: $(cat "$tmp/out")"
grep -q '^clean: ' "$tmp/out" || fail "fsck: $(cat "$tmp/out")"
echo "disk_full_test: ok (upload $refused refused at the floor)"
