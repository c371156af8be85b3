/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Path text in records: the dentry walk of a (dentry, vfsmount) pair across
 * mount points to the namespace root (a bpf_loop callback), and NUL-terminated
 * user strings appended to a record's data[].
 */
#ifndef __AGENTWATCH_PATH_BPF_H__
#define __AGENTWATCH_PATH_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"

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
 * data[] at *off: names leaf first, each NUL-terminated, crossing mount
 * points up to the root of the mount namespace. Returns 1 when the root
 * was reached, 0 otherwise (truncated: too deep, out of space, or a dentry
 * outside any mount tree).
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

#endif /* __AGENTWATCH_PATH_BPF_H__ */
