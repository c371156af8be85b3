// SPDX-License-Identifier: GPL-2.0
/*
 * agentwatch kernel sensors: process lifecycle for every process; file,
 * network, DNS, payload and socket byte records for watched processes only.
 * One object, its code split by role into agentwatch/<role>.bpf.h (included
 * below in dependency order; bpf/README.md maps each capability to its
 * programs, hooks and header).
 *
 * Filtering is in the kernel. Each hook starts with a lookup of the tgid in
 * the "watched" map (AW_WATCH_* flags: set by the daemon, at exec of a path
 * in "watch_exe", or inherited at fork); an unwatched process pays that one
 * lookup and nothing more, except at exec and accept (discovery).
 *
 * Syscalls are reported at exit, from their result and arguments. The
 * preferred hooks are per-syscall sys_exit_* tracepoints (sx_*) that read the
 * arguments back from the task's saved user registers (bpf_task_pt_regs,
 * Linux 5.15): no enter hook, no pending-arguments map. Enter/exit pairs
 * (enter_* stashes the arguments in "pending", exit_* takes them back) are
 * kept as the fallback for older kernels and `hooks: fallback`.
 *
 * Process lifecycle and socket byte counts have a tp_btf program (preferred)
 * and a classic tracepoint one (fallback). Every variant is in the object;
 * the daemon enables exactly one per hook with bpf_program__set_autoload
 * before load, and loads the all-fallback plan if the preferred one is
 * refused (userspace/sensor/sensor.cc).
 *
 * Discovery is a probation decided in userspace: an unwatched process whose
 * stdin and stdout are pipes or sockets at exec, or that accepts a TCP
 * connection, gets AW_WATCH_PROBE and its fds a byte budget in "probes"; the
 * first probe_bytes per fd and direction are captured (flagged), and the
 * daemon then watches the process or marks it AW_WATCH_NOT_MCP.
 *
 * Payload capture: every syscall that moves bytes through a user buffer on a
 * pipe or socket (read/write and their p, v, pv and pv2 forms, the recv and
 * send families with the mmsg vectors, vmsplice), and SSL_read/SSL_write
 * plaintext (uprobes), up to payload_max bytes per call in AW_PAYLOAD_CHUNK
 * records, each carrying its stream offset so that a cut capture is an
 * explicit gap. What cannot be captured (splice, tee, sendfile,
 * copy_file_range, io_uring, process_vm_readv/writev, fds received over
 * SCM_RIGHTS) is an AW_EV_EVADE record, and a gap in the stream it cut.
 *
 * Records are built in per-CPU scratch slots and written to the "events"
 * ring buffer; what cannot be written is counted per category in "counters".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#include "agentwatch/maps.bpf.h"
#include "agentwatch/core.bpf.h"
#include "agentwatch/path.bpf.h"
#include "agentwatch/fd.bpf.h"
#include "agentwatch/discovery.bpf.h"
#include "agentwatch/process.bpf.h"
#include "agentwatch/syscalls.bpf.h"
#include "agentwatch/file.bpf.h"
#include "agentwatch/net.bpf.h"
#include "agentwatch/payload.bpf.h"
#include "agentwatch/evade.bpf.h"
#include "agentwatch/tls.bpf.h"
#include "agentwatch/dispatch.bpf.h"
#include "agentwatch/sockbytes.bpf.h"
