/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one header shared by the BPF programs and the C++ daemon: every record
 * the kernel writes to the ring buffer, and the keys/values of every map the
 * daemon touches. Fixed-width types only; the layout is checked from C++
 * against the BTF of the compiled object (userspace/sensor/layout_test.cc).
 *
 * Variable-length records (exec, file) carry up to AW_SECTIONS byte sections
 * in data[]; sec_len[i] gives the length of section i and the sections follow
 * each other with no padding. The kernel emits only the used prefix of data[],
 * so a record's size is hdr.size, never sizeof(struct).
 *
 * A "component list" section is a resolved path written leaf first: each
 * dentry name NUL-terminated, e.g. "b.txt\0dir\0tmp\0" for /tmp/dir/b.txt.
 * Userspace reverses it. An empty component list with AW_PATH_ROOT set is "/".
 */
#ifndef AGENTWATCH_BPF_EVENTS_H_
#define AGENTWATCH_BPF_EVENTS_H_

#ifndef __bpf__
#include <linux/types.h> /* __u8 .. __u64, as the kernel headers define them */
#endif

#define AW_COMM_LEN 16
#define AW_SECTIONS 4
/* Capacity of data[] in var records. Each single write lands at an offset
 * masked to AW_DATA_HALF - 1 and is at most AW_DATA_HALF bytes long, which
 * keeps every write inside data[] in a way the verifier can prove. */
#define AW_DATA_MAX 16384
#define AW_DATA_HALF 8192
#define AW_NAME_MAX 256       /* one dentry name incl. NUL */
#define AW_PATH_DEPTH 48      /* components walked before giving up */
#define AW_ARGV_MAX 4096      /* hard ceiling for the argv_max setting */
#define AW_FILENAME_MAX 512   /* raw user path or exec filename */
#define AW_UNIX_PATH_MAX 108
#define AW_DNS_MAX 512        /* captured bytes of one DNS datagram */
#define AW_EXE_KEY_MAX 256    /* key of the watch_exe map: exec path */
#define AW_PAYLOAD_CHUNK 4096 /* data bytes in one payload record */

enum aw_event_type {
	AW_EV_EXEC = 1,
	AW_EV_FORK = 2,
	AW_EV_EXIT = 3,
	AW_EV_FILE_OPEN = 10,
	AW_EV_FILE_UNLINK = 11,
	AW_EV_FILE_RENAME = 12,
	AW_EV_NET_CONNECT = 20,
	AW_EV_NET_ACCEPT = 21,
	AW_EV_NET_BIND = 22,
	AW_EV_NET_LISTEN = 23,
	AW_EV_NET_CLOSE = 24, /* socket bytes sent/received, at close or exit */
	AW_EV_NET_DNS = 25,   /* UDP datagram to the DNS port */
	AW_EV_PAYLOAD = 30,   /* bytes read/written on a pipe or socket */
	/* A watched or probed process moved bytes (or set up a way to) that
	 * payload capture cannot see: splice/tee/sendfile/copy_file_range on
	 * a pipe or socket, io_uring, process_vm_readv/writev, fds received
	 * over SCM_RIGHTS. */
	AW_EV_EVADE = 31,
};

/* Categories for the per-CPU counters (emitted and ring buffer drops). */
enum aw_category {
	AW_CAT_PROC = 0,
	AW_CAT_FILE = 1,
	AW_CAT_NET = 2,
	AW_CAT_DNS = 3,
	AW_CAT_PAYLOAD = 4,
	AW_CAT_MAX = 5,
};

/* Index into the per-CPU "counters" array: AW_CTR_EMITTED + cat etc. */
enum aw_counter {
	AW_CTR_EMITTED = 0,             /* + category */
	AW_CTR_DROPPED = AW_CAT_MAX,    /* + category: ringbuf full */
	AW_CTR_PENDING_MISS = 2 * AW_CAT_MAX, /* exit without a matching enter */
	AW_CTR_SOCK_MAP_FULL,
	AW_CTR_SCRATCH_BUSY, /* every scratch slot of the CPU was in use */
	/* A watched process's payload budget (payload_rate, payload_burst)
	 * was spent: its capture of one syscall was left out (a stream gap). */
	AW_CTR_PAYLOAD_THROTTLED,
	/* The ring buffer was three quarters full: a payload chunk was left
	 * out to keep the rest for lifecycle and security records. */
	AW_CTR_PAYLOAD_SHED,
	/* A watched process's record budget (record_rate, record_burst) was
	 * spent: one of its file, connection or DNS records was left out. */
	AW_CTR_RECORDS_THROTTLED,
	AW_CTR_MAX,
};

/* Which syscall produced a file or network record. */
enum aw_syscall {
	AW_SC_OPEN = 1,
	AW_SC_OPENAT,
	AW_SC_OPENAT2,
	AW_SC_CREAT,
	AW_SC_UNLINK,
	AW_SC_UNLINKAT,
	AW_SC_RENAME,
	AW_SC_RENAMEAT,
	AW_SC_RENAMEAT2,
	AW_SC_CONNECT,
	AW_SC_ACCEPT,
	AW_SC_ACCEPT4,
	AW_SC_BIND,
	AW_SC_LISTEN,
	AW_SC_SENDTO,
	AW_SC_SENDMSG,
	AW_SC_SENDMMSG,
	AW_SC_CLOSE,
	AW_SC_EXIT, /* socket still open when its process exited */
	AW_SC_READ,
	AW_SC_WRITE,
	AW_SC_READV,
	AW_SC_WRITEV,
	AW_SC_RECVFROM,
	AW_SC_RECVMSG,
	AW_SC_SSL_READ,  /* TLS plaintext: SSL_read / SSL_read_ex (uprobes) */
	AW_SC_SSL_WRITE, /* SSL_write / SSL_write_ex */
	AW_SC_PREAD64,
	AW_SC_PWRITE64,
	AW_SC_PREADV,
	AW_SC_PWRITEV,
	AW_SC_PREADV2,
	AW_SC_PWRITEV2,
	AW_SC_RECVMMSG,
	AW_SC_VMSPLICE,
	AW_SC_SPLICE,
	AW_SC_TEE,
	AW_SC_SENDFILE,
	AW_SC_COPY_FILE_RANGE,
	AW_SC_IO_URING_SETUP,
	AW_SC_PROCESS_VM_READV,
	AW_SC_PROCESS_VM_WRITEV,
};

/* aw_evade_event.flags */
#define AW_EVADE_SCM_RIGHTS 0x1 /* recvmsg: fds came in a control message */
#define AW_EVADE_FD_STREAM 0x2  /* fd is a pipe or socket: its stream has a gap */
#define AW_EVADE_FD2_STREAM 0x4 /* the same for fd2 */
/* The process spent its payload budget: ret bytes on fd (and perhaps other
 * fds) went uncaptured since its last such record, at most one a second. */
#define AW_EVADE_BUDGET 0x8
/* The process spent its record budget: ret file, connection and DNS
 * records of it were left out since its last such record (one a second at
 * most). */
#define AW_EVADE_RECORDS 0x10

/* aw_payload_event.direction */
#define AW_DIR_IN 0  /* into the process (read, recv) */
#define AW_DIR_OUT 1 /* out of the process (write, send) */

/* aw_payload_event.flags */
#define AW_PAYLOAD_TRUNCATED 0x1 /* last chunk: capture stopped at the cap */
#define AW_PAYLOAD_FAULT 0x2     /* user memory unreadable: len is 0 */
#define AW_PAYLOAD_PROBE 0x4     /* captured for discovery (not watched) */
/* A write or read longer than payload_max: its head is captured, then its
 * last AW_TAIL_BYTES (where a long message ends, and SDKs put the id). The
 * head's last chunk says a tail follows; the tail's chunks say they are. */
#define AW_PAYLOAD_TAIL_FOLLOWS 0x8
#define AW_PAYLOAD_TAIL 0x10
#define AW_TAIL_BYTES 1024

/* aw_payload_event.file_type */
#define AW_FT_PIPE 1
#define AW_FT_SOCKET 2
#define AW_FT_TLS 3 /* plaintext of a TLS connection: ino is the SSL object */

/* watched map value bits */
#define AW_WATCH_ON 0x1      /* file/net/dns probes report this tgid */
#define AW_WATCH_INHERIT 0x2 /* children get the same flags at fork */
/* Discovery: the process is not watched, but the first bytes it moves on
 * the fds in the "probes" map (stdin/stdout after an exec with IPC stdio,
 * accepted TCP connections) are captured, so userspace can recognise MCP. */
#define AW_WATCH_PROBE 0x4
/* Userspace found no MCP here: no more probing until the next exec. */
#define AW_WATCH_NOT_MCP 0x8

/* Key and value of the "probes" map: bytes still to capture on a probed fd,
 * per direction (AW_DIR_IN, AW_DIR_OUT). */
struct aw_probe_key {
	__u32 tgid;
	__s32 fd;
};

struct aw_probe_budget {
	__s64 left[2];
};

/* aw_hdr.flags */
#define AW_HDR_WATCHED 0x1 /* the emitting tgid is in the watched map */
#define AW_HDR_PROBED 0x4 /* exec: stdio probed for MCP (AW_WATCH_PROBE) */
#define AW_HDR_NOT_OWNER 0x2 /* pid names the owner; uid/gid/comm/cgroup unset */

/* sec_flags bits: per section i, bit i set = section was truncated */
#define AW_PATH_ROOT 0x10     /* resolved path reached the mount root */
#define AW_PATH_ROOT2 0x20    /* same, for the second resolved section */
#define AW_SAME_BASE 0x40     /* rename: new path shares old's base dir */

/* aw_fork_event.flags */
#define AW_FORK_THREAD 0x1
#define AW_FORK_WATCHED 0x2 /* child inherited the watched flags */

struct aw_hdr {
	__u64 ts_ns; /* CLOCK_BOOTTIME nanoseconds */
	__u32 type;
	__u32 size; /* bytes of this record, header included */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	char comm[AW_COMM_LEN];
	__u32 flags;
	__u32 pad;
};

/* exec: sections 0 filename, 1 argv (NUL-separated, as in the process's
 * memory), 2 cwd component list. */
struct aw_exec_event {
	struct aw_hdr hdr;
	__u32 ppid;
	__u32 argv_truncated; /* argv was longer than argv_max */
	__u64 start_ns;       /* task start_boottime: (pid, start) names it */
	__u16 sec_len[AW_SECTIONS];
	__u32 sec_flags;
	__u32 pad;
	__u8 data[AW_DATA_MAX];
};

struct aw_fork_event {
	struct aw_hdr hdr; /* the parent */
	__u32 child_pid;   /* tgid of the child */
	__u32 child_tid;
	__u32 flags;
	__u32 pad;
	__u64 child_start_ns;
};

struct aw_exit_event {
	struct aw_hdr hdr;
	__u32 ppid;
	__s32 exit_code; /* exit status (code << 8 | signal) as wait() gives */
	__u64 start_ns;
};

/*
 * file records. Sections:
 *  OPEN:   0 raw user path, 1 base dir components (raw path relative),
 *          2 resolved path components of the returned fd (ret >= 0)
 *  UNLINK: 0 raw path, 1 base dir components
 *  RENAME: 0 old raw path, 1 old base components, 2 new raw path,
 *          3 new base components (absent with AW_SAME_BASE)
 */
struct aw_file_event {
	struct aw_hdr hdr;
	__s64 ret;
	__s32 dfd;
	__s32 dfd2;
	__u32 flags; /* open flags, unlinkat/renameat2 flags */
	__u32 mode;
	__u32 syscall;
	__u32 sec_flags;
	__u64 ino; /* opened file's inode, 0 if unknown */
	__u32 dev;
	__u16 sec_len[AW_SECTIONS];
	__u32 pad;
	__u8 data[AW_DATA_MAX];
};

struct aw_sockaddr {
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX or 0 */
	__u16 port;   /* host byte order */
	__u16 unix_len;
	__u16 pad;
	__u8 addr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 unix_path[AW_UNIX_PATH_MAX]; /* abstract names start with \0 */
	__u32 pad2;
};

struct aw_net_event {
	struct aw_hdr hdr;
	__s64 ret;
	__s32 fd;
	__u32 syscall;
	__u16 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... 0 if unknown */
	__u16 protocol;  /* IPPROTO_* */
	__u32 backlog;   /* listen */
	__u64 sock_ino;  /* socket inode: "socket:[ino]" in /proc/PID/fd */
	__u64 bytes_sent;
	__u64 bytes_recv;
	struct aw_sockaddr local;
	struct aw_sockaddr remote;
};

struct aw_dns_event {
	struct aw_hdr hdr;
	__s32 fd;
	__u32 syscall;
	__u16 len;      /* captured bytes in payload */
	__u16 pad;
	__u32 orig_len; /* datagram length as sent */
	struct aw_sockaddr remote;
	__u8 payload[AW_DNS_MAX];
};

/*
 * Bytes a watched process read or wrote on a pipe or socket, in chunks of at
 * most AW_PAYLOAD_CHUNK. A stream is (pid, fd, direction, ino); offset is the
 * stream position of data[0] and advances by the syscall's full length, so a
 * capture cut at the configured cap shows up as a gap in the stream.
 */
struct aw_payload_event {
	struct aw_hdr hdr;
	__s32 fd;
	__u32 syscall;
	__u64 ino;
	__u64 offset;
	__u64 orig_len; /* bytes the syscall moved */
	__u32 chunk;    /* index of this chunk within the syscall */
	__u16 len;      /* bytes in data */
	__u8 direction;
	__u8 flags;
	__u32 file_type;
	__u32 pad;
	__u8 data[AW_PAYLOAD_CHUNK];
};

/*
 * What payload capture could not see: syscall is the way (splice, tee,
 * sendfile, copy_file_range: ret bytes moved from fd to fd2 inside the
 * kernel; io_uring_setup: ret is the ring's fd; process_vm_readv/writev:
 * target_pid, ret bytes; recvmsg with AW_EVADE_SCM_RIGHTS: count fds
 * received on fd). A pipe or socket whose bytes went unseen gets a gap in
 * its stream (its offset moves on by ret).
 */
struct aw_evade_event {
	struct aw_hdr hdr;
	__s64 ret;
	__s32 fd;
	__s32 fd2;
	__u32 syscall;
	__u32 flags;
	__u32 target_pid;
	__u32 count;
};

/* Per-socket byte counters for watched processes, keyed by struct sock *.
 * The endpoints are copied when the first byte is counted, so a report made
 * after the socket is gone (at process exit) still names them. */
struct aw_sock_stats {
	__u64 bytes_sent;
	__u64 bytes_recv;
	__u32 pid;
	__u16 family;
	__u16 sock_type;
	__u16 protocol;
	__u16 lport;
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

#endif /* AGENTWATCH_BPF_EVENTS_H_ */
