/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process lifecycle, for every process: exec (with argv and cwd; the
 * "watch_exe" match and stdio probation happen here), fork (watch flags
 * inherited with AW_WATCH_INHERIT) and exit of the last thread (drops the
 * tgid's watch state and flushes its socket byte counts). Each hook has a
 * tp_btf program (btf_*, preferred) and a classic tracepoint one (tp_*,
 * fallback).
 */
#ifndef __AGENTWATCH_PROCESS_BPF_H__
#define __AGENTWATCH_PROCESS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/path.bpf.h"
#include "agentwatch/discovery.bpf.h"

static __always_inline int watch_by_exe(__u32 tgid, const char *filename)
{
	__u32 zero = 0, *flags;
	struct exe_key *k = bpf_map_lookup_elem(&exe_key_scratch, &zero);

	if (!k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_kernel_str(k->path, sizeof(k->path), filename) <= 0)
		return 0;
	flags = bpf_map_lookup_elem(&watch_exe, k);
	if (!flags)
		return 0;
	bpf_map_update_elem(&watched, &tgid, flags, BPF_ANY);
	return 1;
}

static __always_inline void emit_exec(struct task_struct *task,
				      const char *filename)
{
	struct aw_exec_event *e = get_scratch();
	__u32 off = 0, start, n, wf;
	unsigned long arg_start, arg_end, len;

	if (!e)
		return;
	fill_hdr(&e->hdr, AW_EV_EXEC, 0);
	wf = watch_flags(e->hdr.pid);
	if ((wf & AW_WATCH_ON) || watch_by_exe(e->hdr.pid, filename))
		e->hdr.flags |= AW_HDR_WATCHED;
	else if (probe_stdio(task, e->hdr.pid, wf))
		e->hdr.flags |= AW_HDR_PROBED;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->start_ns = BPF_CORE_READ(task, start_boottime);
	e->sec_flags = 0;
	e->argv_truncated = 0;

	/* 0: filename */
	n = bpf_probe_read_kernel_str(e->data, AW_FILENAME_MAX, filename);
	off = n > 0 ? n : 0;
	e->sec_len[0] = off;

	/* 1: argv, straight from the new image's stack */
	start = off;
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end - arg_start;
	if (len > argv_max) {
		len = argv_max;
		e->argv_truncated = 1;
	}
	if (len > AW_ARGV_MAX)
		len = AW_ARGV_MAX;
	if (len > 0 && off < AW_DATA_HALF) {
		if (bpf_probe_read_user(&e->data[off & (AW_DATA_HALF - 1)],
					len & (AW_DATA_HALF - 1),
					(void *)arg_start) == 0)
			off += len & (AW_DATA_HALF - 1);
	}
	e->sec_len[1] = off - start;

	/* 2: cwd */
	start = off;
	{
		struct path pwd = BPF_CORE_READ(task, fs, pwd);

		if (put_path(e->data, &off, pwd.dentry, pwd.mnt))
			e->sec_flags |= AW_PATH_ROOT;
	}
	e->sec_len[2] = off - start;
	e->sec_len[3] = 0;
	output(e, offsetof(struct aw_exec_event, data) + off, AW_CAT_PROC);
}

static __always_inline void emit_fork(struct task_struct *parent,
				      struct task_struct *child)
{
	struct aw_fork_event *e;
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);
	__u32 flags = 0, wf = watch_flags(ptgid);

	if (ctgid == ptgid) {
		/* a new thread: only worth a record for watched processes */
		if (!(wf & AW_WATCH_ON))
			return;
		flags |= AW_FORK_THREAD;
	} else if (wf & AW_WATCH_INHERIT) {
		bpf_map_update_elem(&watched, &ctgid, &wf, BPF_ANY);
		flags |= AW_FORK_WATCHED;
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(AW_CTR_DROPPED + AW_CAT_PROC);
		return;
	}
	fill_hdr(&e->hdr, AW_EV_FORK, sizeof(*e));
	if (wf & AW_WATCH_ON)
		e->hdr.flags |= AW_HDR_WATCHED;
	e->child_pid = ctgid;
	e->child_tid = cpid;
	e->flags = flags;
	e->pad = 0;
	e->child_start_ns = BPF_CORE_READ(child, start_boottime);
	bpf_ringbuf_submit(e, 0);
	count(AW_CTR_EMITTED + AW_CAT_PROC);
}

/* Reports what is left of a tgid's socket byte counts: in sockbytes.bpf.h,
 * which needs the network helpers (net.bpf.h). */
static __always_inline void flush_socks_of(__u32 tgid);

static __always_inline void emit_exit(struct task_struct *task)
{
	struct aw_exit_event *e;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u32 wf;

	/* Only the last thread of the group makes a process exit. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return;
	wf = watch_flags(tgid);
	if (wf) {
		struct aw_probe_key pk = { .tgid = tgid };

		flush_socks_of(tgid);
		bpf_map_delete_elem(&watched, &tgid);
		bpf_map_delete_elem(&probes, &pk);
		pk.fd = 1;
		bpf_map_delete_elem(&probes, &pk);
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(AW_CTR_DROPPED + AW_CAT_PROC);
		return;
	}
	fill_hdr(&e->hdr, AW_EV_EXIT, sizeof(*e));
	if (wf & AW_WATCH_ON)
		e->hdr.flags |= AW_HDR_WATCHED;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = BPF_CORE_READ(task, signal, group_exit_code);
	if (!e->exit_code)
		e->exit_code = BPF_CORE_READ(task, exit_code);
	e->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_ringbuf_submit(e, 0);
	count(AW_CTR_EMITTED + AW_CAT_PROC);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(btf_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	emit_exec(p, BPF_CORE_READ(bprm, filename));
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned short loc = ctx->__data_loc_filename & 0xFFFF;

	emit_exec((struct task_struct *)bpf_get_current_task(),
		  (const char *)ctx + loc);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf_fork, struct task_struct *parent, struct task_struct *child)
{
	emit_fork(parent, child);
	return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int tp_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	/* The classic tracepoint carries pids only; the child's task is not
	 * at hand, so threads are not told apart from processes here and
	 * the child's start time is left to the /proc scan. */
	struct aw_fork_event *e;
	__u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	__u32 cpid = ctx->child_pid;
	__u32 wf = watch_flags(ptgid);
	__u32 flags = 0;

	if (wf & AW_WATCH_INHERIT) {
		bpf_map_update_elem(&watched, &cpid, &wf, BPF_ANY);
		flags |= AW_FORK_WATCHED;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(AW_CTR_DROPPED + AW_CAT_PROC);
		return 0;
	}
	fill_hdr(&e->hdr, AW_EV_FORK, sizeof(*e));
	if (wf & AW_WATCH_ON)
		e->hdr.flags |= AW_HDR_WATCHED;
	e->child_pid = cpid;
	e->child_tid = cpid;
	e->flags = flags;
	e->pad = 0;
	e->child_start_ns = 0;
	bpf_ringbuf_submit(e, 0);
	count(AW_CTR_EMITTED + AW_CAT_PROC);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_exit, struct task_struct *p)
{
	emit_exit(p);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	emit_exit((struct task_struct *)bpf_get_current_task());
	return 0;
}

#endif /* __AGENTWATCH_PROCESS_BPF_H__ */
