/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Settings the daemon writes before load (.rodata) and the maps that several
 * roles share or the daemon reads and writes (userspace/sensor/sensor.cc):
 * the "events" ring buffer, the watch state ("watched", "watch_exe",
 * "probes"), the fallback pairs' "pending" arguments, the socket byte
 * counters ("socks"), the payload budgets ("pay_buckets") and the per-CPU
 * "counters". The order of the definitions is the object's .rodata and
 * .maps layout. Maps private to one
 * role are in its header: "scratch" (core), "streams" (payload),
 * "tls_pending" (tls).
 */
#ifndef __AGENTWATCH_MAPS_BPF_H__
#define __AGENTWATCH_MAPS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"

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
/* Payload budget of each watched process: a token bucket refilled at
 * payload_rate bytes a second up to payload_burst (0 = no budget); each
 * user's watched processes in one cgroup together get AW_UID_FACTOR times
 * that. */
const volatile __u64 payload_rate = 4 << 20;
const volatile __u64 payload_burst = 16 << 20;
/* Record budget of each watched process: file, connection and DNS records
 * a second, in bursts up to record_burst (0 = no budget); a user's watched
 * processes in one cgroup together get AW_UID_FACTOR times that. */
const volatile __u64 record_rate = 20000;
const volatile __u64 record_burst = 40000;

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

/* The payload or record budget of one watched process or user
 * (payload_admit(), record_admit()). */
struct pay_bucket {
	__s64 tokens;
	__u64 last_ns;
	__u64 unseen;      /* bytes (records) left out since the last report */
	__u64 reported_ns; /* when the last AW_EVADE_BUDGET record went out */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* tgid or a group_key(), | a record bit */
	__type(value, struct pay_bucket);
} pay_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AW_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#endif /* __AGENTWATCH_MAPS_BPF_H__ */
