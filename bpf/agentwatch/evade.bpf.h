/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What payload capture cannot see, made loud: bytes moved between fds inside
 * the kernel (splice, tee, sendfile, copy_file_range), io_uring rings (their
 * reads and writes are no syscalls), another process's memory read or
 * written (process_vm_readv/writev) and fds received over SCM_RIGHTS, by a
 * watched or probed process, each an AW_EV_EVADE record. A pipe or socket
 * whose bytes went unseen gets a gap in its stream: its offset moves on, so
 * the daemon marks the stream cut instead of decoding across the hole.
 *
 * And the message vectors of sendmmsg and recvmmsg: the first AW_MMSG_CAP
 * messages are captured like sendmsg/recvmsg; the rest are a gap.
 */
#ifndef __AGENTWATCH_EVADE_BPF_H__
#define __AGENTWATCH_EVADE_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/fd.bpf.h"
#include "agentwatch/payload.bpf.h"

#define AW_MMSG_CAP 4
#define AW_MMSG_MAX 1024 /* UIO_MAXIOV: the most messages one call moves */
#define AW_SOL_SOCKET 1
#define AW_SCM_RIGHTS 1
#define AW_FMODE_WRITE 0x2

/* Moves the stream of a pipe or socket fd on by bytes (a gap the daemon
 * sees); 0 when fd is no pipe or socket. */
static __noinline int stream_skip(int fd, __u32 dir, __u64 bytes)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *f = fd_file(task, fd);
	umode_t mode;
	__u64 offset;

	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
	if (mode != S_IFIFO && mode != S_IFSOCK)
		return 0;
	if (bytes)
		stream_reserve(fd, dir, BPF_CORE_READ(f, f_inode, i_ino), bytes,
			       &offset);
	return 1;
}

/* fds: fd << 32 | fd2 (BPF calls take five arguments); extra: the target
 * pid of process_vm_readv/writev, else a count (fds received, ring
 * entries). */
#define EVADE_FDS(fd, fd2) ((__u64)(__u32)(fd) << 32 | (__u32)(fd2))

static __noinline void emit_evade(__u32 syscall, long ret, __u64 fds,
				  __u32 flags, __u32 extra)
{
	struct aw_evade_event e = {};

	fill_hdr(&e.hdr, AW_EV_EVADE, sizeof(e));
	if (watch_flags(e.hdr.pid) & AW_WATCH_ON)
		e.hdr.flags |= AW_HDR_WATCHED;
	e.ret = ret;
	e.fd = (__s32)(fds >> 32);
	e.fd2 = (__s32)fds;
	e.syscall = syscall;
	e.flags = flags;
	if (syscall == AW_SC_PROCESS_VM_READV ||
	    syscall == AW_SC_PROCESS_VM_WRITEV)
		e.target_pid = extra;
	else
		e.count = extra;
	emit_record(&e, sizeof(e), AW_CAT_PROC);
}

/* splice, tee, sendfile, copy_file_range: ret bytes from fd_in to fd_out
 * that no user buffer held. Loud when either end is a pipe or socket. tee
 * does not consume its input (the bytes are read later, and seen): only
 * its output is a gap. */
static __always_inline void evade_move(__u32 syscall, int fd_in, int fd_out,
				       long ret)
{
	__u64 n = ret;
	__u32 flags = 0;

	if (ret <= 0)
		return; /* nothing moved (an error, or the end of the input) */
	if (stream_skip(fd_in, AW_DIR_IN, syscall == AW_SC_TEE ? 0 : n))
		flags |= AW_EVADE_FD_STREAM;
	if (stream_skip(fd_out, AW_DIR_OUT, n))
		flags |= AW_EVADE_FD2_STREAM;
	if (flags)
		emit_evade(syscall, ret, EVADE_FDS(fd_in, fd_out), flags, 0);
}

/* vmsplice: user memory to a pipe (its write end) or a pipe to user memory
 * (its read end), through the iovecs: captured like writev/readv. */
static __always_inline void capture_vmsplice(int fd, const void *iov,
					     __u32 nr, long ret, __u32 probe)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *f = fd_file(task, fd);
	__u32 dir;

	if (!f || !nr)
		return;
	dir = (BPF_CORE_READ(f, f_mode) & AW_FMODE_WRITE) ? AW_DIR_OUT : AW_DIR_IN;
	capture(fd, iov, nr, ret, CAP_HOW(AW_SC_VMSPLICE, dir) | probe);
}

/* recvmsg: fds received in an SCM_RIGHTS control message (the first one). */
static __always_inline void scm_rights_check(int fd, struct user_msghdr *umsg,
					     long ret)
{
	struct user_msghdr m = {};
	struct {
		__u64 len;
		__s32 level;
		__s32 type;
	} cm = {};

	if (ret < 0 || bpf_probe_read_user(&m, sizeof(m), umsg))
		return;
	if (!m.msg_control || m.msg_controllen < sizeof(cm))
		return;
	if (bpf_probe_read_user(&cm, sizeof(cm), m.msg_control))
		return;
	if (cm.level != AW_SOL_SOCKET || cm.type != AW_SCM_RIGHTS ||
	    cm.len < sizeof(cm))
		return;
	emit_evade(AW_SC_RECVMSG, ret, EVADE_FDS(fd, -1), AW_EVADE_SCM_RIGHTS,
		   (__u32)((cm.len - sizeof(cm)) / 4));
}

struct mmsg_rest {
	struct mmsghdr *vec;
	__u64 bytes;
};

static long mmsg_sum(__u32 i, struct mmsg_rest *r)
{
	__u32 len = 0;

	if (bpf_probe_read_user(&len, sizeof(len),
				&r->vec[i + AW_MMSG_CAP].msg_len))
		return 1;
	r->bytes += len;
	return 0;
}

/* sendmmsg, recvmmsg: ret messages, each msg_len bytes of its iovecs. */
static __always_inline void capture_mmsg(int fd, struct mmsghdr *vec, long ret,
					 __u32 dir, __u32 syscall, __u32 probe)
{
	struct mmsg_rest rest = { .vec = vec };
	__u32 n = ret > 0 ? (ret < AW_MMSG_MAX ? ret : AW_MMSG_MAX) : 0;

#pragma unroll
	for (int i = 0; i < AW_MMSG_CAP; i++) {
		struct mmsghdr m = {};

		if (i >= n)
			return;
		if (bpf_probe_read_user(&m, sizeof(m), &vec[i]))
			return;
		if (m.msg_hdr.msg_iovlen && m.msg_len)
			capture(fd, m.msg_hdr.msg_iov, (__u32)m.msg_hdr.msg_iovlen,
				m.msg_len, CAP_HOW(syscall, dir) | probe);
	}
	if (n <= AW_MMSG_CAP)
		return;
	bpf_loop(n - AW_MMSG_CAP, mmsg_sum, &rest, 0);
	stream_skip(fd, dir, rest.bytes);
}

#endif /* __AGENTWATCH_EVADE_BPF_H__ */
