#!/usr/bin/env bash
# Installs what pier needs from Debian 12's apt repositories, and nothing when all of it
# is there (then it prints nothing). Usage: tools/deps.sh build|test|bench
set -euo pipefail

build=(cmake ninja-build g++ python3 libasio-dev libboost-url1.81-dev libboost-json1.81-dev
       libssl-dev libcrypt-dev librocksdb-dev)
test=("${build[@]}" libgtest-dev libbenchmark-dev clang libfuzzer-14-dev libclang-rt-14-dev
      libhttp-parser-dev curl skopeo podman containerd docker-registry)
bench=("${test[@]}" wrk nginx-light)

case "${1:-}" in
  build) want=("${build[@]}") ;;
  test) want=("${test[@]}") ;;
  bench) want=("${bench[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
