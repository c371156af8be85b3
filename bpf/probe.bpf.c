// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probes: one trivial program per hook type. The daemon loads and
 * attaches each alone at start-up to learn which hook types this kernel
 * (and its lockdown / permission settings) allows; `agentwatch status`
 * reports the outcome. Nothing here emits events.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(probe_tp_btf, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int probe_raw_tracepoint(void *ctx)
{
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	return 0;
}

SEC("kprobe/do_unlinkat")
int probe_kprobe(void *ctx)
{
	return 0;
}
