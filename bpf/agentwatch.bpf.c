// SPDX-License-Identifier: GPL-2.0
/*
 * agentwatch kernel sensors: process lifecycle for every process, file and
 * network activity for watched tgids only.
 *
 * Every hooked syscall starts with one lookup in the "watched" map; an
 * unwatched process pays nothing more. Syscall arguments are stashed at enter
 * in "pending" (keyed by pid_tgid) and the record is built at exit, when the
 * result (and for open the new fd's struct file) is known.
 *
 * Some capabilities exist in two variants (tp_btf preferred, classic
 * tracepoint as fallback); the daemon enables exactly one per capability
 * before load (see userspace/sensor/sensor.cc).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD -100
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFIFO 0010000
/* bpf_loop steps for one syscall's capture: every chunk of the largest cap
 * (256 KiB) plus one step per iovec. */
#define AW_PAYLOAD_MAX_STEPS (64 + 64)
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

/* Settings the daemon passes at load time. */
const volatile __u32 argv_max = 1024;
const volatile __u16 dns_port = 53;
const volatile __u32 payload_max = 16384; /* bytes captured per syscall */
/* Discovery (AW_WATCH_PROBE): stdio after exec, accepted TCP connections,
 * and how many bytes of each probed fd and direction are captured. */
const volatile __u8 discover_stdio = 1;
const volatile __u8 discover_http = 1;
const volatile __u32 probe_bytes = 16384;
/* Watched payload wakes the reader once per this many unread bytes. */
const volatile __u32 wakeup_bytes = 262144;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the daemon before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* AW_WATCH_* */
} watched SEC(".maps");

/* Executables watched from their very first instruction: exec of a path in
 * this map marks the new image's tgid in the kernel, before userspace hears
 * of it. The daemon fills it from watch rules that name an exact path. */
struct exe_key {
	char path[AW_EXE_KEY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct exe_key);
	__type(value, __u32);
} watch_exe SEC(".maps");

/* Fds of AW_WATCH_PROBE processes whose first bytes are captured. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct aw_probe_key);
	__type(value, struct aw_probe_budget);
} probes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exe_key);
} exe_key_scratch SEC(".maps");

struct pending_args {
	__u64 a[6];
	long nr; /* syscall number, checked at exit */
};

/* Fallback probes only. LRU: a thread killed inside a syscall never takes
 * its entry back. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct pending_args);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct aw_sock_stats);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AW_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

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

/* Emit a record built in scratch space and release the slot; size is masked
 * so the verifier sees it bounded by the scratch value. */
/*
 * Payload of watched processes is the bulk of the traffic and rides along
 * with the next wakeup (another record, the daemon's periodic poll, or
 * every wakeup_bytes of unread data) instead of waking the daemon for every
 * read and write:
 * a wakeup per chunk costs the traced process a context switch. Everything
 * else, and discovery payload (whose verdict is waited for), wakes it.
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

static __always_inline void emit_record(void *rec, __u32 size, __u32 cat)
{
	/* A power-of-two mask bounds size for the verifier, the comparison
	 * keeps it inside the scratch value. */
	size &= 32767;
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

struct walk_ctx {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u8 *data; /* the record's data[] in its scratch slot */
	__u32 off;  /* write position inside data[] */
	int done;
};

/* One step of the dentry walk (a bpf_loop callback, so the verifier checks
 * the body once instead of once per unrolled iteration). */
static long walk_step(__u32 i, struct walk_ctx *c)
{
	struct dentry *dentry = c->dentry;
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct mount *mnt = c->mnt;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	const unsigned char *name;
	long n;

	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != mnt_root)
			return 1; /* detached: not under a mount root */
		if (mnt == mnt_parent || !mnt_parent) {
			c->done = 1;
			return 1;
		}
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = mnt_parent;
		c->vfsmnt = (void *)mnt_parent +
			    bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (c->off >= AW_DATA_HALF - AW_NAME_MAX)
		return 1;
	name = BPF_CORE_READ(dentry, d_name.name);
	n = bpf_probe_read_kernel_str(c->data + (c->off & (AW_DATA_HALF - 1)),
				      AW_NAME_MAX, name);
	if (n <= 0)
		return 1;
	c->off += n;
	c->dentry = parent;
	return 0;
}

/*
 * Append the component list of (dentry, vfsmount) to a scratch record's
 * data[] at *off: names leaf first, each
 * NUL-terminated, crossing mount points up to the root of the mount
 * namespace. Returns 1 when the root was reached, 0 otherwise (truncated:
 * too deep, out of space, or a dentry outside any mount tree).
 */
static __always_inline int put_path(__u8 *data, __u32 *off,
				    struct dentry *dentry,
				    struct vfsmount *vfsmnt)
{
	struct walk_ctx c = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.data = data,
		.off = *off,
	};

	if (!dentry || !vfsmnt)
		return 0;
	c.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	bpf_loop(AW_PATH_DEPTH, walk_step, &c, 0);
	*off = c.off;
	return c.done;
}

/* Append a NUL-terminated user string (at most max bytes) at *off. */
static __always_inline __u32 put_user_str(__u8 *data, __u32 *off,
					  const void *src, __u32 max)
{
	__u32 o = *off;
	long n;

	if (!src || o >= AW_DATA_HALF)
		return 0;
	n = bpf_probe_read_user_str(&data[o & (AW_DATA_HALF - 1)],
				    max & (AW_DATA_HALF - 1), src);
	if (n <= 0)
		return 0;
	*off = o + n;
	return n;
}

static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline int is_ipc_fd(struct task_struct *task, int fd)
{
	struct file *f = fd_file(task, fd);
	umode_t mode;

	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
	return mode == S_IFIFO || mode == S_IFSOCK;
}

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

/* Component list of the directory a dfd-relative path starts from. */
static __always_inline int put_base_dir(__u8 *data, __u32 *off,
					struct task_struct *task, int dfd)
{
	if (dfd == AT_FDCWD) {
		struct path pwd = BPF_CORE_READ(task, fs, pwd);

		return put_path(data, off, pwd.dentry, pwd.mnt);
	}
	struct file *f = fd_file(task, dfd);

	if (!f)
		return 0;
	return put_path(data, off, BPF_CORE_READ(f, f_path.dentry),
			BPF_CORE_READ(f, f_path.mnt));
}

static __always_inline int is_relative(const char *upath)
{
	char c = 0;

	if (!upath)
		return 0;
	bpf_probe_read_user(&c, 1, upath);
	return c != '/';
}

/* ---------------------------------------------------------------- process */

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

/* ------------------------------------------------------------ syscall glue */

/*
 * Stash the first nargs syscall arguments. nargs must be a constant no larger
 * than the syscall's argument count: a per-syscall tracepoint's context is
 * only as large as its arguments, and a program that reads past it is refused
 * at attach (EACCES).
 */
static __always_inline int stash(struct trace_event_raw_sys_enter *ctx,
				 long nr, int nargs)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_args a = {};

	if (!(watch_flags(id >> 32) & (AW_WATCH_ON | AW_WATCH_PROBE)))
		return 0;
	a.nr = nr;
	/* One copy of the argument block; direct ctx loads at computed
	 * offsets are refused by the verifier. */
	bpf_probe_read_kernel(a.a, nargs * sizeof(a.a[0]), &ctx->args[0]);
	bpf_map_update_elem(&pending, &id, &a, BPF_ANY);
	return 0;
}

/* Take the stashed arguments of this thread's syscall; copies them out so
 * the map slot can be freed at once. */
static __always_inline int unstash(struct pending_args *out, long nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_args *a;

	if (!(watch_flags(id >> 32) & (AW_WATCH_ON | AW_WATCH_PROBE)))
		return 0;
	a = bpf_map_lookup_elem(&pending, &id);
	if (!a) {
		count(AW_CTR_PENDING_MISS);
		return 0;
	}
	__builtin_memcpy(out, a, sizeof(*out));
	bpf_map_delete_elem(&pending, &id);
	return out->nr == nr;
}

/* ------------------------------------------------------------------- file */

static __always_inline void emit_open(long ret, int dfd, const char *upath,
				      __u32 flags, __u32 mode, __u32 syscall)
{
	struct aw_file_event *e = get_scratch();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = 0, start;

	if (!e)
		return;
	fill_hdr(&e->hdr, AW_EV_FILE_OPEN, 0);
	e->hdr.flags |= AW_HDR_WATCHED;
	e->ret = ret;
	e->dfd = dfd;
	e->dfd2 = 0;
	e->flags = flags;
	e->mode = mode;
	e->syscall = syscall;
	e->sec_flags = 0;
	e->ino = 0;
	e->dev = 0;
	e->pad = 0;

	put_user_str(e->data, &off, upath, AW_FILENAME_MAX);
	e->sec_len[0] = off;

	start = off;
	if (is_relative(upath) && put_base_dir(e->data, &off, task, dfd))
		e->sec_flags |= AW_PATH_ROOT;
	e->sec_len[1] = off - start;

	start = off;
	if (ret >= 0) {
		struct file *f = fd_file(task, (int)ret);

		if (f) {
			if (put_path(e->data, &off,
				     BPF_CORE_READ(f, f_path.dentry),
				     BPF_CORE_READ(f, f_path.mnt)))
				e->sec_flags |= AW_PATH_ROOT2;
			e->ino = BPF_CORE_READ(f, f_inode, i_ino);
			e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		}
	}
	e->sec_len[2] = off - start;
	e->sec_len[3] = 0;
	output(e, offsetof(struct aw_file_event, data) + off, AW_CAT_FILE);
}

static __always_inline void emit_unlink(long ret, int dfd, const char *upath,
					__u32 flags, __u32 syscall)
{
	struct aw_file_event *e = get_scratch();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = 0, start;

	if (!e)
		return;
	fill_hdr(&e->hdr, AW_EV_FILE_UNLINK, 0);
	e->hdr.flags |= AW_HDR_WATCHED;
	e->ret = ret;
	e->dfd = dfd;
	e->dfd2 = 0;
	e->flags = flags;
	e->mode = 0;
	e->syscall = syscall;
	e->sec_flags = 0;
	e->ino = 0;
	e->dev = 0;
	e->pad = 0;
	put_user_str(e->data, &off, upath, AW_FILENAME_MAX);
	e->sec_len[0] = off;
	start = off;
	if (is_relative(upath) && put_base_dir(e->data, &off, task, dfd))
		e->sec_flags |= AW_PATH_ROOT;
	e->sec_len[1] = off - start;
	e->sec_len[2] = 0;
	e->sec_len[3] = 0;
	output(e, offsetof(struct aw_file_event, data) + off, AW_CAT_FILE);
}

static __always_inline void emit_rename(long ret, int olddfd,
					const char *oldp, int newdfd,
					const char *newp, __u32 flags,
					__u32 syscall)
{
	struct aw_file_event *e = get_scratch();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 off = 0, start;
	int old_rel, new_rel;

	if (!e)
		return;
	fill_hdr(&e->hdr, AW_EV_FILE_RENAME, 0);
	e->hdr.flags |= AW_HDR_WATCHED;
	e->ret = ret;
	e->dfd = olddfd;
	e->dfd2 = newdfd;
	e->flags = flags;
	e->mode = 0;
	e->syscall = syscall;
	e->sec_flags = 0;
	e->ino = 0;
	e->dev = 0;
	e->pad = 0;
	old_rel = is_relative(oldp);
	new_rel = is_relative(newp);

	put_user_str(e->data, &off, oldp, AW_FILENAME_MAX);
	e->sec_len[0] = off;
	start = off;
	if (old_rel && put_base_dir(e->data, &off, task, olddfd))
		e->sec_flags |= AW_PATH_ROOT;
	e->sec_len[1] = off - start;

	start = off;
	put_user_str(e->data, &off, newp, AW_FILENAME_MAX);
	e->sec_len[2] = off - start;
	start = off;
	if (new_rel) {
		if (old_rel && newdfd == olddfd)
			e->sec_flags |= AW_SAME_BASE;
		else if (put_base_dir(e->data, &off, task, newdfd))
			e->sec_flags |= AW_PATH_ROOT2;
	}
	e->sec_len[3] = off - start;
	output(e, offsetof(struct aw_file_event, data) + off, AW_CAT_FILE);
}

/* ---------------------------------------------------------------- network */

static __always_inline struct socket *fd_socket(struct task_struct *task,
						int fd, struct file **fp)
{
	struct file *f = fd_file(task, fd);
	umode_t mode;

	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	if (fp)
		*fp = f;
	return BPF_CORE_READ(f, private_data);
}

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

/* ------------------------------------------------------- syscall probes */

/*
 * Every file and network syscall is reported at its exit, from its six
 * arguments, by the two dispatchers below. Two ways to get the arguments:
 *
 *  - preferred (sx_*): an exit-only tracepoint reads them back from the
 *    task's saved user registers (bpf_task_pt_regs, Linux 5.15). A hooked
 *    syscall costs an unwatched process one program run and one lookup.
 *  - fallback (enter_* + exit_*): the enter tracepoint stashes them in the
 *    pending map, the exit tracepoint takes them back.
 */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG6(regs) BPF_CORE_READ(regs, r9)
#define NR_open 2
#define NR_creat 85
#define NR_openat 257
#define NR_openat2 437
#define NR_unlink 87
#define NR_unlinkat 263
#define NR_rename 82
#define NR_renameat 264
#define NR_renameat2 316
#define NR_connect 42
#define NR_accept 43
#define NR_accept4 288
#define NR_bind 49
#define NR_listen 50
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_sendmmsg 307
#define NR_read 0
#define NR_write 1
#define NR_readv 19
#define NR_writev 20
#define NR_recvfrom 45
#define NR_recvmsg 47
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_ARG6(regs) BPF_CORE_READ(regs, regs[5])
#define NR_open -2 /* not on arm64: distinct negative numbers */
#define NR_creat -3
#define NR_openat 56
#define NR_openat2 437
#define NR_unlink -4
#define NR_unlinkat 35
#define NR_rename -5
#define NR_renameat 38
#define NR_renameat2 276
#define NR_connect 203
#define NR_accept 202
#define NR_accept4 242
#define NR_bind 200
#define NR_listen 201
#define NR_sendto 206
#define NR_sendmsg 211
#define NR_sendmmsg 269
#define NR_read 63
#define NR_write 64
#define NR_readv 65
#define NR_writev 66
#define NR_recvfrom 207
#define NR_recvmsg 212
#else
#error "syscall numbers for this architecture are missing"
#endif


/* ---------------------------------------------------------------- payload */

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
	struct stream_key key = {};
	struct stream_state *st, init = {};
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

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.fd = fd;
	key.dir = how & 1;
	st = bpf_map_lookup_elem(&streams, &key);
	if (!st || st->ino != ino) {
		/* a new stream, or the fd now names another file */
		init.ino = ino;
		bpf_map_update_elem(&streams, &key, &init, BPF_ANY);
		st = bpf_map_lookup_elem(&streams, &key);
		if (!st)
			return 0;
	}
	/* Reserve the range, so concurrent threads get disjoint offsets. */
	offset = __sync_fetch_and_add(&st->offset, (__u64)ret);
	if (budget == 0)
		return 0; /* probe budget spent: offsets stay right for later */

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
	put_scratch(&sl->rec);
	return 0;
}

/* ------------------------------------------------------------------- TLS */

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
	struct stream_key key = {};
	struct stream_state *st, init = {};
	struct scratch_slot *sl;
	struct cap_loop l;
	struct cap_ctx *c;
	__u64 offset;

	if (ret <= 0 || !ssl)
		return 0;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.fd = -(__s32)((ssl >> 4) & 0x3fffffff) - 1;
	key.dir = dir;
	st = bpf_map_lookup_elem(&streams, &key);
	if (!st || st->ino != ssl) {
		init.ino = ssl;
		bpf_map_update_elem(&streams, &key, &init, BPF_ANY);
		st = bpf_map_lookup_elem(&streams, &key);
		if (!st)
			return 0;
	}
	offset = __sync_fetch_and_add(&st->offset, (__u64)ret);
	sl = get_slot();
	if (!sl)
		return 0;
	c = &sl->cap;
	__builtin_memset(c, 0, sizeof(*c));
	c->fd = key.fd;
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

#define ARG(n) (a[(n) - 1])

static __noinline int sys_exit_file(const __u64 *a, long nr, long ret,
				     __u32 wf)
{
	struct open_how how = {};

	if (!(wf & AW_WATCH_ON))
		return 0;

	switch (nr) {
	case NR_openat:
		emit_open(ret, (int)ARG(1), (const char *)ARG(2), (__u32)ARG(3),
			  (__u32)ARG(4), AW_SC_OPENAT);
		break;
	case NR_open:
		emit_open(ret, AT_FDCWD, (const char *)ARG(1), (__u32)ARG(2),
			  (__u32)ARG(3), AW_SC_OPEN);
		break;
	case NR_creat:
		emit_open(ret, AT_FDCWD, (const char *)ARG(1),
			  O_CREAT | O_WRONLY | O_TRUNC, (__u32)ARG(2),
			  AW_SC_CREAT);
		break;
	case NR_openat2:
		bpf_probe_read_user(&how, sizeof(how), (void *)ARG(3));
		emit_open(ret, (int)ARG(1), (const char *)ARG(2),
			  (__u32)how.flags, (__u32)how.mode, AW_SC_OPENAT2);
		break;
	case NR_unlink:
		emit_unlink(ret, AT_FDCWD, (const char *)ARG(1), 0,
			    AW_SC_UNLINK);
		break;
	case NR_unlinkat:
		emit_unlink(ret, (int)ARG(1), (const char *)ARG(2),
			    (__u32)ARG(3), AW_SC_UNLINKAT);
		break;
	case NR_rename:
		emit_rename(ret, AT_FDCWD, (const char *)ARG(1), AT_FDCWD,
			    (const char *)ARG(2), 0, AW_SC_RENAME);
		break;
	case NR_renameat:
		emit_rename(ret, (int)ARG(1), (const char *)ARG(2),
			    (int)ARG(3), (const char *)ARG(4), 0,
			    AW_SC_RENAMEAT);
		break;
	case NR_renameat2:
		emit_rename(ret, (int)ARG(1), (const char *)ARG(2),
			    (int)ARG(3), (const char *)ARG(4), (__u32)ARG(5),
			    AW_SC_RENAMEAT2);
		break;
	}
	return 0;
}

static __noinline int sys_exit_net(const __u64 *a, long nr, long ret,
				    __u32 wf)
{
	struct aw_net_event *e;
	int fd = (int)ARG(1);
	__u32 probe = 0;

	if (!(wf & AW_WATCH_ON)) {
		/* Not watched: discovery only. */
		if (nr == NR_accept || nr == NR_accept4)
			probe_accept(ret, wf);
		else if (!(wf & AW_WATCH_PROBE))
			return 0;
		else if (nr == NR_sendto)
			capture(fd, (void *)ARG(2), 0, ret,
				CAP_HOW(AW_SC_SENDTO, AW_DIR_OUT) | CAP_PROBE);
		else if (nr == NR_sendmsg)
			capture_msghdr(fd, (void *)ARG(2), ret, AW_DIR_OUT,
				       AW_SC_SENDMSG, CAP_PROBE);
		return 0;
	}

	switch (nr) {
	case NR_connect:
		e = net_begin(AW_EV_NET_CONNECT, ret, fd, AW_SC_CONNECT);
		if (!e)
			return 0;
		net_fill_sock(e, fd);
		read_user_sockaddr(&e->remote, (void *)ARG(2), (__u32)ARG(3));
		output(e, sizeof(*e), AW_CAT_NET);
		break;
	case NR_accept:
		accept_exit(ret, fd, AW_SC_ACCEPT);
		break;
	case NR_accept4:
		accept_exit(ret, fd, AW_SC_ACCEPT4);
		break;
	case NR_bind:
		e = net_begin(AW_EV_NET_BIND, ret, fd, AW_SC_BIND);
		if (!e)
			return 0;
		net_fill_sock(e, fd);
		read_user_sockaddr(&e->local, (void *)ARG(2), (__u32)ARG(3));
		__builtin_memset(&e->remote, 0, sizeof(e->remote));
		output(e, sizeof(*e), AW_CAT_NET);
		break;
	case NR_listen:
		e = net_begin(AW_EV_NET_LISTEN, ret, fd, AW_SC_LISTEN);
		if (!e)
			return 0;
		net_fill_sock(e, fd);
		e->backlog = (__u32)ARG(2);
		__builtin_memset(&e->remote, 0, sizeof(e->remote));
		output(e, sizeof(*e), AW_CAT_NET);
		break;
	case NR_sendto:
		if (ret > 0)
			dns_check(fd, (void *)ARG(2), ARG(3), (void *)ARG(5),
				  (__u32)ARG(6), AW_SC_SENDTO);
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_SENDTO, AW_DIR_OUT));
		break;
	case NR_sendmsg:
		if (ret > 0)
			dns_msghdr(fd, (void *)ARG(2), AW_SC_SENDMSG);
		capture_msghdr(fd, (void *)ARG(2), ret, AW_DIR_OUT,
			       AW_SC_SENDMSG, probe);
		break;
	case NR_sendmmsg:
		if (ret > 0)
			dns_msghdr(fd, &((struct mmsghdr *)ARG(2))[0].msg_hdr,
				   AW_SC_SENDMMSG);
		if (ret > 1)
			dns_msghdr(fd, &((struct mmsghdr *)ARG(2))[1].msg_hdr,
				   AW_SC_SENDMMSG);
		break;
	}
	return 0;
}


static __noinline int sys_exit_io(const __u64 *a, long nr, long ret,
				   __u32 wf)
{
	int fd = (int)ARG(1);
	/* Watched: every pipe and socket. On probation: the probed fds. */
	__u32 probe = (wf & AW_WATCH_ON) ? 0 : CAP_PROBE;

	if (!(wf & (AW_WATCH_ON | AW_WATCH_PROBE)))
		return 0;

	switch (nr) {
	case NR_read:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_READ, AW_DIR_IN) | probe);
		break;
	case NR_write:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_WRITE, AW_DIR_OUT) | probe);
		break;
	case NR_readv:
		if (ARG(3))
			capture(fd, (void *)ARG(2), (__u32)ARG(3), ret,
				CAP_HOW(AW_SC_READV, AW_DIR_IN) | probe);
		break;
	case NR_writev:
		if (ARG(3))
			capture(fd, (void *)ARG(2), (__u32)ARG(3), ret,
				CAP_HOW(AW_SC_WRITEV, AW_DIR_OUT) | probe);
		break;
	case NR_recvfrom:
		capture(fd, (void *)ARG(2), 0, ret,
			CAP_HOW(AW_SC_RECVFROM, AW_DIR_IN) | probe);
		break;
	case NR_recvmsg:
		capture_msghdr(fd, (void *)ARG(2), ret, AW_DIR_IN,
			       AW_SC_RECVMSG, probe);
		break;
	}
	return 0;
}

#define SX_PROG(name, family)                                                \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int sx_##name(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		__u32 wf = watch_flags(bpf_get_current_pid_tgid() >> 32);     \
		struct pt_regs *regs;                                         \
		__u64 a[6];                                                   \
									      \
		/* unwatched: only accept runs on (discovery) */              \
		if (!(wf & (AW_WATCH_ON | AW_WATCH_PROBE)) &&                 \
		    NR_##name != NR_accept && NR_##name != NR_accept4)        \
			return 0;                                             \
		regs = (struct pt_regs *)bpf_task_pt_regs(                    \
			bpf_get_current_task_btf());                          \
		a[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);                      \
		a[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);                      \
		a[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);                      \
		a[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);                      \
		a[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);                      \
		a[5] = SYSCALL_ARG6(regs);                                    \
		sys_exit_##family(a, NR_##name, ctx->ret, wf);                \
		return 0;                                                     \
	}

/* nargs: how many arguments the syscall has (its tracepoint's context is
 * only that large). */
#define FALLBACK_PAIR(name, family, nargs)                                   \
	SEC("tracepoint/syscalls/sys_enter_" #name)                           \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)               \
	{                                                                     \
		return stash(ctx, NR_##name, nargs);                          \
	}                                                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                 \
	{                                                                     \
		__u32 wf = watch_flags(bpf_get_current_pid_tgid() >> 32);     \
		struct pending_args a;                                        \
									      \
		if (unstash(&a, NR_##name))                                   \
			sys_exit_##family(a.a, NR_##name, ctx->ret, wf);      \
		else if (NR_##name == NR_accept || NR_##name == NR_accept4)   \
			probe_accept(ctx->ret, wf);                           \
		return 0;                                                     \
	}

#define SYSCALL_PROBES(name, family, nargs)                                  \
	SX_PROG(name, family)                                                 \
	FALLBACK_PAIR(name, family, nargs)

SYSCALL_PROBES(openat, file, 4)
SYSCALL_PROBES(open, file, 3)
SYSCALL_PROBES(creat, file, 2)
SYSCALL_PROBES(openat2, file, 4)
SYSCALL_PROBES(unlink, file, 1)
SYSCALL_PROBES(unlinkat, file, 3)
SYSCALL_PROBES(rename, file, 2)
SYSCALL_PROBES(renameat, file, 4)
SYSCALL_PROBES(renameat2, file, 5)
SYSCALL_PROBES(connect, net, 3)
SYSCALL_PROBES(accept, net, 3)
SYSCALL_PROBES(accept4, net, 4)
SYSCALL_PROBES(bind, net, 3)
SYSCALL_PROBES(listen, net, 2)
SYSCALL_PROBES(sendto, net, 6)
SYSCALL_PROBES(sendmsg, net, 3)
SYSCALL_PROBES(sendmmsg, net, 4)
SYSCALL_PROBES(read, io, 3)
SYSCALL_PROBES(write, io, 3)
SYSCALL_PROBES(readv, io, 3)
SYSCALL_PROBES(writev, io, 3)
SYSCALL_PROBES(recvfrom, io, 6)
SYSCALL_PROBES(recvmsg, io, 3)

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

_Static_assert(sizeof(union scratch_rec) <= 32767,
	       "output() masks record sizes with 32767");
