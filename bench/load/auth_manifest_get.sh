#!/usr/bin/env bash
# Manifest GET throughput of one pier-registry on loopback with three kinds of caller:
# a Bearer token, Basic credentials (after the first, from the credential cache), and no
# authentication at all (--auth none: the gate is not in the chain). Same data, same
# binary, wrk -t2 -c64 -d8s each.
#   bench/load/auth_manifest_get.sh PATH/TO/pier-registry   (a Release build)
set -euo pipefail
bin=${1:?usage: auth_manifest_get.sh PATH/TO/pier-registry}
d=$(mktemp -d)
echo 'alice-password' | $bin user add alice --password-stdin --data $d/data >/dev/null
start() { $bin serve --listen 127.0.0.1:0 --data $d/data --threads 2 --log-level warn "$@" 2>$d/log & pid=$!;
  for _ in $(seq 100); do port=$(sed -n 's/.*listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p' $d/log); [ -n "$port" ] && break; sleep 0.05; done; }
start --auth token
tok=$(curl -s -u alice:alice-password "http://127.0.0.1:$port/auth/token?service=127.0.0.1:$port&scope=repository:alice/app:pull,push" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
H="Authorization: Bearer $tok"
printf '{}' > $d/config; printf 'layer-bytes' > $d/layer
for f in config layer; do dg="sha256:$(sha256sum $d/$f | cut -d' ' -f1)"; curl -s -o /dev/null -w '%{http_code}\n' -H "$H" -X POST --data-binary @$d/$f "http://127.0.0.1:$port/v2/alice/app/blobs/uploads/?digest=$dg"; done
cd_=$(sha256sum $d/config | cut -d' ' -f1); ld=$(sha256sum $d/layer | cut -d' ' -f1)
m='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'$cd_'","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:'$ld'","size":11}]}'
curl -s -o /dev/null -w '%{http_code}\n' -H "$H" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$m" "http://127.0.0.1:$port/v2/alice/app/manifests/v1"
url="http://127.0.0.1:$port/v2/alice/app/manifests/v1"
A="Accept: application/vnd.oci.image.manifest.v1+json"
echo "== token (Bearer)"; wrk -t2 -c64 -d8s -H "$H" -H "$A" "$url" | grep -E "Requests/sec|Non-2xx"
echo "== basic (cached)"; wrk -t2 -c64 -d8s -H "Authorization: Basic $(printf alice:alice-password | base64)" -H "$A" "$url" | grep -E "Requests/sec|Non-2xx"
kill $pid; wait $pid || true
start --auth none
url="http://127.0.0.1:$port/v2/alice/app/manifests/v1"
echo "== none"; wrk -t2 -c64 -d8s -H "$A" "$url" | grep -E "Requests/sec|Non-2xx"
kill $pid; wait $pid || true
rm -rf $d
