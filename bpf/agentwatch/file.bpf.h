/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File records of watched processes: open (openat, open, creat, openat2),
 * unlink (unlink, unlinkat) and rename (rename, renameat, renameat2), with
 * the user path, its base directory when relative, and for a successful
 * open the opened file's own path, inode and device.
 */
#ifndef __AGENTWATCH_FILE_BPF_H__
#define __AGENTWATCH_FILE_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/path.bpf.h"
#include "agentwatch/fd.bpf.h"

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

#endif /* __AGENTWATCH_FILE_BPF_H__ */
