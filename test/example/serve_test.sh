#!/usr/bin/env bash
# Drives the real pier-registry binary over loopback: start on a free port with a fresh
# data dir, GET /v2/, push a blob (monolithic POST ?digest=) and pull it, the access log,
# SIGTERM, restart on the same data, a second instance, users and token authentication,
# TLS with a gen-cert certificate and its reload on SIGHUP, and configuration errors.
# Usage: serve_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"

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
grep -qiE '^X-Request-Id: [0-9a-f]{16}'$'\r''$' "$tmp/headers" ||
  fail "no X-Request-Id: $(cat "$tmp/headers")"
expect_status 200 -H 'X-Request-Id: trace-me-42' "$(url /v2/)"
grep -qi '^X-Request-Id: trace-me-42' "$tmp/headers" || fail "the client's X-Request-Id is not kept"
# A TLS client on the plain port (docker probes so): one clear line, not an empty request.
curl -sk -o /dev/null "https://127.0.0.1:$port/v2/" 2>/dev/null || true

printf 'hello from pier\n' >"$tmp/blob"
size=$(stat -c %s "$tmp/blob")
digest="sha256:$(sha256sum "$tmp/blob" | cut -d' ' -f1)"
secret="c2VjcmV0LXBhc3N3b3Jk" # must never reach the log
expect_status 201 -X POST --data-binary @"$tmp/blob" -H 'Content-Type: application/octet-stream' \
  -H "Authorization: Basic $secret" "$(url "/v2/test/hello/blobs/uploads/?digest=$digest")"

expect_status 200 "$(url "/v2/test/hello/blobs/$digest")"
cmp -s "$tmp/blob" "$tmp/body" || fail "the blob read back differs"
expect_status 404 "$(url "/v2/test/hello/blobs/sha256:$(printf '%064d' 0)")"

# A second pier-registry on the same data is refused (RocksDB's lock), and so is a port in use.
# (`timeout`: should one start after all, the test fails instead of waiting for ever.)
rc=0
timeout 60 "$bin" serve --listen 127.0.0.1:0 --data "$tmp/data" 2>"$tmp/second" || rc=$?
[ "$rc" -eq 1 ] || fail "a second instance on the same data: exit $rc, want 1"
grep -q 'level=error msg="cannot open the metadata store".* hint="is pier-registry serve running on it?"' \
  "$tmp/second" || fail "second instance: $(cat "$tmp/second")"
rc=0
timeout 60 "$bin" serve --listen "127.0.0.1:$port" --data "$tmp/other" 2>"$tmp/second" || rc=$?
[ "$rc" -eq 1 ] || fail "a port in use: exit $rc, want 1"
grep -q 'level=error msg="cannot listen"' "$tmp/second" || fail "port in use: $(cat "$tmp/second")"

stop

# One logfmt line per request, written after the response: checked once the server has
# stopped, so that no line can still be on its way.
line_re="level=info msg=request method=GET path=/v2/test/hello/blobs/$digest status=200"
line_re+=" bytes=$size received=0 duration_ms=[0-9]+\.[0-9]{3} client=127\.0\.0\.1"
line_re+=" user=anonymous agent=curl/[0-9.]+ request_id=[0-9a-f]{16}\$"
grep -Eq "$line_re" "$tmp/log" || fail "no access log line for the blob GET"
grep -Eq "msg=request method=POST path=/v2/test/hello/blobs/uploads/ query=\"digest=$digest\" status=201 bytes=[0-9]+ received=$size " \
  "$tmp/log" || fail "no access log line for the POST"
grep -Eq 'msg=request method=GET path=/v2/ status=200 bytes=[0-9]+ ' "$tmp/log" ||
  fail "no access log line for /v2/"
grep -q ' request_id=trace-me-42$' "$tmp/log" || fail "the client's request id is not logged"
grep -q 'msg="TLS handshake on the plain HTTP port, answered 400" client=127.0.0.1$' "$tmp/log" ||
  fail "no line for the TLS handshake on the plain port"
if grep -q 'method="" path=""' "$tmp/log"; then fail "a request line with no method and no path"; fi
if grep -q "$secret" "$tmp/log"; then fail "the Authorization value is in the log"; fi

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
stop
if grep -q 'msg=request' "$tmp/log"; then fail "request lines at --log-level warn"; fi

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

# --- GC: online on demand, and offline; the namespace API ------------------------------------
start --auth none --gc-grace 0 --gc-interval 0
printf 'not referenced by any manifest\n' >"$tmp/orphan"
orphan="sha256:$(sha256sum "$tmp/orphan" | cut -d' ' -f1)"
expect_status 201 -X POST --data-binary @"$tmp/orphan" "$(url "/v2/test/gc/blobs/uploads/?digest=$orphan")"
printf '{}' >"$tmp/config"
config_digest="sha256:$(sha256sum "$tmp/config" | cut -d' ' -f1)"
expect_status 201 -X POST --data-binary @"$tmp/config" "$(url "/v2/test/gc/blobs/uploads/?digest=$config_digest")"
manifest='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'$config_digest'","size":2},"layers":[]}'
expect_status 201 -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "$manifest" "$(url /v2/test/gc/manifests/v1)"
expect_status 200 "$(url /api/v1/namespaces)"
grep -q '"test"' "$tmp/body" || fail "namespaces: $(cat "$tmp/body")"
sleep 1.1 # the blob store stamps commits in whole seconds, rounded up
expect_status 202 -X POST "$(url /api/v1/gc)"
for _ in $(seq 1200); do
  expect_status 200 "$(url /api/v1/gc)"
  grep -q '"running":false,"last":{' "$tmp/body" && break
  sleep 0.05
done
grep -q '"blobs_removed":[1-9]' "$tmp/body" || fail "gc report: $(cat "$tmp/body")"
grep -q '"runs":\[{' "$tmp/body" || fail "gc report without runs: $(cat "$tmp/body")"
expect_status 404 "$(url "/v2/test/gc/blobs/$orphan")"
expect_status 200 "$(url "/v2/test/gc/blobs/$config_digest")"
# The first blob of this test is unreferenced too, and was: GC took it.
expect_status 404 "$(url "/v2/test/hello/blobs/$digest")"
# A namespace quota charges uploads: blobs no manifest references and bytes of uploads in
# progress count, and what would exceed it is refused with a message that says so.
expect_status 204 -X PUT -H 'Content-Type: application/json' --data '{"bytes": 10000}' \
  "$(url /api/v1/namespaces/quota/quota)"
for i in 1 2 3 4; do
  head -c 2000 /dev/urandom >"$tmp/blob$i"
  d="sha256:$(sha256sum "$tmp/blob$i" | cut -d' ' -f1)"
  expect_status 201 -X POST --data-binary @"$tmp/blob$i" "$(url "/v2/quota/app/blobs/uploads/?digest=$d")"
done
expect_status 200 "$(url /api/v1/namespaces/quota/usage)"
grep -q '"unreferenced_bytes":8000' "$tmp/body" || fail "usage of unreferenced blobs: $(cat "$tmp/body")"
expect_status 202 -X POST "$(url /v2/quota/app/blobs/uploads/)"
session="$(sed -n 's/^[Ll]ocation: *\([^[:space:]]*\).*/\1/p' "$tmp/headers" | tail -1)"
[ -n "$session" ] || fail "no Location for the upload session"
case "$session" in http*) ;; *) session="$(url "$session")" ;; esac
head -c 5000 /dev/urandom >"$tmp/chunk"
expect_status 403 -X PATCH -H 'Content-Type: application/octet-stream' \
  --data-binary @"$tmp/chunk" "$session"
grep -q '"code":"DENIED".*quota of namespace quota exceeded: 8000 bytes used of 10000' "$tmp/body" ||
  fail "quota refusal: $(cat "$tmp/body")"
head -c 2000 "$tmp/chunk" >"$tmp/fits"
expect_status 202 -X PATCH -H 'Content-Type: application/octet-stream' \
  --data-binary @"$tmp/fits" "$session"
expect_status 200 "$(url /api/v1/namespaces/test/usage)"
grep -q '"unique_bytes":' "$tmp/body" || fail "usage: $(cat "$tmp/body")"
stop
grep -Eq 'level=info msg="garbage collection" candidates=[0-9]+ blobs_removed=[1-9][0-9]* bytes_freed=[0-9]+ manifests_removed=[0-9]+ uploads_expired=[0-9]+ orphans_removed=[0-9]+ duration_ms=' \
  "$tmp/log" || fail "no log line for the GC run"
# A blob file no metadata knows, as a crash between an upload's commit and its link leaves:
# the offline collector removes it, and fsck then finds nothing at all.
head -c 64 /dev/urandom >"$tmp/stray"
stray_hex="$(sha256sum "$tmp/stray" | cut -d' ' -f1)"
mkdir -p "$tmp/data/blobs/sha256/${stray_hex:0:2}"
stray_file="$tmp/data/blobs/sha256/${stray_hex:0:2}/$stray_hex"
cp "$tmp/stray" "$stray_file"
touch -d '2 hours ago' "$stray_file"
# A data dir that does not exist is refused, not made empty; a held one names the cause.
for cmd in "gc" "fsck" "user list" "user del alice"; do
  rc=0
  # shellcheck disable=SC2086
  "$bin" $cmd --data "$tmp/no-such-dir" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" -ne 0 ] && grep -q 'the data dir .*/no-such-dir does not exist' "$tmp/err" ||
    fail "$cmd on a missing data dir: exit $rc $(cat "$tmp/err")"
  [ ! -e "$tmp/no-such-dir" ] || fail "$cmd made the missing data dir"
done
# `user add` makes the first user of a new registry, data dir and all.
echo 'first-password' | "$bin" user add first --password-stdin --data "$tmp/new-dir" >/dev/null ||
  fail "user add on a new data dir"
"$bin" gc --data "$tmp/data" --grace 0 --dry-run >"$tmp/out" || fail "gc --dry-run"
grep -q '^dry run: ' "$tmp/out" || fail "gc --dry-run: $(cat "$tmp/out")"
[ -f "$stray_file" ] || fail "gc --dry-run removed a file"
"$bin" gc --data "$tmp/data" --grace 0 --upload-ttl 0 >"$tmp/out" || fail "gc: $(cat "$tmp/out")"
grep -q '^removed .*; 1 orphan files)' "$tmp/out" || fail "gc: $(cat "$tmp/out")"
[ ! -f "$stray_file" ] || fail "gc left the orphan blob file"
"$bin" fsck --data "$tmp/data" >"$tmp/out" || fail "fsck after gc: $(cat "$tmp/out")"
grep -q '^clean: checked [0-9]* blobs, .* 0 corrupt, 0 missing, 0 broken manifests' "$tmp/out" ||
  fail "fsck: $(cat "$tmp/out")"
# The config blob of test/gc:v1 damaged on disk: fsck says so (exit 1); --repair removes
# the bad bytes but never the manifest, which it names as still broken.
victim="$tmp/data/blobs/sha256/${config_digest:7:2}/${config_digest:7}"
[ -f "$victim" ] || fail "no blob file $victim"
printf 'x' | dd of="$victim" bs=1 seek=0 conv=notrunc status=none
rc=0
"$bin" fsck --data "$tmp/data" >"$tmp/out" || rc=$?
[ "$rc" -eq 1 ] && grep -q ' 1 corrupt' "$tmp/out" || fail "fsck of a damaged blob: exit $rc $(cat "$tmp/out")"
rc=0
"$bin" fsck --data "$tmp/data" --repair >"$tmp/out" || rc=$?
[ "$rc" -eq 1 ] && grep -q "^unrepaired: manifest test/gc@" "$tmp/out" ||
  fail "fsck --repair: exit $rc $(cat "$tmp/out")"
[ ! -f "$victim" ] || fail "the damaged blob is still there after --repair"

# --- the stores by URL: blobs and metadata where --storage and --database say -----------------
start --auth none --storage "file://$tmp/elsewhere/b" --database "rocksdb://$tmp/elsewhere/m"
grep -q "storage=file://$tmp/elsewhere/b database=rocksdb://$tmp/elsewhere/m" "$tmp/log" ||
  fail "start-up line without the stores: $(grep started "$tmp/log")"
printf 'stored elsewhere\n' >"$tmp/elsewhere.blob"
d="sha256:$(sha256sum "$tmp/elsewhere.blob" | cut -d' ' -f1)"
expect_status 201 -X POST --data-binary @"$tmp/elsewhere.blob" "$(url "/v2/test/url/blobs/uploads/?digest=$d")"
expect_status 200 "$(url "/v2/test/url/blobs/$d")"
stop
[ -f "$tmp/elsewhere/b/blobs/sha256/${d:7:2}/${d:7}" ] || fail "the blob is not under --storage"
[ -f "$tmp/elsewhere/m/CURRENT" ] || fail "no RocksDB database under --database"
[ ! -e "$tmp/data/blobs/sha256/${d:7:2}/${d:7}" ] || fail "the blob went to the data dir"
# The offline commands open the same stores by the same URLs.
"$bin" fsck --data "$tmp/data" --storage "file://$tmp/elsewhere/b" \
  --database "rocksdb://$tmp/elsewhere/m" >"$tmp/out" || fail "fsck by URL: $(cat "$tmp/out")"
grep -q '^clean: checked 1 blobs' "$tmp/out" || fail "fsck by URL: $(cat "$tmp/out")"
rc=0
"$bin" gc --data "$tmp/data" --database "rocksdb://$tmp/no-such-db" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q 'the metadata directory .*/no-such-db does not exist' "$tmp/err" ||
  fail "gc on a missing --database: exit $rc $(cat "$tmp/err")"
rc=0
"$bin" serve --storage "s3://bucket" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'unsupported scheme "s3"' "$tmp/err" ||
  fail "serve --storage s3://: exit $rc $(cat "$tmp/err")"

# --- users: `user add` makes `--auth auto` pick token authentication -------------------------
echo 'alice-password' | "$bin" user add alice --password-stdin --data "$tmp/data" >/dev/null ||
  fail "user add alice"
echo 'root-password' | "$bin" user add root --admin --password-stdin --data "$tmp/data" >/dev/null ||
  fail "user add root --admin"
[ "$("$bin" user list --data "$tmp/data")" = "$(printf 'alice\nroot\tadmin')" ] ||
  fail "user list: $("$bin" user list --data "$tmp/data")"
rc=0
echo 'another-password' | "$bin" user add alice --password-stdin --data "$tmp/data" 2>"$tmp/err" ||
  rc=$?
[ "$rc" -eq 1 ] || fail "adding alice twice: exit $rc, want 1"
rc=0
echo 'short' | "$bin" user add bob --password-stdin --data "$tmp/data" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'shorter than 8' "$tmp/err" || fail "short password: exit $rc $(cat "$tmp/err")"
rc=0
echo 'bob-password' | "$bin" user add Bob --password-stdin --data "$tmp/data" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "an invalid user name: exit $rc, want 2"

start
grep -q 'msg="pier-registry started" .* tls=off auth=token ' "$tmp/log" ||
  fail "users exist: want auth=token in $(head -1 "$tmp/log")"
expect_status 401 "$(url /v2/)"
grep -qi "^WWW-Authenticate: Bearer realm=\"http://127.0.0.1:$port/auth/token\"" "$tmp/headers" ||
  fail "challenge: $(cat "$tmp/headers")"
expect_status 200 "$(url /_ping)"
expect_status 401 -u alice:wrong-password \
  "$(url "/auth/token?service=127.0.0.1:$port&scope=repository:alice/app:push,pull")"
expect_status 200 -u alice:alice-password \
  "$(url "/auth/token?service=127.0.0.1:$port&scope=repository:alice/app:push,pull")"
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$tmp/body")
[ -n "$token" ] || fail "no token in $(cat "$tmp/body")"
expect_status 200 -H "Authorization: Bearer $token" "$(url /v2/)"
expect_status 202 -X POST -H "Authorization: Bearer $token" "$(url /v2/alice/app/blobs/uploads/)"
stop
if grep -q "alice-password\|$token" "$tmp/log"; then fail "a password or token is in the log"; fi
# The gate tells the log who asked: for a token, and with one.
grep -q 'msg=request method=GET path=/auth/token query=.* status=200 .* user=alice ' "$tmp/log" ||
  fail "the token request is not logged as alice's"
grep -q 'msg=request method=POST path=/v2/alice/app/blobs/uploads/ status=202 .* user=alice ' \
  "$tmp/log" || fail "the upload is not logged as alice's"
grep -q 'msg=request method=GET path=/v2/ status=401 .* user=anonymous ' "$tmp/log" ||
  fail "the anonymous request is not logged as anonymous"

# --- TLS with a gen-cert certificate; SIGHUP reloads it ----------------------------------------
"$bin" gen-cert --host localhost --ip 127.0.0.1 --out "$tmp/certs" >/dev/null || fail "gen-cert"
[ "$(stat -c %a "$tmp/certs/server.key")" = 600 ] || fail "server.key mode $(stat -c %a "$tmp/certs/server.key")"
cp "$tmp/certs/ca.crt" "$tmp/old-ca.crt"
start --auth none --tls-cert "$tmp/certs/server.crt" --tls-key "$tmp/certs/server.key"
grep -q 'tls=on auth=none ' "$tmp/log" || fail "start-up line with TLS: $(head -1 "$tmp/log")"
expect_status 200 --cacert "$tmp/old-ca.crt" "https://127.0.0.1:$port/v2/"
expect_status 200 --cacert "$tmp/old-ca.crt" "https://localhost:$port/v2/"
# Plain HTTP on the TLS port: a 400 that says why, not a reset.
expect_status 400 "http://127.0.0.1:$port/v2/"
grep -q 'This port speaks TLS' "$tmp/body" || fail "plain HTTP on the TLS port: $(cat "$tmp/body")"
"$bin" gen-cert --host localhost --ip 127.0.0.1 --out "$tmp/certs" >/dev/null || fail "gen-cert again"
kill -HUP "$pid"
wait_for_log 'TLS certificate reloaded'
expect_status 200 --cacert "$tmp/certs/ca.crt" "https://127.0.0.1:$port/v2/"
rc=0
curl -sS -o /dev/null --cacert "$tmp/old-ca.crt" "https://127.0.0.1:$port/v2/" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "the old certificate is still served after SIGHUP"
# A broken key: the reload fails, the server keeps the certificate it has.
echo broken >"$tmp/certs/server.key"
kill -HUP "$pid"
wait_for_log 'TLS reload failed'
expect_status 200 --cacert "$tmp/certs/ca.crt" "https://127.0.0.1:$port/v2/"
stop

# --- bad configuration: exit 2 with a message, nothing started --------------------------------
expect_config_error() { # expect_config_error WANT-IN-MESSAGE args...
  local want=$1
  shift
  local rc=0
  timeout 60 "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
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
expect_config_error 'cannot load the TLS certificate' serve --listen 127.0.0.1:0 --data "$tmp/data" \
  --tls-cert "$tmp/missing.crt" --tls-key "$tmp/missing.key"
printf 'dave:$apr1$abcdefgh$0123456789abcdefghijkl\n' >"$tmp/md5.htpasswd"
expect_config_error 'bcrypt' serve --listen 127.0.0.1:0 --data "$tmp/data" --htpasswd "$tmp/md5.htpasswd"

"$bin" --version | grep -qx 'pier-registry [0-9.]*' || fail "--version"
# Captured first: `grep -q` stops reading at the first match, and the rest of the text
# would then meet a closed pipe.
help_text=$("$bin" help) || fail "help exited with $?"
grep -q 'pier-registry serve' <<<"$help_text" || fail "help"
gc_help=$("$bin" gc --help) || fail "gc --help exited with $?"
grep -q -- '--dry-run' <<<"$gc_help" || fail "gc --help lacks --dry-run"
if grep -q -- '--listen' <<<"$gc_help"; then fail "gc --help shows serve's flags"; fi
echo "serve_test: all passed"
