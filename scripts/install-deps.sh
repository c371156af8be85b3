#!/usr/bin/env bash
# Idempotent install of every Debian package agentwatch needs to build, test
# and benchmark, plus the pinned npm packages: userspace/console/web (esbuild,
# which bundles the web console at build time) and tests/ (MCP servers and
# clients for the e2e tier, playwright-core for the console's browser test).
# Safe to run again: apt and npm ci skip what is already there.
#   scripts/install-deps.sh            build, test and benchmark (the default)
#   scripts/install-deps.sh --build    only what building the binaries needs
#   scripts/install-deps.sh --runtime  only the shared libraries the binaries
#                                      load (the container image's last stage)
set -euo pipefail
mode="${1:-all}"

# What agentwatchd and agentwatch load at run time (keep in step with
# `ldd build/bin/agentwatchd`; the deploy test checks it).
RUNTIME_PKGS=(
  libbpf1 libelf1 zlib1g libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623
  libspdlog1.10 libfmt9 libboost-program-options1.74.0 libyaml-cpp0.7
  libsqlite3-0 libsimdjson14 libre2-9 libicu72 libvectorscan5 libssl3 libcurl4 ca-certificates
)

BUILD_PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  clang llvm libclang-rt-14-dev
  # BPF
  libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  # gRPC / protobuf (one generated library)
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc
  libprotobuf-dev libabsl-dev
  # userspace libraries
  libspdlog-dev libfmt-dev libboost-program-options-dev libyaml-cpp-dev
  libsqlite3-dev libsimdjson-dev libre2-dev libicu-dev libvectorscan-dev libssl-dev libcurl4-openssl-dev
)

TEST_PKGS=(
  # tests and benchmarks (curl: OpenSSL client, wget: GnuTLS client, openssl:
  # test certificates, valgrind: instruction counts)
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  iproute2 procps python3 python3-yaml curl wget openssl
  # alert sinks: a real syslog receiver (TCP and TLS inputs)
  rsyslog rsyslog-openssl
  # the fleet-wide store's test: a real ClickHouse server
  clickhouse-server clickhouse-client
  # deploy tests: systemd-analyze verify for the unit; the image's last
  # stage built as a root directory (e2e.image)
  systemd debootstrap
  # the web console's browser test (e2e.console): headless, driven by
  # playwright-core from tests/ (no browser download)
  chromium
)

case "$mode" in
  --runtime) PKGS=("${RUNTIME_PKGS[@]}") ;;
  --build) PKGS=("${BUILD_PKGS[@]}") ;;
  all) PKGS=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  *) echo "usage: $0 [--build | --runtime]" >&2; exit 2 ;;
esac
# kubectl with its built-in kustomize renders the Kubernetes manifests in
# the deploy tests; Debian's kubernetes-client when none is installed.
if [ "$mode" = all ] && ! command -v kubectl >/dev/null 2>&1; then
  PKGS+=(kubernetes-client)
fi
# Node.js (with npm) installs the console's bundler (building) and drives the
# MCP e2e tests; the machine image may already carry a newer Node than
# Debian's, which conflicts with Debian's npm.
if [ "$mode" != --runtime ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  PKGS+=(nodejs npm)
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

if [ "$mode" = --runtime ]; then
  exit 0
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# npm ci in a folder of the tree with a lockfile, unless its node_modules is
# up to date with it.
npm_ci() {
  local dir="$here/$1"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -d "$dir/node_modules" ] || \
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in $1/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
# The web console's bundler (esbuild, pinned): the build needs it.
npm_ci userspace/console/web
[ "$mode" = all ] || exit 0
npm_ci tests
