/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network records of watched processes: user sockaddrs and kernel socket
 * endpoints, the net record (net_begin; connect, accept, bind and listen
 * are filled in by the net dispatcher, close by sockbytes.bpf.h), and DNS:
 * a UDP datagram sent to dns_port (sendto, sendmsg, sendmmsg) is copied,
 * up to AW_DNS_MAX bytes.
 */
#ifndef __AGENTWATCH_NET_BPF_H__
#define __AGENTWATCH_NET_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/fd.bpf.h"

/* Copy a user sockaddr into an aw_sockaddr. */
static __always_inline void read_user_sockaddr(struct aw_sockaddr *out,
					       const void *uaddr, __u32 len)
{
	__u16 family = 0;

	out->family = 0;
	out->port = 0;
	out->unix_len = 0;
	if (!uaddr || len < 2)
		return;
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	out->family = family;
	if (family == AF_INET) {
		struct sockaddr_in sin = {};

		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		out->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(out->addr, &sin.sin_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};

		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		out->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(out->addr, &sin6.sin6_addr, 16);
	} else if (family == AF_UNIX) {
		__u32 n = len > 2 ? len - 2 : 0;

		if (n > AW_UNIX_PATH_MAX)
			n = AW_UNIX_PATH_MAX;
		if (bpf_probe_read_user(out->unix_path, AW_UNIX_PATH_MAX,
					(const char *)uaddr + 2))
			n = 0;
		out->unix_len = n;
	}
}

/* Local and peer addresses from the kernel socket. */
static __always_inline void read_sk_addrs(struct aw_net_event *e,
					  struct sock *sk)
{
	__u16 family;

	if (!sk)
		return;
	e->sock_type = BPF_CORE_READ(sk, sk_type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->local.family = family;
	e->remote.family = family;
	if (family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->local.addr, &l, 4);
		__builtin_memcpy(e->remote.addr, &r, 4);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->local.addr, sk,
				   __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->remote.addr, sk,
				   __sk_common.skc_v6_daddr);
	}
	if (family == AF_INET || family == AF_INET6) {
		e->local.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->remote.port =
			bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
}

static __always_inline void read_sock_addrs(struct aw_net_event *e,
					    struct socket *sock)
{
	read_sk_addrs(e, BPF_CORE_READ(sock, sk));
}

static __always_inline struct aw_net_event *net_begin(__u32 type, long ret,
						      int fd, __u32 syscall)
{
	struct aw_net_event *e = get_scratch();

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->hdr, type, sizeof(*e));
	e->hdr.flags |= AW_HDR_WATCHED;
	e->ret = ret;
	e->fd = fd;
	e->syscall = syscall;
	return e;
}

static __always_inline void net_fill_sock(struct aw_net_event *e, int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *f = NULL;
	struct socket *sock = fd_socket(task, fd, &f);

	if (!sock)
		return;
	e->sock_ino = BPF_CORE_READ(f, f_inode, i_ino);
	read_sock_addrs(e, sock);
}

static __always_inline void accept_exit(long ret, int lfd, __u32 syscall)
{
	struct aw_net_event *e;

	e = net_begin(AW_EV_NET_ACCEPT, ret, (int)ret, syscall);
	if (!e)
		return;
	if (ret >= 0)
		net_fill_sock(e, (int)ret);
	else
		net_fill_sock(e, lfd);
	e->backlog = lfd; /* listening fd, for pairing with listen */
	output(e, sizeof(*e), AW_CAT_NET);
}

/* DNS: a UDP datagram to dns_port. The destination comes from the call's
 * sockaddr, or from the connected socket's peer when there is none. */
static __always_inline void dns_check(int fd, const void *buf, __u64 len,
				      const void *uaddr, __u32 alen,
				      __u32 syscall)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct socket *sock = fd_socket(task, fd, NULL);
	struct aw_dns_event *e;
	struct sock *sk;
	__u32 n;

	if (!sock || BPF_CORE_READ(sock, type) != 2 /* SOCK_DGRAM */)
		return;
	e = get_scratch();
	if (!e)
		return;
	__builtin_memset(&e->remote, 0, sizeof(e->remote));
	if (uaddr) {
		read_user_sockaddr(&e->remote, uaddr, alen);
	} else {
		sk = BPF_CORE_READ(sock, sk);
		e->remote.family = BPF_CORE_READ(sk, __sk_common.skc_family);
		e->remote.port =
			bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (e->remote.family == AF_INET) {
			__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

			__builtin_memcpy(e->remote.addr, &r, 4);
		} else if (e->remote.family == AF_INET6) {
			BPF_CORE_READ_INTO(&e->remote.addr, sk,
					   __sk_common.skc_v6_daddr);
		}
	}
	if (e->remote.port != dns_port ||
	    (e->remote.family != AF_INET && e->remote.family != AF_INET6)) {
		put_scratch(e);
		return;
	}
	fill_hdr(&e->hdr, AW_EV_NET_DNS, 0);
	e->hdr.flags |= AW_HDR_WATCHED;
	e->fd = fd;
	e->syscall = syscall;
	e->orig_len = len;
	n = len > AW_DNS_MAX ? AW_DNS_MAX : len;
	if (bpf_probe_read_user(e->payload, n & (AW_DNS_MAX * 2 - 1), buf))
		n = 0;
	e->len = n;
	e->pad = 0;
	output(e, offsetof(struct aw_dns_event, payload) + n, AW_CAT_DNS);
}

static __always_inline void dns_msghdr(int fd, struct user_msghdr *umsg,
				       __u32 syscall)
{
	struct user_msghdr m = {};
	struct iovec iov = {};

	if (bpf_probe_read_user(&m, sizeof(m), umsg))
		return;
	if (!m.msg_iov || m.msg_iovlen < 1)
		return;
	if (bpf_probe_read_user(&iov, sizeof(iov), m.msg_iov))
		return;
	dns_check(fd, iov.iov_base, iov.iov_len, m.msg_name, m.msg_namelen,
		  syscall);
}

#endif /* __AGENTWATCH_NET_BPF_H__ */
