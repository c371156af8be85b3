/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Payload capture: the bytes a watched process (or the probed fds of one on
 * probation) moves on a pipe or socket, up to payload_max per syscall, in
 * AW_PAYLOAD_CHUNK records emitted by a bpf_loop over chunks and iovecs
 * whose state lives in the claimed scratch slot. Each chunk carries its
 * stream offset, reserved atomically per (tgid, fd, direction) in
 * "streams", so a cut capture is an explicit gap. A watched write longer
 * than payload_max from one buffer is captured as its head and its last
 * AW_TAIL_BYTES.
 */
#ifndef __AGENTWATCH_PAYLOAD_BPF_H__
#define __AGENTWATCH_PAYLOAD_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/fd.bpf.h"

/* bpf_loop steps for one syscall's capture: every chunk of the largest cap
 * (256 KiB) plus one step per iovec. */
#define AW_PAYLOAD_MAX_STEPS (64 + 64)

struct stream_key {
	__u32 tgid;
	__s32 fd;
	__u32 dir;
	__u32 pad;
};

struct stream_state {
	__u64 ino;
	__u64 offset;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct stream_key);
	__type(value, struct stream_state);
} streams SEC(".maps");

struct cap_loop {
	struct scratch_slot *sl;
};

/*
 * Reserves bytes in the stream (tgid, fd, dir) of the file with inode ino
 * (a new stream when the fd now names another file); the stream offset
 * where they start in *offset, so concurrent threads get disjoint ranges.
 * Returns 0 when the streams map had no room.
 */
static __always_inline int stream_reserve(int fd, __u32 dir, __u64 ino,
					  __u64 bytes, __u64 *offset)
{
	struct stream_key key = {};
	struct stream_state *st, init = {};

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.fd = fd;
	key.dir = dir;
	st = bpf_map_lookup_elem(&streams, &key);
	if (!st || st->ino != ino) {
		init.ino = ino;
		bpf_map_update_elem(&streams, &key, &init, BPF_ANY);
		st = bpf_map_lookup_elem(&streams, &key);
		if (!st)
			return 0;
	}
	*offset = __sync_fetch_and_add(&st->offset, bytes);
	return 1;
}

/* What one record costs the daemon besides its bytes (decoding, the
 * events it derives): a budget of 4 MiB/s is then at most about 4,000
 * records a second. */
#define AW_RECORD_COST 1024

/*
 * Takes a capture of bytes (plus a record's cost) of a syscall that moved
 * ret bytes on fd from the budget of the current process and of its user:
 * token buckets of payload_burst (the user's: AW_UID_FACTOR times that)
 * refilled at payload_rate bytes a second. A process that floods, or a
 * user whose processes do, spends its own budget: its captures are left
 * out (gaps in its streams, counted, reported) while other processes'
 * payload goes on. Threads of one process race on the buckets; that costs
 * precision only. Returns 0 when the capture is left out.
 */
static __always_inline int payload_admit(__u64 bytes, long ret, int fd,
					 __u32 syscall)
{
	__u64 now = bpf_ktime_get_ns();
	struct pay_bucket *b, *u;
	__s64 cost = bytes + AW_RECORD_COST;

	if (!payload_rate)
		return 1;
	b = bucket(bpf_get_current_pid_tgid() >> 32, payload_rate,
		   payload_burst, now);
	u = bucket(group_key(), payload_rate * AW_UID_FACTOR,
		   payload_burst * AW_UID_FACTOR, now);
	if (!b || !u)
		return 1;
	if (b->tokens < cost || u->tokens < cost) {
		count(AW_CTR_PAYLOAD_THROTTLED);
		/* an AW_EVADE_BUDGET record with the bytes left out */
		report_spent(b, now, ret, fd, syscall,
			     AW_EVADE_BUDGET | AW_EVADE_FD_STREAM);
		return 0;
	}
	__sync_fetch_and_add(&b->tokens, -cost);
	__sync_fetch_and_add(&u->tokens, -cost);
	return 1;
}

/* Emits one chunk, or moves to the next iovec (a bpf_loop callback). The
 * record is built in the capture's own slot and emitted from there. */
static long cap_step(__u32 i, struct cap_loop *l)
{
	struct scratch_slot *sl = l->sl;
	struct cap_ctx *c = &sl->cap;
	struct aw_payload_event *e = &sl->rec.payload;
	__u64 n, skip;

	if (c->budget == 0)
		return 1;
	if (c->buf_left == 0) {
		struct iovec v = {};

		if (!c->iov || c->iov_idx >= c->iov_cnt)
			return 1;
		if (bpf_probe_read_user(&v, sizeof(v), &c->iov[c->iov_idx]))
			return 1;
		c->iov_idx++;
		c->buf = v.iov_base;
		c->buf_left = v.iov_len;
		return 0;
	}
	if (c->skip) { /* to the tail of an iovec write: one step a buffer */
		n = c->buf_left < c->skip ? c->buf_left : c->skip;
		c->buf += n;
		c->buf_left -= n;
		c->skip -= n;
		return 0;
	}
	n = c->buf_left;
	if (n > c->budget)
		n = c->budget;
	if (n > AW_PAYLOAD_CHUNK)
		n = AW_PAYLOAD_CHUNK;
	fill_hdr(&e->hdr, AW_EV_PAYLOAD, 0);
	if (!c->probe)
		e->hdr.flags |= AW_HDR_WATCHED;
	e->fd = c->fd;
	e->syscall = c->syscall;
	e->ino = c->ino;
	e->offset = c->offset;
	e->orig_len = c->orig_len;
	e->chunk = c->chunk++;
	e->direction = c->dir;
	e->file_type = c->file_type;
	e->pad = 0;
	e->flags = c->probe ? AW_PAYLOAD_PROBE : 0;
	if (bpf_probe_read_user(e->data, n, c->buf)) { /* n <= CHUNK above */
		/* Unreadable: report it and skip the rest of this buffer, so
		 * the offsets of what follows stay right. */
		skip = c->buf_left < c->budget ? c->buf_left : c->budget;
		e->flags |= AW_PAYLOAD_FAULT;
		n = 0;
	} else {
		skip = n;
	}
	c->buf += skip;
	c->buf_left -= skip;
	c->budget -= skip;
	c->offset += skip;
	e->len = n;
	if (c->budget == 0 && c->truncated)
		e->flags |= AW_PAYLOAD_TRUNCATED;
	if (c->budget == 0 && c->tail == 1)
		e->flags |= AW_PAYLOAD_TAIL_FOLLOWS;
	if (c->tail == 2)
		e->flags |= AW_PAYLOAD_TAIL;
	emit_record(e, offsetof(struct aw_payload_event, data) + n,
		    AW_CAT_PAYLOAD);
	return 0;
}

/*
 * Captures the bytes a watched process moved on a pipe or socket: ret bytes
 * from the buffer ptr (nvec 0) or from the iovec array ptr[nvec]. Other files
 * are left alone. how = syscall << 1 | direction, | CAP_PROBE for a process
 * on probation (only its fds in the probes map, within their budget). BPF
 * calls take 5 args.
 */
#define CAP_HOW(syscall, dir) ((syscall) << 1 | (dir))
#define CAP_PROBE (1u << 16)

static __noinline int capture(int fd, const void *ptr, __u32 nvec, long ret,
			      __u32 how)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct scratch_slot *sl;
	struct cap_loop l;
	struct cap_ctx *c;
	struct file *f;
	umode_t mode;
	__u32 file_type;
	__u64 ino, offset, budget = ret;
	__s64 left;

	if (ret <= 0)
		return 0;
	if (how & CAP_PROBE) {
		struct aw_probe_key pk = { .tgid = bpf_get_current_pid_tgid() >> 32,
					.fd = fd };
		struct aw_probe_budget *pb = bpf_map_lookup_elem(&probes, &pk);

		if (!pb)
			return 0;
		/* what is left before this call takes its share */
		left = __sync_fetch_and_add(&pb->left[how & 1], -ret);
		budget = left > 0 ? (left < ret ? left : ret) : 0;
	}
	f = fd_file(task, fd);
	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
	if (mode == S_IFIFO)
		file_type = AW_FT_PIPE;
	else if (mode == S_IFSOCK)
		file_type = AW_FT_SOCKET;
	else
		return 0;
	ino = BPF_CORE_READ(f, f_inode, i_ino);
	if (!stream_reserve(fd, how & 1, ino, (__u64)ret, &offset))
		return 0;
	if (budget == 0)
		return 0; /* probe budget spent: offsets stay right for later */
	if (!(how & CAP_PROBE) &&
	    !payload_admit(budget < payload_max ? budget : payload_max, ret,
			   fd, (how & ~CAP_PROBE) >> 1))
		return 0; /* the process's payload budget is spent: a gap */

	sl = get_slot();
	if (!sl)
		return 0;
	c = &sl->cap;
	__builtin_memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->dir = how & 1;
	c->syscall = (how & ~CAP_PROBE) >> 1;
	c->probe = (how & CAP_PROBE) != 0;
	c->file_type = file_type;
	c->ino = ino;
	c->offset = offset;
	c->orig_len = ret;
	c->budget = budget < payload_max ? budget : payload_max;
	c->truncated = c->budget < (__u64)ret;
	/* A long write, watched: its head, then its end (from one buffer, or
	 * the last bytes of the iovecs: ids and ends of messages are there). */
	if (c->truncated && !c->probe && budget == (__u64)ret &&
	    payload_max >= 4 * AW_TAIL_BYTES) {
		c->budget -= AW_TAIL_BYTES;
		c->tail = 1;
	}
	if (nvec) {
		c->iov = ptr;
		c->iov_cnt = nvec;
	} else {
		c->buf = ptr;
		c->buf_left = ret;
	}
	l.sl = sl;
	/* chunks plus one step per iovec */
	bpf_loop(AW_PAYLOAD_MAX_STEPS, cap_step, &l, 0);
	if (c->tail == 1) {
		if (nvec) {
			/* From the first iovec again, past all but the tail
			 * (too many iovecs for the steps left: no tail, and
			 * the head decodes without it). */
			c->iov_idx = 0;
			c->buf_left = 0;
			c->skip = ret - AW_TAIL_BYTES;
		} else {
			c->buf = (const __u8 *)ptr + ret - AW_TAIL_BYTES;
			c->buf_left = AW_TAIL_BYTES;
		}
		c->budget = AW_TAIL_BYTES;
		c->offset = offset + ret - AW_TAIL_BYTES;
		c->truncated = 0;
		c->tail = 2;
		bpf_loop(AW_PAYLOAD_MAX_STEPS, cap_step, &l, 0);
	}
	put_scratch(&sl->rec);
	return 0;
}

/* Captures the iovecs of a user msghdr (sendmsg, recvmsg). */
static __always_inline int capture_msghdr(int fd, struct user_msghdr *umsg,
					  long ret, __u8 dir, __u32 syscall,
					  __u32 probe)
{
	struct user_msghdr m = {};

	if (bpf_probe_read_user(&m, sizeof(m), umsg))
		return 0;
	if (!m.msg_iovlen)
		return 0;
	return capture(fd, m.msg_iov, (__u32)m.msg_iovlen, ret,
		       CAP_HOW(syscall, dir) | probe);
}

#endif /* __AGENTWATCH_PAYLOAD_BPF_H__ */
