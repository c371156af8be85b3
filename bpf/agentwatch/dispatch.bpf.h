/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syscall programs: the dispatchers that turn a hooked syscall's exit
 * into records, and the table that makes, for each hooked syscall, the
 * preferred program and the fallback pair. The daemon enables one of the
 * two per syscall before load.
 */
#ifndef __AGENTWATCH_DISPATCH_BPF_H__
#define __AGENTWATCH_DISPATCH_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/syscalls.bpf.h"
#include "agentwatch/discovery.bpf.h"
#include "agentwatch/file.bpf.h"
#include "agentwatch/net.bpf.h"
#include "agentwatch/payload.bpf.h"
#include "agentwatch/evade.bpf.h"

/*
 * Every hooked syscall is reported at its exit, from its result and six
 * arguments, by one of three dispatchers: sys_exit_file (open, unlink,
 * rename), sys_exit_net (connect, accept, bind, listen, and DNS and payload
 * of sends) and sys_exit_io (payload of reads and writes). Two ways to get
 * the arguments:
 *
 *  - preferred (sx_*): an exit-only tracepoint reads them back from the
 *    task's saved user registers (bpf_task_pt_regs, Linux 5.15). A hooked
 *    syscall costs an unwatched process one program run and one lookup.
 *  - fallback (enter_* + exit_*): the enter tracepoint stashes them in the
 *    pending map, the exit tracepoint takes them back.
 *
 * Payload is captured from every syscall that moves bytes through a user
 * buffer (read/write and their p, v, pv and pv2 forms, the recv and send
 * families with the mmsg vectors, vmsplice); splice, tee, sendfile and
 * copy_file_range move them inside the kernel, and io_uring and
 * process_vm_readv/writev go around syscalls: those are reported as
 * evasions (evade.bpf.h), never silently missed.
 */

static __noinline int sys_exit_file(const __u64 *a, long nr, long ret,
				     __u32 wf)
{
	struct open_how how = {};

	if (!(wf & AW_WATCH_ON))
		return 0;

	switch (nr) {
	case NR_openat:
		emit_open(ret, (int)ARG(1), (const char *)ARG(2), (__u32)ARG(3),
			  (__u32)ARG(4), AW_SC_OPENAT);
		break;
	case NR_open:
		emit_open(ret, AT_FDCWD, (const char *)ARG(1), (__u32)ARG(2),
			  (__u32)ARG(3), AW_SC_OPEN);
		break;
	case NR_creat:
		emit_open(ret, AT_FDCWD, (const char *)ARG(1),
			  O_CREAT | O_WRONLY | O_TRUNC, (__u32)ARG(2),
			  AW_SC_CREAT);
		break;
	case NR_openat2:
		bpf_probe_read_user(&how, sizeof(how), (void *)ARG(3));
		emit_open(ret, (int)ARG(1), (const char *)ARG(2),
			  (__u32)how.flags, (__u32)how.mode, AW_SC_OPENAT2);
		break;
	case NR_unlink:
		emit_unlink(ret, AT_FDCWD, (const char *)ARG(1), 0,
			    AW_SC_UNLINK);
		break;
	case NR_unlinkat:
		emit_unlink(ret, (int)ARG(1), (const char *)ARG(2),
			    (__u32)ARG(3), AW_SC_UNLINKAT);
		break;
	case NR_rename:
		emit_rename(ret, AT_FDCWD, (const char *)ARG(1), AT_FDCWD,
			    (const char *)ARG(2), 0, AW_SC_RENAME);
		break;
	case NR_renameat:
		emit_rename(ret, (int)ARG(1), (const char *)ARG(2),
			    (int)ARG(3), (const char *)ARG(4), 0,
			    AW_SC_RENAMEAT);
		break;
	case NR_renameat2:
		emit_rename(ret, (int)ARG(1), (const char *)ARG(2),
			    (int)ARG(3), (const char *)ARG(4), (__u32)ARG(5),
			    AW_SC_RENAMEAT2);
		break;
	}
	return 0;
}

static __noinline int sys_exit_net(const __u64 *a, long nr, long ret,
				    __u32 wf)
{
	struct aw_net_event *e;
	int fd = (int)ARG(1);
	__u32 probe = 0;

	if (!(wf & AW_WATCH_ON)) {
		/* Not watched: discovery only. */
		if (nr == NR_accept || nr == NR_accept4)
			probe_accept(ret, wf);
		else if (!(wf & AW_WATCH_PROBE))
			return 0;
		else if (nr == NR_sendto)
			capture(fd, (void *)ARG(2), 0, ret,
				CAP_HOW(AW_SC_SENDTO, AW_DIR_OUT) | CAP_PROBE);
		else if (nr == NR_sendmsg)
			capture_msghdr(fd, (void *)ARG(2), ret, AW_DIR_OUT,
				       AW_SC_SENDMSG, CAP_PROBE);
		else if (nr == NR_sendmmsg)
			capture_mmsg(fd, (struct mmsghdr *)ARG(2), ret,
				     AW_DIR_OUT, AW_SC_SENDMMSG, CAP_PROBE);
		return 0;
	}

	switch (nr) {
	case NR_connect:
		e = net_begin(AW_EV_NET_CONNECT, ret, fd, AW_SC_CONNECT);
		if (!e)
			return 0;
		net_fill_sock(e, fd);
		read_user_sockaddr(&e->remote, (void *)ARG(2), (__u32)ARG(3));
		output(e, sizeof(*e), AW_CAT_NET);
		break;
	case NR_accept:
		accept_exit(ret, fd, AW_SC_ACCEPT);
		break;
	case NR_accept4:
		accept_exit(ret, fd, AW_SC_ACCEPT4);
		break;
	case NR_bind:
		e = net_begin(AW_EV_NET_BIND, ret, fd, AW_SC_BIND);
		if (!e)
			return 0;
		net_fill_sock(e, fd);
		read_user_sockaddr(&e->local, (void *)ARG(2), (__u32)ARG(3));
		__builtin_memset(&e->remote, 0, sizeof(e->remote));
		output(e, sizeof(*e), AW_CAT_NET);
		break;
	case NR_listen:
		e = net_begin(AW_EV_NET_LISTEN, ret, fd, AW_SC_LISTEN);
		if (!e)
			return 0;
		net_fill_sock(e, fd);
		e->backlog = (__u32)ARG(2);
		__builtin_memset(&e->remote, 0, sizeof(e->remote));
		output(e, sizeof(*e), AW_CAT_NET);
		break;
	case NR_sendto:
		if (ret > 0)
			dns_check(fd, (void *)ARG(2), ARG(3), (void *)ARG(5),
				  (__u32)ARG(6), AW_SC_SENDTO);
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_SENDTO, AW_DIR_OUT));
		break;
	case NR_sendmsg:
		if (ret > 0)
			dns_msghdr(fd, (void *)ARG(2), AW_SC_SENDMSG);
		capture_msghdr(fd, (void *)ARG(2), ret, AW_DIR_OUT,
			       AW_SC_SENDMSG, probe);
		break;
	case NR_sendmmsg:
		if (ret > 0)
			dns_msghdr(fd, &((struct mmsghdr *)ARG(2))[0].msg_hdr,
				   AW_SC_SENDMMSG);
		if (ret > 1)
			dns_msghdr(fd, &((struct mmsghdr *)ARG(2))[1].msg_hdr,
				   AW_SC_SENDMMSG);
		capture_mmsg(fd, (struct mmsghdr *)ARG(2), ret, AW_DIR_OUT,
			     AW_SC_SENDMMSG, 0);
		break;
	}
	return 0;
}

static __noinline int sys_exit_io(const __u64 *a, long nr, long ret,
				   __u32 wf)
{
	int fd = (int)ARG(1);
	/* Watched: every pipe and socket. On probation: the probed fds. */
	__u32 probe = (wf & AW_WATCH_ON) ? 0 : CAP_PROBE;

	if (!(wf & (AW_WATCH_ON | AW_WATCH_PROBE)))
		return 0;

	switch (nr) {
	case NR_read:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_READ, AW_DIR_IN) | probe);
		break;
	case NR_write:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_WRITE, AW_DIR_OUT) | probe);
		break;
	case NR_readv:
		if (ARG(3))
			capture(fd, (void *)ARG(2), (__u32)ARG(3), ret,
				CAP_HOW(AW_SC_READV, AW_DIR_IN) | probe);
		break;
	case NR_writev:
		if (ARG(3))
			capture(fd, (void *)ARG(2), (__u32)ARG(3), ret,
				CAP_HOW(AW_SC_WRITEV, AW_DIR_OUT) | probe);
		break;
	case NR_recvfrom:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_RECVFROM, AW_DIR_IN) | probe);
		break;
	case NR_recvmsg:
		capture_msghdr(fd, (void *)ARG(2), ret, AW_DIR_IN,
			       AW_SC_RECVMSG, probe);
		scm_rights_check(fd, (void *)ARG(2), ret);
		break;
	/* The same bytes by other ways in and out. */
	case NR_pread64:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_PREAD64, AW_DIR_IN) | probe);
		break;
	case NR_pwrite64:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_PWRITE64, AW_DIR_OUT) | probe);
		break;
	case NR_preadv:
	case NR_preadv2:
		if (ARG(3))
			capture(fd, (void *)ARG(2), (__u32)ARG(3), ret,
				CAP_HOW(nr == NR_preadv ? AW_SC_PREADV
							: AW_SC_PREADV2,
					AW_DIR_IN) | probe);
		break;
	case NR_pwritev:
	case NR_pwritev2:
		if (ARG(3))
			capture(fd, (void *)ARG(2), (__u32)ARG(3), ret,
				CAP_HOW(nr == NR_pwritev ? AW_SC_PWRITEV
							 : AW_SC_PWRITEV2,
					AW_DIR_OUT) | probe);
		break;
	case NR_recvmmsg:
		capture_mmsg(fd, (struct mmsghdr *)ARG(2), ret, AW_DIR_IN,
			     AW_SC_RECVMMSG, probe);
		break;
	case NR_vmsplice:
		capture_vmsplice(fd, (void *)ARG(2), (__u32)ARG(3), ret, probe);
		break;
	/* Bytes no user buffer held, and ways around syscalls: loud. */
	case NR_splice:
		evade_move(AW_SC_SPLICE, fd, (int)ARG(3), ret);
		break;
	case NR_tee:
		evade_move(AW_SC_TEE, fd, (int)ARG(2), ret);
		break;
	case NR_sendfile64:
		evade_move(AW_SC_SENDFILE, (int)ARG(2), fd, ret);
		break;
	case NR_copy_file_range:
		evade_move(AW_SC_COPY_FILE_RANGE, fd, (int)ARG(3), ret);
		break;
	case NR_io_uring_setup:
		if (ret >= 0)
			emit_evade(AW_SC_IO_URING_SETUP, ret,
				   EVADE_FDS(ret, -1), 0, (__u32)ARG(1));
		break;
	case NR_process_vm_readv:
		if (ret > 0)
			emit_evade(AW_SC_PROCESS_VM_READV, ret,
				   EVADE_FDS(-1, -1), 0, (__u32)ARG(1));
		break;
	/* A probed fd under a new number stays probed (discovery). */
	case NR_dup:
	case NR_dup2:
	case NR_dup3:
		if (probe)
			probe_dup(fd, ret);
		break;
	case NR_fcntl:
		if (probe && (ARG(2) == AW_F_DUPFD || ARG(2) == AW_F_DUPFD_CLOEXEC))
			probe_dup(fd, ret);
		break;
	case NR_process_vm_writev:
		if (ret > 0)
			emit_evade(AW_SC_PROCESS_VM_WRITEV, ret,
				   EVADE_FDS(-1, -1), 0, (__u32)ARG(1));
		break;
	}
	return 0;
}

#define SX_PROG(name, family)                                                \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int sx_##name(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		__u32 wf = watch_flags(bpf_get_current_pid_tgid() >> 32);     \
		struct pt_regs *regs;                                         \
		__u64 a[6];                                                   \
									      \
		/* unwatched: only accept runs on (discovery) */              \
		if (!(wf & (AW_WATCH_ON | AW_WATCH_PROBE)) &&                 \
		    NR_##name != NR_accept && NR_##name != NR_accept4)        \
			return 0;                                             \
		regs = (struct pt_regs *)bpf_task_pt_regs(                    \
			bpf_get_current_task_btf());                          \
		a[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);                      \
		a[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);                      \
		a[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);                      \
		a[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);                      \
		a[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);                      \
		a[5] = SYSCALL_ARG6(regs);                                    \
		sys_exit_##family(a, NR_##name, ctx->ret, wf);                \
		return 0;                                                     \
	}

/* nargs: how many arguments the syscall has (its tracepoint's context is
 * only that large). */
#define FALLBACK_PAIR(name, family, nargs)                                   \
	SEC("tracepoint/syscalls/sys_enter_" #name)                           \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)               \
	{                                                                     \
		return stash(ctx, NR_##name, nargs);                          \
	}                                                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                 \
	{                                                                     \
		__u32 wf = watch_flags(bpf_get_current_pid_tgid() >> 32);     \
		struct pending_args a;                                        \
									      \
		if (unstash(&a, NR_##name))                                   \
			sys_exit_##family(a.a, NR_##name, ctx->ret, wf);      \
		else if (NR_##name == NR_accept || NR_##name == NR_accept4)   \
			probe_accept(ctx->ret, wf);                           \
		return 0;                                                     \
	}

#define SYSCALL_PROBES(name, family, nargs)                                  \
	SX_PROG(name, family)                                                 \
	FALLBACK_PAIR(name, family, nargs)

SYSCALL_PROBES(openat, file, 4)
SYSCALL_PROBES(open, file, 3)
SYSCALL_PROBES(creat, file, 2)
SYSCALL_PROBES(openat2, file, 4)
SYSCALL_PROBES(unlink, file, 1)
SYSCALL_PROBES(unlinkat, file, 3)
SYSCALL_PROBES(rename, file, 2)
SYSCALL_PROBES(renameat, file, 4)
SYSCALL_PROBES(renameat2, file, 5)
SYSCALL_PROBES(connect, net, 3)
SYSCALL_PROBES(accept, net, 3)
SYSCALL_PROBES(accept4, net, 4)
SYSCALL_PROBES(bind, net, 3)
SYSCALL_PROBES(listen, net, 2)
SYSCALL_PROBES(sendto, net, 6)
SYSCALL_PROBES(sendmsg, net, 3)
SYSCALL_PROBES(sendmmsg, net, 4)
SYSCALL_PROBES(read, io, 3)
SYSCALL_PROBES(write, io, 3)
SYSCALL_PROBES(readv, io, 3)
SYSCALL_PROBES(writev, io, 3)
SYSCALL_PROBES(recvfrom, io, 6)
SYSCALL_PROBES(recvmsg, io, 3)
SYSCALL_PROBES(pread64, io, 4)
SYSCALL_PROBES(pwrite64, io, 4)
SYSCALL_PROBES(preadv, io, 5)
SYSCALL_PROBES(pwritev, io, 5)
SYSCALL_PROBES(preadv2, io, 6)
SYSCALL_PROBES(pwritev2, io, 6)
SYSCALL_PROBES(recvmmsg, io, 5)
SYSCALL_PROBES(vmsplice, io, 4)
SYSCALL_PROBES(splice, io, 6)
SYSCALL_PROBES(tee, io, 4)
SYSCALL_PROBES(sendfile64, io, 4)
SYSCALL_PROBES(copy_file_range, io, 6)
SYSCALL_PROBES(io_uring_setup, io, 2)
SYSCALL_PROBES(process_vm_readv, io, 6)
SYSCALL_PROBES(process_vm_writev, io, 6)
SYSCALL_PROBES(dup, io, 1)
SYSCALL_PROBES(dup2, io, 2)
SYSCALL_PROBES(dup3, io, 3)
SYSCALL_PROBES(fcntl, io, 3)

#endif /* __AGENTWATCH_DISPATCH_BPF_H__ */
