/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File descriptors of the current task: the struct file behind an fd, whether
 * it is a pipe or socket, its struct socket, and the directory a
 * dfd-relative path starts from (cwd or the dirfd's file).
 */
#ifndef __AGENTWATCH_FD_BPF_H__
#define __AGENTWATCH_FD_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "agentwatch/core.bpf.h"
#include "agentwatch/path.bpf.h"

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

#endif /* __AGENTWATCH_FD_BPF_H__ */
