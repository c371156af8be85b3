#!/usr/bin/env bash
# Instruction counts of the BPF programs in a compiled object.
#
#   scripts/bpf-insn-count.sh OBJECT.bpf.o
#     One "program insns" line per function of the object, read from its
#     symbol table: the programs in section order, then the .text
#     subprograms (bpf-to-bpf calls, bpf_loop/for_each callbacks) by
#     address, named ".text/<function>". A count is the symbol's size / 8,
#     the 8-byte slots bpf_program__insn_cnt() counts after open (a 64-bit
#     immediate load takes two). Needs nothing but llvm-readelf (or readelf).
#
#   scripts/bpf-insn-count.sh --load OBJECT.bpf.o
#     Root: loads every program of the object with libbpf (all of them,
#     preferred and fallback variants alike, with the object's default
#     settings; nothing is attached) and prints "program insns verified"
#     per program: its size after libbpf appended the subprograms it calls,
#     and the instructions the kernel's verifier processed. Fails if the
#     verifier refuses any program. Builds a small helper with cc -lbpf.
set -euo pipefail

usage() {
	echo "usage: $0 [--load] OBJECT.bpf.o" >&2
	exit 2
}

load=0
if [ "${1:-}" = "--load" ]; then
	load=1
	shift
fi
[ $# -eq 1 ] && [ -f "$1" ] || usage
obj=$1

if [ $load -eq 0 ]; then
	readelf=$(command -v llvm-readelf || command -v readelf)
	# Sort key: section index (.text last), then address.
	"$readelf" --wide --section-headers --symbols "$obj" | awk '
		/^ *\[ *[0-9]+\]/ {	# "[ 4] tp_btf/sched_process_exec PROGBITS"
			line = $0
			sub(/^ *\[ */, "", line)
			split(line, f, /[] ]+/)
			secname[f[1]] = f[2]
			next
		}
		$4 == "FUNC" {		# "Num: Value Size Type Bind Vis Ndx Name"
			if (secname[$7] == ".text")
				printf "99999 %s .text/%s %d\n", $2, $8, $3 / 8
			else
				printf "%05d %s %s %d\n", $7, $2, $8, $3 / 8
		}' | sort -k1,1n -k2,2 | cut -d' ' -f3-
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/load.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s failed\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, true);
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, len);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			return 1;
		printf("%s %zu %u\n", bpf_program__name(prog),
		       bpf_program__insn_cnt(prog), info.verified_insns);
	}
	bpf_object__close(obj);
	return 0;
}
C
cc -O2 -o "$tmp/load" "$tmp/load.c" $(pkg-config --cflags --libs libbpf)
"$tmp/load" "$obj"
