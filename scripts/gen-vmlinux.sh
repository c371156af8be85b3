#!/usr/bin/env bash
# Regenerate the checked-in vmlinux.h for this machine's architecture from the
# running kernel's BTF. Run by hand only: the build never regenerates it, so a
# build does not depend on the build host's kernel (CO-RE relocates at load).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) echo "gen-vmlinux: unsupported arch $(uname -m)" >&2; exit 1 ;;
esac
btf="${1:-/sys/kernel/btf/vmlinux}"
mkdir -p "$here/bpf/vmlinux/$arch"
bpftool btf dump file "$btf" format c > "$here/bpf/vmlinux/$arch/vmlinux.h"
echo "wrote bpf/vmlinux/$arch/vmlinux.h from $btf"
