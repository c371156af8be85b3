/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Discovery probation (AW_WATCH_PROBE) of processes that are not watched:
 * stdio that is pipes or sockets at exec, and each accepted TCP connection,
 * get an entry in "probes" whose byte budget payload capture spends
 * (capture() with CAP_PROBE). The daemon decides from the captured bytes:
 * watched (AW_WATCH_ON | AW_WATCH_INHERIT) or AW_WATCH_NOT_MCP.
 */
#ifndef __AGENTWATCH_DISCOVERY_BPF_H__
#define __AGENTWATCH_DISCOVERY_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/fd.bpf.h"

static __always_inline void probe_fd(__u32 tgid, int fd)
{
	struct aw_probe_key k = { .tgid = tgid, .fd = fd };
	struct aw_probe_budget b = { .left = { probe_bytes, probe_bytes } };

	bpf_map_update_elem(&probes, &k, &b, BPF_ANY);
}

/* At exec of a process that is not watched: a stdin and stdout that are
 * pipes or sockets are how MCP clients talk to stdio servers, so capture
 * the first bytes on them. What an earlier image was found to be no
 * longer holds. */
static __always_inline int probe_stdio(struct task_struct *task, __u32 tgid,
				       __u32 wf)
{
	__u32 flags = AW_WATCH_PROBE;

	if (wf)
		bpf_map_delete_elem(&watched, &tgid);
	if (!discover_stdio || !is_ipc_fd(task, 0) || !is_ipc_fd(task, 1))
		return 0;
	probe_fd(tgid, 0);
	probe_fd(tgid, 1);
	bpf_map_update_elem(&watched, &tgid, &flags, BPF_ANY);
	return 1;
}

/* An accepted TCP connection of a process that is not watched: capture its
 * first bytes, to recognise an HTTP MCP server by its requests. */
static __always_inline void probe_accept(long ret, __u32 wf)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct socket *sock;
	__u16 family;
	__u32 flags;

	if (!discover_http || ret < 0 || (wf & (AW_WATCH_ON | AW_WATCH_NOT_MCP)))
		return;
	sock = fd_socket(task, (int)ret, NULL);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return;
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return;
	probe_fd(tgid, (int)ret);
	if (!(wf & AW_WATCH_PROBE)) {
		flags = wf | AW_WATCH_PROBE;
		bpf_map_update_elem(&watched, &tgid, &flags, BPF_ANY);
	}
}

#endif /* __AGENTWATCH_DISCOVERY_BPF_H__ */
