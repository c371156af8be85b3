/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every record needs: the per-CPU scratch slots records are built in
 * (claimed with a compare-and-swap, since faultable syscall tracepoints can
 * interleave on one CPU), the counters, the watched-map lookup, the record
 * header, and output to the ring buffer with its wakeup policy. Also the
 * uapi constants vmlinux.h does not carry.
 */
#ifndef __AGENTWATCH_CORE_BPF_H__
#define __AGENTWATCH_CORE_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"
#include "agentwatch/maps.bpf.h"

/* uapi constants vmlinux.h does not carry (they are macros). */
#define AT_FDCWD -100
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFIFO 0010000

/* Scratch space for records larger than the 512-byte stack. It names every
 * record type, which also puts each into the object's BTF (the layout test
 * reads them from there). */
union scratch_rec {
	struct aw_payload_event payload;
	struct aw_fork_event fork;
	struct aw_exit_event exit;
	struct aw_exec_event exec;
	struct aw_file_event file;
	struct aw_net_event net;
	struct aw_dns_event dns;
};

/*
 * Syscall tracepoints are faultable on recent kernels: their programs run
 * with migration but not preemption disabled, so two programs can interleave
 * on one CPU. Each record is built in a slot claimed with an atomic
 * compare-and-swap and released after output.
 */
#define AW_SCRATCH_SLOTS 4

/* State of one payload capture. It lives in the claimed scratch slot, not on
 * the stack: the verifier then sees its fields as unknown scalars in the
 * bpf_loop callback and proves the loop body once, instead of following
 * every value the fields could take. */
struct cap_ctx {
	const struct iovec *iov; /* user iovec array, or NULL */
	const __u8 *buf;         /* current user buffer */
	__u64 buf_left;          /* bytes left in it */
	__u32 iov_idx;
	__u32 iov_cnt;
	__u64 budget;            /* bytes still to capture */
	__u64 skip;              /* bytes to pass over first (an iovec tail) */
	__u64 offset;            /* stream offset of the next byte */
	__u64 orig_len;
	__u64 ino;
	__u32 chunk;
	__u32 syscall;
	__u32 file_type;
	__s32 fd;
	__u8 dir;
	__u8 truncated;
	__u8 probe;
	__u8 tail;         /* a tail follows this head (0, 1), or this is it (2) */
};

struct scratch_slot {
	__u64 busy; /* 64-bit: the BPF ISA's atomics before v3 */
	struct cap_ctx cap;
	union scratch_rec rec;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AW_SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct scratch_slot);
} scratch SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u32 watch_flags(__u32 tgid)
{
	__u32 *f = bpf_map_lookup_elem(&watched, &tgid);

	return f ? *f : 0;
}

static __always_inline struct scratch_slot *get_slot(void)
{
	for (__u32 i = 0; i < AW_SCRATCH_SLOTS; i++) {
		__u32 k = i;
		struct scratch_slot *sl = bpf_map_lookup_elem(&scratch, &k);

		if (!sl)
			return NULL;
		if (__sync_val_compare_and_swap(&sl->busy, 0, 1) == 0)
			return sl;
	}
	count(AW_CTR_SCRATCH_BUSY);
	return NULL;
}

static __always_inline void *get_scratch(void)
{
	struct scratch_slot *sl = get_slot();

	return sl ? &sl->rec : NULL;
}

static __always_inline void put_scratch(void *rec)
{
	struct scratch_slot *sl =
		(void *)rec - offsetof(struct scratch_slot, rec);

	__sync_lock_test_and_set(&sl->busy, 0);
}

static __always_inline void fill_hdr(struct aw_hdr *h, __u32 type, __u32 size)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->ts_ns = bpf_ktime_get_boot_ns();
	h->type = type;
	h->size = size;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	h->flags = 0;
	h->pad = 0;
}

/*
 * Payload of watched processes is the bulk of the traffic and rides along
 * with the next wakeup (another record, the daemon's periodic poll, or
 * every wakeup_bytes of unread data) instead of waking the daemon for every
 * read and write: a wakeup per chunk costs the traced process a context
 * switch. Everything else, and discovery payload (whose verdict is waited
 * for), wakes it.
 */
static __always_inline __u64 wakeup_flags(void *rec, __u32 cat, __u32 size)
{
	__u64 avail, mark;

	if (cat != AW_CAT_PAYLOAD ||
	    !(((struct aw_hdr *)rec)->flags & AW_HDR_WATCHED))
		return 0;
	/* Wake once each time this record takes the unread data past a
	 * multiple of wakeup_bytes, not for every record above it (a wakeup
	 * per record is what is avoided); batches stay small enough to be
	 * read while still in cache. */
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	mark = wakeup_bytes;
	if (mark && avail / mark != (avail + size) / mark)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Watched payload may fill three quarters of the ring buffer; the last
 * quarter is kept for everything else (exec, exit, fork, files,
 * connections, DNS, evasions), so a flood of payload cannot crowd out the
 * records alerts are made of. A payload chunk left out is a gap in its
 * stream's offsets.
 */
static __always_inline int payload_room(__u32 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 ring = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	if (avail + size > ring - ring / 4) {
		count(AW_CTR_PAYLOAD_SHED);
		return 0;
	}
	return 1;
}

/* The bucket of a user's watched processes in one cgroup (a pod, a
 * service, a login session) together: a flooder that forks (each child a
 * process of its own, in its cgroup) is held by it, and one pod's flood
 * does not spend another's when both run as one uid (root, in most pods);
 * AW_UID_FACTOR times the process budget. Keys: a process's payload
 * budget is its tgid, its record budget tgid | AW_REC_BUCKET; a group's a
 * 62-bit hash of cgroup and uid with AW_GROUP_BUCKET set, and for records
 * AW_GROUP_REC_BUCKET too: the four kinds never meet. */
#define AW_GROUP_BUCKET (1ULL << 63)
#define AW_GROUP_REC_BUCKET (1ULL << 62)
#define AW_REC_BUCKET (1ULL << 32)
#define AW_UID_FACTOR 4

static __always_inline __u64 group_key(void)
{
	return ((bpf_get_current_cgroup_id() * 0x9E3779B97F4A7C15ULL ^
		 (__u32)bpf_get_current_uid_gid()) &
		(AW_GROUP_REC_BUCKET - 1)) |
	       AW_GROUP_BUCKET;
}

/* The bucket under key, refilled for the time since its last refill (at
 * most once a millisecond, so calls close together do not round the
 * refill down to nothing); NULL when the map has no room. */
static __always_inline struct pay_bucket *bucket(__u64 key, __u64 rate,
						 __u64 burst, __u64 now)
{
	struct pay_bucket *b, init = {};
	__u64 last, dt;

	b = bpf_map_lookup_elem(&pay_buckets, &key);
	if (!b) {
		init.tokens = burst;
		init.last_ns = now;
		bpf_map_update_elem(&pay_buckets, &key, &init, BPF_NOEXIST);
		return bpf_map_lookup_elem(&pay_buckets, &key);
	}
	last = b->last_ns;
	if (now > last + 1000000 &&
	    __sync_val_compare_and_swap(&b->last_ns, last, now) == last) {
		dt = now - last;
		if (dt > 4000000000ULL) /* 4 s: the product stays in 64 bits */
			dt = 4000000000ULL;
		__sync_fetch_and_add(&b->tokens, (__s64)(rate * dt / 1000000000ULL));
		if (b->tokens > (__s64)burst)
			b->tokens = burst;
	}
	return b;
}

/*
 * A process past a budget is told about, at most once a second: an evasion
 * record (flags: which budget) with what was left out since the last one,
 * n more now (a server may flood to hide what it does in the gaps). It is
 * written to the ring directly: emit_record() is where records are
 * budgeted.
 */
static __always_inline void report_spent(struct pay_bucket *b, __u64 now,
					 __u64 n, int fd, __u32 syscall,
					 __u32 flags)
{
	struct aw_evade_event e = {};
	__u64 unseen = __sync_fetch_and_add(&b->unseen, n) + n;
	__u64 last = b->reported_ns;

	if (now < last + 1000000000ULL ||
	    __sync_val_compare_and_swap(&b->reported_ns, last, now) != last)
		return;
	__sync_fetch_and_add(&b->unseen, -unseen);
	fill_hdr(&e.hdr, AW_EV_EVADE, sizeof(e));
	e.hdr.flags |= AW_HDR_WATCHED;
	e.ret = unseen;
	e.fd = fd;
	e.fd2 = -1;
	e.syscall = syscall;
	e.flags = flags;
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		count(AW_CTR_DROPPED + AW_CAT_PROC);
	else
		count(AW_CTR_EMITTED + AW_CAT_PROC);
}

/*
 * Takes one file, connection or DNS record of the current process from its
 * record budget and its group's: a watched process that floods such records
 * loses its own (counted, reported) instead of filling the ring's last
 * quarter, where everyone's exec and exit records go. Process records
 * (exec, fork, exit, evasions) are never budgeted, nor records made
 * outside their process's context (not_owner: the current task is not the
 * one to charge). Returns 0 when the record is left out.
 */
static __noinline int record_admit(__u32 cat, __u32 not_owner)
{
	__u64 now = bpf_ktime_get_ns();
	struct pay_bucket *b, *u;

	if (!record_rate || cat == AW_CAT_PROC || cat == AW_CAT_PAYLOAD ||
	    not_owner)
		return 1;
	b = bucket(AW_REC_BUCKET | (bpf_get_current_pid_tgid() >> 32),
		   record_rate, record_burst, now);
	u = bucket(AW_GROUP_REC_BUCKET | group_key(), record_rate * AW_UID_FACTOR,
		   record_burst * AW_UID_FACTOR, now);
	if (!b || !u)
		return 1;
	if (b->tokens < 1 || u->tokens < 1) {
		count(AW_CTR_RECORDS_THROTTLED);
		report_spent(b, now, 1, -1, 0, AW_EVADE_RECORDS);
		return 0;
	}
	__sync_fetch_and_add(&b->tokens, -1);
	__sync_fetch_and_add(&u->tokens, -1);
	return 1;
}

/* Emit a record built in scratch space (output() also releases the slot);
 * size is masked so the verifier sees it bounded by the scratch value. */
static __always_inline void emit_record(void *rec, __u32 size, __u32 cat)
{
	/* A power-of-two mask bounds size for the verifier, the comparison
	 * keeps it inside the scratch value. */
	size &= 32767;
	/* Discovery's payload is bounded already (probe_bytes per fd) and
	 * what a server is judged by: never shed. */
	if (cat == AW_CAT_PAYLOAD &&
	    !(((struct aw_payload_event *)rec)->flags & AW_PAYLOAD_PROBE) &&
	    !payload_room(size))
		return;
	if (!record_admit(cat, ((struct aw_hdr *)rec)->flags & AW_HDR_NOT_OWNER))
		return;
	if (size <= sizeof(union scratch_rec)) {
		((struct aw_hdr *)rec)->size = size;
		if (bpf_ringbuf_output(&events, rec, size,
				       wakeup_flags(rec, cat, size)))
			count(AW_CTR_DROPPED + cat);
		else
			count(AW_CTR_EMITTED + cat);
	}
}

static __always_inline void output(void *rec, __u32 size, __u32 cat)
{
	emit_record(rec, size, cat);
	put_scratch(rec);
}

_Static_assert(sizeof(union scratch_rec) <= 32767,
	       "emit_record() masks record sizes with 32767");

#endif /* __AGENTWATCH_CORE_BPF_H__ */
