#!/usr/bin/env bash
# Holds README.md to what a newcomer does with it (issue 10):
# - the config sample (the ```json block after the "readme-test: config sample" comment)
#   starts pier-registry as written, with only what must differ in a test rewritten: the
#   data dir, the listen address, and the TLS files (made here with openssl; no key is
#   committed); the server then answers /v2/ over TLS with the sample's token realm;
# - every `cp SRC DST` in a ```sh block copies something that is there: SRC is a file of
#   the repository (as run from its root), or a file that a `gen-cert --out DIR` of the same
#   block writes into DIR.
# Usage: readme_test.sh PATH/TO/pier-registry
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is missing (tools/deps.sh test)"
root=$(cd "$(dirname "$0")/../.." && pwd)
readme="$root/README.md"

# --- the config sample starts as written ------------------------------------------------

awk '/<!-- readme-test: config sample/ { marked = 1; next }
     marked && !inside { if ($0 != "```json") exit 1; inside = 1; next }
     inside && $0 == "```" { exit 0 }
     inside { print }' "$readme" >"$tmp/sample.json" ||
  fail "README.md: no \`\`\`json block right after the 'readme-test: config sample' comment"
[ -s "$tmp/sample.json" ] || fail "README.md: the config sample is empty"

# A certificate for 127.0.0.1, made now.
mkdir "$tmp/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$tmp/tls/server.key" -out "$tmp/tls/server.crt" 2>"$tmp/openssl.log" ||
  { cat "$tmp/openssl.log" >&2; fail "openssl could not make a test certificate"; }

# rewrite KEY VALUE: the sample's one string value of KEY becomes VALUE.
cp "$tmp/sample.json" "$tmp/config.json"
rewrite() {
  local n
  n=$(grep -o "\"$1\": *\"[^\"]*\"" "$tmp/config.json" | wc -l)
  [ "$n" = 1 ] || fail "README.md's config sample has $n string values of \"$1\", not 1"
  sed -i "s|\"$1\": *\"[^\"]*\"|\"$1\": \"$2\"|" "$tmp/config.json"
}
rewrite data "$data"
rewrite listen 127.0.0.1:0
rewrite tls_cert "$tmp/tls/server.crt"
rewrite tls_key "$tmp/tls/server.key"
changed=$(diff "$tmp/sample.json" "$tmp/config.json" | grep -c '^>' || true)
[ "$changed" -le 4 ] || fail "rewriting the sample changed $changed lines, not only its four values"

start --config "$tmp/config.json"
realm=$(sed -n 's/.*"token_realm": *"\([^"]*\)".*/\1/p' "$tmp/sample.json")
service=$(sed -n 's/.*"token_service": *"\([^"]*\)".*/\1/p' "$tmp/sample.json")
[ -n "$realm" ] && [ -n "$service" ] || fail "the sample has no token_realm or token_service"
v2=(--cacert "$tmp/tls/server.crt" "https://127.0.0.1:$port/v2/")
# Token authentication, as the sample says, with the sample's realm and service.
expect_status 401 "${v2[@]}"
grep -qi "^www-authenticate: Bearer realm=\"$realm\",service=\"$service\"" "$tmp/headers" ||
  fail "/v2/ without a token: not the sample's realm and service: $(cat "$tmp/headers")"
grep -qi '^docker-distribution-api-version: registry/2.0' "$tmp/headers" ||
  fail "/v2/ lacks Docker-Distribution-API-Version"
# An anonymous token from the registry's own token service opens /v2/.
expect_status 200 --cacert "$tmp/tls/server.crt" \
  "https://127.0.0.1:$port/auth/token?service=$service"
token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$tmp/body")
[ -n "$token" ] || fail "no token from /auth/token: $(cat "$tmp/body")"
expect_status 200 -H "Authorization: Bearer $token" "${v2[@]}"
stop
# Data went where the rewritten sample says, not to the sample's own data dir.
[ -d "$data/meta" ] || fail "no metadata store in $data"

# --- every cp of a shell block copies something that is there ----------------------------

# The ```sh blocks, each line prefixed with its block's number; continuation lines joined.
awk '/^```sh$/ { block++; inside = 1; next }
     inside && /^```/ { inside = 0; next }
     inside { print block "\t" $0 }' "$readme" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' \
  >"$tmp/shell"
cps=0
while IFS=$'\t' read -r block line; do
  read -r -a words <<<"${line%%#*}"
  [ "${words[0]:-}" = sudo ] && words=("${words[@]:1}")
  [ "${words[0]:-}" = cp ] || continue
  cps=$((cps + 1))
  args=()
  for w in "${words[@]:1}"; do [[ $w == -* ]] || args+=("$w"); done
  [ "${#args[@]}" -ge 2 ] || fail "README.md: \"$line\" names no source and destination"
  for src in "${args[@]:0:${#args[@]}-1}"; do
    if [[ $src != /* ]]; then
      [ -e "$root/$src" ] || fail "README.md: \"$line\": $src is not in the repository"
      continue
    fi
    # An absolute source: a file that gen-cert, as the same block runs it, writes.
    gen=$(awk -F'\t' -v b="$block" '$1 == b && $2 ~ /gen-cert/ { print $2 }' "$tmp/shell")
    out=$(sed -n 's/.*--out \([^ ]*\).*/\1/p' <<<"$gen")
    [ -n "$out" ] && [ "$(dirname "$src")" = "$out" ] ||
      fail "README.md: \"$line\": $src is neither in the repository nor made by gen-cert there"
    read -r -a gen_words <<<"${gen%%#*}"
    made="$tmp/gen-cert-$cps"
    gen_words=("${gen_words[@]/#$out/$made}")
    "$bin" "${gen_words[@]:1}" >/dev/null || fail "README.md: \"$gen\" failed"
    [ -f "$made/$(basename "$src")" ] ||
      fail "README.md: \"$line\": \"$gen\" makes no $(basename "$src")"
  done
done <"$tmp/shell"
[ "$cps" -gt 0 ] || fail "README.md has no cp line in its sh blocks (has the block syntax changed?)"
echo "readme_test: ok ($cps cp lines)"
