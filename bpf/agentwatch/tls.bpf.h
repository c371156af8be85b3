/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS plaintext: the uprobe programs on SSL_read/SSL_write and their _ex
 * forms, and their capture through the payload path (capture_tls).
 */
#ifndef __AGENTWATCH_TLS_BPF_H__
#define __AGENTWATCH_TLS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/payload.bpf.h"

/*
 * Plaintext of TLS connections: uprobes on SSL_read/SSL_write (and _ex) in
 * libssl and in binaries that carry OpenSSL (node), attached by the daemon.
 * The entry probe keeps the buffer, the return probe captures what moved,
 * for watched processes only. A stream is the SSL object: ino holds its
 * address and fd a pseudo fd derived from it (negative, so it never names
 * a real descriptor). BPF_KPROBE/BPF_KRETPROBE read uprobe arguments the
 * same way (this libbpf has no BPF_UPROBE).
 */
struct tls_args {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr; /* _ex: where the byte count is written, else 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct tls_args);
} tls_pending SEC(".maps");

static __noinline int capture_tls(__u64 ssl, const void *buf, long ret,
				  __u32 dir, __u32 syscall)
{
	/* A stream per SSL object: a negative fd made from its address (no
	 * file fd names it), the object itself as the "inode". */
	int fd = -(__s32)((ssl >> 4) & 0x3fffffff) - 1;
	struct scratch_slot *sl;
	struct cap_loop l;
	struct cap_ctx *c;
	__u64 offset;

	if (ret <= 0 || !ssl)
		return 0;
	if (!stream_reserve(fd, dir, ssl, (__u64)ret, &offset))
		return 0;
	if (!payload_admit((__u64)ret < payload_max ? (__u64)ret : payload_max,
			   ret, fd, syscall))
		return 0;
	sl = get_slot();
	if (!sl)
		return 0;
	c = &sl->cap;
	__builtin_memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->dir = dir;
	c->syscall = syscall;
	c->file_type = AW_FT_TLS;
	c->ino = ssl;
	c->offset = offset;
	c->orig_len = ret;
	c->budget = (__u64)ret < payload_max ? (__u64)ret : payload_max;
	c->truncated = c->budget < (__u64)ret;
	c->buf = buf;
	c->buf_left = ret;
	l.sl = sl;
	bpf_loop(AW_PAYLOAD_MAX_STEPS, cap_step, &l, 0);
	put_scratch(&sl->rec);
	return 0;
}

static __always_inline int tls_enter(__u64 ssl, __u64 buf, __u64 len_ptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_args a = { .ssl = ssl, .buf = buf, .len_ptr = len_ptr };

	if (!(watch_flags(id >> 32) & AW_WATCH_ON))
		return 0;
	bpf_map_update_elem(&tls_pending, &id, &a, BPF_ANY);
	return 0;
}

static __always_inline int tls_exit(long ret, __u32 dir, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_args *p = bpf_map_lookup_elem(&tls_pending, &id);
	struct tls_args a;
	__u64 n = 0;

	if (!p)
		return 0;
	a = *p;
	bpf_map_delete_elem(&tls_pending, &id);
	if (a.len_ptr) {
		/* _ex: 1 on success, the count is in *len_ptr */
		if (ret != 1 ||
		    bpf_probe_read_user(&n, sizeof(n), (void *)a.len_ptr))
			return 0;
		ret = (long)n;
	}
	return capture_tls(a.ssl, (const void *)a.buf, ret, dir, syscall);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret)
{
	return tls_exit(ret, AW_DIR_IN, AW_SC_SSL_READ);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret)
{
	return tls_exit(ret, AW_DIR_OUT, AW_SC_SSL_WRITE);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num,
	       size_t *readbytes)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret)
{
	return tls_exit(ret, AW_DIR_IN, AW_SC_SSL_READ);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num,
	       size_t *written)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)written);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret)
{
	return tls_exit(ret, AW_DIR_OUT, AW_SC_SSL_WRITE);
}

#endif /* __AGENTWATCH_TLS_BPF_H__ */
