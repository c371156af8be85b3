/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syscall argument glue shared by the dispatchers (dispatch.bpf.h):
 * syscall numbers per architecture, the sixth-argument register, ARG(), and
 * the fallback pairs' stash (enter) and unstash (exit) of the arguments in
 * the "pending" map. The preferred exit-only programs read the arguments
 * from the saved user registers instead (SX_PROG in dispatch.bpf.h).
 */
#ifndef __AGENTWATCH_SYSCALLS_BPF_H__
#define __AGENTWATCH_SYSCALLS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"

/* Numbers of the hooked syscalls (a syscall the architecture lacks gets a
 * distinct negative number, so no case matches it) and the register that
 * holds a syscall's sixth argument. */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG6(regs) BPF_CORE_READ(regs, r9)
#define NR_open 2
#define NR_creat 85
#define NR_openat 257
#define NR_openat2 437
#define NR_unlink 87
#define NR_unlinkat 263
#define NR_rename 82
#define NR_renameat 264
#define NR_renameat2 316
#define NR_connect 42
#define NR_accept 43
#define NR_accept4 288
#define NR_bind 49
#define NR_listen 50
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_sendmmsg 307
#define NR_read 0
#define NR_write 1
#define NR_readv 19
#define NR_writev 20
#define NR_recvfrom 45
#define NR_recvmsg 47
#define NR_pread64 17
#define NR_pwrite64 18
#define NR_preadv 295
#define NR_pwritev 296
#define NR_preadv2 327
#define NR_pwritev2 328
#define NR_recvmmsg 299
#define NR_vmsplice 278
#define NR_splice 275
#define NR_tee 276
#define NR_sendfile64 40
#define NR_copy_file_range 326
#define NR_io_uring_setup 425
#define NR_process_vm_readv 310
#define NR_process_vm_writev 311
#define NR_dup 32
#define NR_dup2 33
#define NR_dup3 292
#define NR_fcntl 72
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_ARG6(regs) BPF_CORE_READ(regs, regs[5])
#define NR_open -2 /* not on arm64: distinct negative numbers */
#define NR_creat -3
#define NR_openat 56
#define NR_openat2 437
#define NR_unlink -4
#define NR_unlinkat 35
#define NR_rename -5
#define NR_renameat 38
#define NR_renameat2 276
#define NR_connect 203
#define NR_accept 202
#define NR_accept4 242
#define NR_bind 200
#define NR_listen 201
#define NR_sendto 206
#define NR_sendmsg 211
#define NR_sendmmsg 269
#define NR_read 63
#define NR_write 64
#define NR_readv 65
#define NR_writev 66
#define NR_recvfrom 207
#define NR_recvmsg 212
#define NR_pread64 67
#define NR_pwrite64 68
#define NR_preadv 69
#define NR_pwritev 70
#define NR_preadv2 286
#define NR_pwritev2 287
#define NR_recvmmsg 243
#define NR_vmsplice 75
#define NR_splice 76
#define NR_tee 77
#define NR_sendfile64 71
#define NR_copy_file_range 285
#define NR_io_uring_setup 425
#define NR_process_vm_readv 270
#define NR_process_vm_writev 271
#define NR_dup 23
#define NR_dup2 -6 /* not on arm64 */
#define NR_dup3 24
#define NR_fcntl 25
#else
#error "syscall numbers for this architecture are missing"
#endif

/* The open flags creat() stands for. */
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

/* The n-th syscall argument (1-based) in a dispatcher's a[6]. */
#define ARG(n) (a[(n) - 1])

/*
 * Stash the first nargs syscall arguments. nargs must be a constant no larger
 * than the syscall's argument count: a per-syscall tracepoint's context is
 * only as large as its arguments, and a program that reads past it is refused
 * at attach (EACCES).
 */
static __always_inline int stash(struct trace_event_raw_sys_enter *ctx,
				 long nr, int nargs)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_args a = {};

	if (!(watch_flags(id >> 32) & (AW_WATCH_ON | AW_WATCH_PROBE)))
		return 0;
	a.nr = nr;
	/* One copy of the argument block; direct ctx loads at computed
	 * offsets are refused by the verifier. */
	bpf_probe_read_kernel(a.a, nargs * sizeof(a.a[0]), &ctx->args[0]);
	bpf_map_update_elem(&pending, &id, &a, BPF_ANY);
	return 0;
}

/* Take the stashed arguments of this thread's syscall; copies them out so
 * the map slot can be freed at once. */
static __always_inline int unstash(struct pending_args *out, long nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_args *a;

	if (!(watch_flags(id >> 32) & (AW_WATCH_ON | AW_WATCH_PROBE)))
		return 0;
	a = bpf_map_lookup_elem(&pending, &id);
	if (!a) {
		count(AW_CTR_PENDING_MISS);
		return 0;
	}
	__builtin_memcpy(out, a, sizeof(*out));
	bpf_map_delete_elem(&pending, &id);
	return out->nr == nr;
}

#endif /* __AGENTWATCH_SYSCALLS_BPF_H__ */
