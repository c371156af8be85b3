/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Socket byte counts of watched processes: sock_send_length and
 * sock_recv_length add to "socks" (tp_btf preferred, tracepoint fallback),
 * with the endpoints copied when counting starts. The counts are reported
 * as a close record when a TCP socket's side closes (inet_sock_set_state,
 * tp_btf) or, in the fallback, at close(2) of the fd; and for what is left
 * at process exit (flush_socks_of).
 */
#ifndef __AGENTWATCH_SOCKBYTES_BPF_H__
#define __AGENTWATCH_SOCKBYTES_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/fd.bpf.h"
#include "agentwatch/net.bpf.h"

/* Socket byte counters: every send/recv of a watched process's socket. */
static __always_inline void sock_account(struct sock *sk, int ret, int sent,
					 int flags)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 key = (__u64)sk;
	struct aw_sock_stats *st;

	if (ret <= 0 || (flags & 2 /* MSG_PEEK */) ||
	    !(watch_flags(tgid) & AW_WATCH_ON))
		return;
	st = bpf_map_lookup_elem(&socks, &key);
	if (!st) {
		struct aw_sock_stats init = {};

		init.pid = tgid;
		init.family = BPF_CORE_READ(sk, __sk_common.skc_family);
		init.sock_type = BPF_CORE_READ(sk, sk_type);
		init.protocol = BPF_CORE_READ(sk, sk_protocol);
		init.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		init.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (init.family == AF_INET) {
			__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

			__builtin_memcpy(init.laddr, &l, 4);
			__builtin_memcpy(init.raddr, &r, 4);
		} else if (init.family == AF_INET6) {
			BPF_CORE_READ_INTO(&init.laddr, sk,
					   __sk_common.skc_v6_rcv_saddr);
			BPF_CORE_READ_INTO(&init.raddr, sk,
					   __sk_common.skc_v6_daddr);
		}
		if (bpf_map_update_elem(&socks, &key, &init, BPF_NOEXIST) &&
		    bpf_map_lookup_elem(&socks, &key) == NULL) {
			count(AW_CTR_SOCK_MAP_FULL);
			return;
		}
		st = bpf_map_lookup_elem(&socks, &key);
		if (!st)
			return;
	}
	if (sent)
		__sync_fetch_and_add(&st->bytes_sent, ret);
	else
		__sync_fetch_and_add(&st->bytes_recv, ret);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_sock_send, struct sock *sk, int ret, int flags)
{
	sock_account(sk, ret, 1, flags);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_sock_recv, struct sock *sk, int ret, int flags)
{
	sock_account(sk, ret, 0, flags);
	return 0;
}

SEC("tracepoint/sock/sock_send_length")
int tp_sock_send(struct trace_event_raw_sock_msg_length *ctx)
{
	sock_account(ctx->sk, ctx->ret, 1, ctx->flags);
	return 0;
}

SEC("tracepoint/sock/sock_recv_length")
int tp_sock_recv(struct trace_event_raw_sock_msg_length *ctx)
{
	sock_account(ctx->sk, ctx->ret, 0, ctx->flags);
	return 0;
}

/* live: sk is still valid and is read for the endpoints; otherwise (at
 * process exit, sockets already released) the copy in st is used. */
static __always_inline void emit_sock_close(struct sock *sk,
					    struct aw_sock_stats *st, int fd,
					    __u32 syscall, __u64 ino, int live)
{
	struct aw_net_event *e = net_begin(AW_EV_NET_CLOSE, 0, fd, syscall);

	if (!e)
		return;
	if (e->hdr.pid != st->pid) {
		/* Not in the owner's context (softirq, or another process
		 * sharing the socket): name the owner, leave the rest out. */
		e->hdr.pid = st->pid;
		e->hdr.tid = st->pid;
		e->hdr.uid = 0;
		e->hdr.gid = 0;
		e->hdr.cgroup_id = 0;
		__builtin_memset(e->hdr.comm, 0, sizeof(e->hdr.comm));
		e->hdr.flags |= AW_HDR_NOT_OWNER;
	}
	e->bytes_sent = st->bytes_sent;
	e->bytes_recv = st->bytes_recv;
	e->sock_ino = ino;
	if (live) {
		read_sk_addrs(e, sk);
	} else {
		e->sock_type = st->sock_type;
		e->protocol = st->protocol;
		e->local.family = st->family;
		e->remote.family = st->family;
		e->local.port = st->lport;
		e->remote.port = st->rport;
		__builtin_memcpy(e->local.addr, st->laddr, 16);
		__builtin_memcpy(e->remote.addr, st->raddr, 16);
	}
	output(e, sizeof(*e), AW_CAT_NET);
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task;
	struct aw_sock_stats *st;
	struct socket *sock;
	struct file *f = NULL;
	struct sock *sk;
	__u64 key;
	int fd = (int)ctx->args[0];

	if (!(watch_flags(bpf_get_current_pid_tgid() >> 32) & AW_WATCH_ON))
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	sock = fd_socket(task, fd, &f);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	key = (__u64)sk;
	st = bpf_map_lookup_elem(&socks, &key);
	if (!st)
		return 0;
	emit_sock_close(sk, st, fd, AW_SC_CLOSE, BPF_CORE_READ(f, f_inode, i_ino),
			1);
	bpf_map_delete_elem(&socks, &key);
	return 0;
}

struct flush_ctx {
	__u32 tgid;
};

static long flush_one(struct bpf_map *map, __u64 *key,
		      struct aw_sock_stats *st, struct flush_ctx *c)
{
	if (st->pid != c->tgid)
		return 0;
	emit_sock_close((struct sock *)*key, st, -1, AW_SC_EXIT, 0, 0);
	bpf_map_delete_elem(map, key);
	return 0;
}

static __always_inline void flush_socks_of(__u32 tgid)
{
	struct flush_ctx c = { .tgid = tgid };

	bpf_for_each_map_elem(&socks, flush_one, &c, 0);
}

/* TCP sockets report their byte counts when this side closes: FIN_WAIT1
 * (we closed first), LAST_ACK (we closed after the peer) or CLOSE (reset,
 * abort, never established), whatever made it happen (close, shutdown,
 * process exit). May run in softirq context: the owner comes from the
 * counters, not from the current task. Bytes that still arrive after that
 * start a new count, reported at exit. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_tcp_close, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	__u64 key = (__u64)sk;
	struct aw_sock_stats *st;

	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK &&
	    newstate != TCP_CLOSE)
		return 0;
	st = bpf_map_lookup_elem(&socks, &key);
	if (!st)
		return 0;
	emit_sock_close((struct sock *)sk, st, -1, AW_SC_CLOSE, 0, 1);
	bpf_map_delete_elem(&socks, &key);
	return 0;
}

#endif /* __AGENTWATCH_SOCKBYTES_BPF_H__ */
