/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Discovery probation (AW_WATCH_PROBE) of processes that are not watched:
 * stdio that is pipes or sockets at exec, and each accepted TCP connection,
 * get an entry in "probes" whose byte budget payload capture spends
 * (capture() with CAP_PROBE). The daemon decides from the captured bytes:
 * watched (AW_WATCH_ON | AW_WATCH_INHERIT) or AW_WATCH_NOT_MCP. A probed fd
 * duplicated (dup, dup2, dup3, fcntl F_DUPFD) is probed under its new
 * number too, so a server that moves its stdio pipes is still seen; a
 * listener found to be no MCP server still has one accepted connection in
 * AW_SAMPLE_NOT_MCP probed, so one that answers MCP later is found.
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

#define AW_SAMPLE_NOT_MCP 16
#define AW_F_DUPFD 0
#define AW_F_DUPFD_CLOEXEC 1030

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

/* A probed fd copied to newfd: the copy gets what budget is left. */
static __always_inline void probe_dup(int oldfd, long newfd)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct aw_probe_key k = { .tgid = tgid, .fd = oldfd };
	struct aw_probe_budget *b;
	struct aw_probe_budget copy;

	if (newfd < 0 || newfd == oldfd)
		return;
	b = bpf_map_lookup_elem(&probes, &k);
	if (!b)
		return;
	copy = *b;
	k.fd = (int)newfd;
	bpf_map_update_elem(&probes, &k, &copy, BPF_ANY);
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

	if (!discover_http || ret < 0 || (wf & AW_WATCH_ON))
		return;
	/* Found no MCP server: a sample of its later connections still. */
	if ((wf & AW_WATCH_NOT_MCP) &&
	    bpf_get_prandom_u32() % AW_SAMPLE_NOT_MCP != 0)
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
