#!/usr/bin/env bash
# Drives the real pier-registry binary: the next-page cursors of filtered listings are
# sealed under a key the server keeps (DIR/cursor.key, made on first start, or
# --cursor-key-file, which replicas share), so that a client following a `Link` after a
# restart gets the next page instead of 400. A key file given that cannot be used stops the
# start with a clear message.
# Usage: cursor_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"

echo 'root-password' | "$bin" user add root --admin --password-stdin --data "$data" >/dev/null ||
  fail "user add root"
# One name read per filtered page: an anonymous catalog page stops on the first private
# name, and its Link continues from that name, sealed.
printf '{"max_scan": 1}\n' >"$tmp/settings.json"
start --auth basic --config "$tmp/settings.json"
[ -f "$data/cursor.key" ] || fail "no $data/cursor.key after the first start"
[ "$(stat -c %s "$data/cursor.key")" = 32 ] || fail "cursor.key is not 32 bytes"
[ "$(stat -c %a "$data/cursor.key")" = 600 ] || fail "cursor.key has mode $(stat -c %a "$data/cursor.key")"
first_key=$(od -An -tx1 "$data/cursor.key")

root=(-u root:root-password)
printf '{}' >"$tmp/config-blob"
cfg="sha256:$(sha256sum "$tmp/config-blob" | cut -d' ' -f1)"
manifest='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'$cfg'","size":2},"layers":[]}'
for repo in a/private b/public; do
  expect_status 201 "${root[@]}" -X POST --data-binary @"$tmp/config-blob" \
    "$(url "/v2/$repo/blobs/uploads/?digest=$cfg")"
  expect_status 201 "${root[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$manifest" "$(url "/v2/$repo/manifests/v1")"
done
expect_status 200 "${root[@]}" -X PUT -H 'Content-Type: application/json' \
  --data '{"visibility":"public"}' "$(url /api/v1/repositories/b/public)"

# The Link target of the last response ("" without one).
link_of() { sed -n 's/^[Ll]ink: <\([^>]*\)>.*/\1/p' "$tmp/headers" | tr -d '\r'; }

# sealed_link: anonymous, the first page reads a/private (hidden): empty, with a sealed Link.
sealed_link() {
  expect_status 200 "$(url '/v2/_catalog?n=1')"
  grep -q '"repositories":\[\]' "$tmp/body" || fail "first page: $(cat "$tmp/body")"
  local link
  link=$(link_of)
  case "$link" in
  '/v2/_catalog?n=1&last=~'*) echo "$link" ;;
  *) fail "no sealed cursor in the Link: '$link'" ;;
  esac
}
# next_page LINK: following it gives b/public.
next_page() {
  expect_status 200 "$(url "$1")"
  grep -q '"repositories":\["b/public"\]' "$tmp/body" || fail "next page of $1: $(cat "$tmp/body")"
}

link=$(sealed_link)
stop

# After a restart on the same data dir, the key is the one written, and the Link works.
start --auth basic --config "$tmp/settings.json"
[ "$(od -An -tx1 "$data/cursor.key")" = "$first_key" ] || fail "cursor.key changed on restart"
next_page "$link"
stop

# A key file given (what replicas share): the cursors it seals open after a restart, and
# those of the data dir's own key do not (400, as any cursor not issued here).
head -c 32 /dev/urandom >"$tmp/shared.key"
start --auth basic --config "$tmp/settings.json" --cursor-key-file "$tmp/shared.key"
expect_status 400 "$(url "$link")"
grep -q '"code":"UNSUPPORTED"' "$tmp/body" && grep -q 'cursor' "$tmp/body" ||
  fail "a cursor of another key: $(cat "$tmp/body")"
shared_link=$(sealed_link)
stop
start --auth basic --config "$tmp/settings.json" --cursor-key-file "$tmp/shared.key"
next_page "$shared_link"
stop

# A key file given that is missing, short or unreadable stops the start (config file too).
head -c 16 /dev/urandom >"$tmp/short.key"
printf '{"cursor_key_file": "%s"}\n' "$tmp/short.key" >"$tmp/short.json"
mkdir "$tmp/a-directory"
check_refused() { # WHAT-IN-THE-MESSAGE serve-flags...
  local want=$1 rc=0
  shift
  timeout 60 "$bin" serve --listen 127.0.0.1:0 --data "$data" "$@" >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "serve $* exited $rc: $(cat "$tmp/err")"
  grep -q 'msg="cannot load the cursor key"' "$tmp/err" && grep -q -- "$want" "$tmp/err" ||
    fail "serve $*: $(cat "$tmp/err")"
}
check_refused 'missing.key: No such file' --cursor-key-file "$tmp/missing.key"
check_refused 'short.key holds 16 bytes, not 32' --cursor-key-file "$tmp/short.key"
check_refused 'short.key holds 16 bytes, not 32' --config "$tmp/short.json"
check_refused 'a-directory' --cursor-key-file "$tmp/a-directory"
echo "cursor_test: ok"
