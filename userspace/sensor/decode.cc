#include "sensor/decode.h"

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/text.h"
#include "events.h"
#include "net/dns.h"
#include "net/sockaddr.h"

namespace agentwatch {
namespace {

const char* SyscallName(uint32_t sc) {
  switch (sc) {
    case AW_SC_OPEN: return "open";
    case AW_SC_OPENAT: return "openat";
    case AW_SC_OPENAT2: return "openat2";
    case AW_SC_CREAT: return "creat";
    case AW_SC_UNLINK: return "unlink";
    case AW_SC_UNLINKAT: return "unlinkat";
    case AW_SC_RENAME: return "rename";
    case AW_SC_RENAMEAT: return "renameat";
    case AW_SC_RENAMEAT2: return "renameat2";
    case AW_SC_CONNECT: return "connect";
    case AW_SC_ACCEPT: return "accept";
    case AW_SC_ACCEPT4: return "accept4";
    case AW_SC_BIND: return "bind";
    case AW_SC_LISTEN: return "listen";
    case AW_SC_SENDTO: return "sendto";
    case AW_SC_SENDMSG: return "sendmsg";
    case AW_SC_SENDMMSG: return "sendmmsg";
    case AW_SC_CLOSE: return "close";
    case AW_SC_EXIT: return "exit";
    case AW_SC_READ: return "read";
    case AW_SC_WRITE: return "write";
    case AW_SC_READV: return "readv";
    case AW_SC_WRITEV: return "writev";
    case AW_SC_RECVFROM: return "recvfrom";
    case AW_SC_RECVMSG: return "recvmsg";
    case AW_SC_PREAD64: return "pread64";
    case AW_SC_PWRITE64: return "pwrite64";
    case AW_SC_PREADV: return "preadv";
    case AW_SC_PWRITEV: return "pwritev";
    case AW_SC_PREADV2: return "preadv2";
    case AW_SC_PWRITEV2: return "pwritev2";
    case AW_SC_RECVMMSG: return "recvmmsg";
    case AW_SC_VMSPLICE: return "vmsplice";
    case AW_SC_SPLICE: return "splice";
    case AW_SC_TEE: return "tee";
    case AW_SC_SENDFILE: return "sendfile";
    case AW_SC_COPY_FILE_RANGE: return "copy_file_range";
    case AW_SC_IO_URING_SETUP: return "io_uring";
    case AW_SC_PROCESS_VM_READV: return "process_vm_readv";
    case AW_SC_PROCESS_VM_WRITEV: return "process_vm_writev";
    default: return "unknown";
  }
}

// Copies a record into a zeroed struct: the kernel emits only the used
// prefix of variable records.
template <typename T>
bool Load(std::span<const uint8_t> rec, size_t min_size, T* out,
          std::string* error) {
  if (rec.size() < min_size) {
    *error = fmt::format("record of {} bytes, need at least {}", rec.size(),
                         min_size);
    return false;
  }
  std::memset(out, 0, sizeof(T));
  std::memcpy(out, rec.data(), std::min(rec.size(), sizeof(T)));
  return true;
}

// Splits data into the sections the header announces.
bool Sections(const uint8_t* data, size_t avail, const uint16_t* lens,
              std::string_view* out, std::string* error) {
  size_t off = 0;
  for (int i = 0; i < AW_SECTIONS; ++i) {
    if (lens[i] > avail - off) {
      *error = fmt::format("section {} of {} bytes overruns the record", i,
                           lens[i]);
      return false;
    }
    out[i] = std::string_view(reinterpret_cast<const char*>(data) + off,
                              lens[i]);
    off += lens[i];
  }
  return true;
}

// A NUL-terminated string section without its terminator.
std::string_view CStr(std::string_view s) {
  size_t n = s.find('\0');
  return n == std::string_view::npos ? s : s.substr(0, n);
}

void FillProcess(const aw_hdr& h, v1::Event* ev) {
  v1::Process* p = ev->mutable_process();
  p->set_pid(h.pid);
  p->set_tid(h.tid);
  p->set_uid(h.uid);
  p->set_gid(h.gid);
  p->set_comm(Printable(std::string_view(h.comm, strnlen(h.comm, AW_COMM_LEN))));
  p->set_cgroup_id(h.cgroup_id);
  p->set_watched((h.flags & AW_HDR_WATCHED) != 0);
}

void FillAddr(const aw_sockaddr& a, v1::SockAddr* out) {
  out->set_family(FamilyName(a.family));
  if (a.family == 1 /* AF_UNIX */) {
    out->set_address(UnixPathText(a.unix_path, a.unix_len));
  } else {
    out->set_address(IpText(a.family, a.addr));
    out->set_port(a.port);
  }
}

void SetResult(int64_t ret, v1::FileInfo* f) {
  f->set_result(ret);
  if (ret < 0) f->set_error(ErrnoName(static_cast<int>(-ret)));
}

// The path a file record names: the kernel-resolved one when present,
// otherwise base dir + the raw path, otherwise the raw path.
void ResolvePath(std::string_view raw, std::string_view base, bool base_root,
                 std::string* path, bool* truncated) {
  std::string_view r = CStr(raw);
  if (!r.empty() && r[0] == '/') {
    *path = NormalizePath(r);
    return;
  }
  if (!base.empty() || base_root) {
    *path = JoinPath(ComponentsToPath(base), r);
    if (!base_root) *truncated = true;
    return;
  }
  *path = std::string(r);
  *truncated = true;
}

}  // namespace

std::string ComponentsToPath(std::string_view comps) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < comps.size()) {
    size_t j = comps.find('\0', i);
    if (j == std::string_view::npos) j = comps.size();
    if (j > i) parts.push_back(comps.substr(i, j - i));
    i = j + 1;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out += '/';
    out += *it;
  }
  return out.empty() ? "/" : out;
}

void DecodeDnsPayload(std::span<const uint8_t> payload, uint32_t orig_len,
                      v1::DnsInfo* out) {
  out->set_length(orig_len);
  DnsQuery q = ParseDnsQuery(payload);
  out->set_id(q.id);
  for (const auto& question : q.questions) {
    out->add_names(question.name);
    out->add_qtypes(DnsTypeName(question.qtype));
  }
  if (q.state != DnsParseState::kOk) {
    // A capture cut at AW_DNS_MAX is not the sender's fault.
    bool cut = q.state == DnsParseState::kTruncated && orig_len > payload.size();
    out->set_malformed(!cut);
    out->set_error(q.error);
  }
}

namespace {

DecodeStatus DecodeExec(const aw_hdr& h, std::span<const uint8_t> rec, v1::Event* ev,
                        std::string* error) {
  aw_exec_event e;
  if (!Load(rec, offsetof(aw_exec_event, data), &e, error))
    return DecodeStatus::kInvalid;
  std::string_view s[AW_SECTIONS];
  if (!Sections(e.data, rec.size() - offsetof(aw_exec_event, data),
                e.sec_len, s, error))
    return DecodeStatus::kInvalid;
  ev->set_type(v1::EVENT_TYPE_EXEC);
  ev->mutable_process()->set_ppid(e.ppid);
  ev->mutable_process()->set_start_time_ns(e.start_ns);
  v1::ExecInfo* x = ev->mutable_exec();
  x->set_filename(Printable(CStr(s[0])));
  ev->mutable_process()->set_exe(x->filename());
  for (auto& a : SplitNul(s[1])) x->add_argv(a);
  x->set_argv_truncated(e.argv_truncated != 0);
  x->set_watched_from_exec((h.flags & AW_HDR_WATCHED) != 0);
  x->set_stdio_probed((h.flags & AW_HDR_PROBED) != 0);
  if (!s[2].empty() || (e.sec_flags & AW_PATH_ROOT)) {
    x->set_cwd(ComponentsToPath(s[2]));
  }
  return DecodeStatus::kOk;
}

DecodeStatus DecodeFork(std::span<const uint8_t> rec, v1::Event* ev,
                        std::string* error) {
  aw_fork_event e;
  if (!Load(rec, sizeof(e), &e, error)) return DecodeStatus::kInvalid;
  ev->set_type(v1::EVENT_TYPE_FORK);
  v1::ForkInfo* f = ev->mutable_fork();
  f->set_child_pid(e.child_pid);
  f->set_child_tid(e.child_tid);
  f->set_thread((e.flags & AW_FORK_THREAD) != 0);
  f->set_child_watched((e.flags & AW_FORK_WATCHED) != 0);
  f->set_child_start_time_ns(e.child_start_ns);
  return DecodeStatus::kOk;
}

DecodeStatus DecodeExit(const aw_hdr& h, std::span<const uint8_t> rec, v1::Event* ev,
                        std::string* error) {
  aw_exit_event e;
  if (!Load(rec, sizeof(e), &e, error)) return DecodeStatus::kInvalid;
  ev->set_type(v1::EVENT_TYPE_EXIT);
  ev->mutable_process()->set_ppid(e.ppid);
  ev->mutable_process()->set_start_time_ns(e.start_ns);
  v1::ExitInfo* x = ev->mutable_exit();
  int status = e.exit_code;
  if ((status & 0x7f) == 0) {
    x->set_exit_code((status >> 8) & 0xff);
  } else {
    x->set_signal(status & 0x7f);
  }
  if (e.start_ns != 0 && h.ts_ns > e.start_ns)
    x->set_duration_ns(h.ts_ns - e.start_ns);
  return DecodeStatus::kOk;
}

// Open: the path of the returned fd when the kernel resolved it, otherwise
// the path the caller gave.
void DecodeFileOpen(const aw_file_event& e, const std::string_view* s, v1::Event* ev,
                    std::string* path, bool* truncated) {
  v1::FileInfo* f = ev->mutable_file();
  ev->set_type(v1::EVENT_TYPE_FILE_OPEN);
  f->set_flags_text(OpenFlagsText(e.flags));
  if (e.ret >= 0 && (!s[2].empty() || (e.sec_flags & AW_PATH_ROOT2))) {
    *path = ComponentsToPath(s[2]);
    *truncated = (e.sec_flags & AW_PATH_ROOT2) == 0;
    f->set_resolved(true);
  } else {
    ResolvePath(s[0], s[1], (e.sec_flags & AW_PATH_ROOT) != 0, path, truncated);
  }
  f->set_inode(e.ino);
  f->set_dev(e.dev);
}

// Rename: the old path in path, the new one in the event.
void DecodeFileRename(const aw_file_event& e, const std::string_view* s, v1::Event* ev,
                      std::string* path, bool* truncated) {
  v1::FileInfo* f = ev->mutable_file();
  const bool base_root = (e.sec_flags & AW_PATH_ROOT) != 0;
  ev->set_type(v1::EVENT_TYPE_FILE_RENAME);
  ResolvePath(s[0], s[1], base_root, path, truncated);
  std::string new_path;
  bool new_trunc = false;
  if (e.sec_flags & AW_SAME_BASE) {
    ResolvePath(s[2], s[1], base_root, &new_path, &new_trunc);
  } else {
    ResolvePath(s[2], s[3], (e.sec_flags & AW_PATH_ROOT2) != 0,
                &new_path, &new_trunc);
  }
  f->set_new_raw_path(Printable(CStr(s[2])));
  f->set_new_path(Printable(new_path));
  *truncated |= new_trunc;
}

// Open, unlink and rename share a record layout.
DecodeStatus DecodeFile(const aw_hdr& h, std::span<const uint8_t> rec, v1::Event* ev,
                        std::string* error) {
  aw_file_event e;
  if (!Load(rec, offsetof(aw_file_event, data), &e, error))
    return DecodeStatus::kInvalid;
  std::string_view s[AW_SECTIONS];
  if (!Sections(e.data, rec.size() - offsetof(aw_file_event, data),
                e.sec_len, s, error))
    return DecodeStatus::kInvalid;
  v1::FileInfo* f = ev->mutable_file();
  f->set_syscall(SyscallName(e.syscall));
  f->set_raw_path(Printable(CStr(s[0])));
  f->set_flags(e.flags);
  f->set_mode(e.mode);
  SetResult(e.ret, f);
  std::string path;
  bool truncated = false;
  if (h.type == AW_EV_FILE_OPEN) {
    DecodeFileOpen(e, s, ev, &path, &truncated);
  } else if (h.type == AW_EV_FILE_UNLINK) {
    ev->set_type(v1::EVENT_TYPE_FILE_UNLINK);
    ResolvePath(s[0], s[1], (e.sec_flags & AW_PATH_ROOT) != 0, &path, &truncated);
  } else {
    DecodeFileRename(e, s, ev, &path, &truncated);
  }
  f->set_path(Printable(path));
  f->set_truncated(truncated);
  return DecodeStatus::kOk;
}

// Connect, accept, bind, listen and close share a record layout.
DecodeStatus DecodeNet(const aw_hdr& h, std::span<const uint8_t> rec, v1::Event* ev,
                       std::string* error) {
  aw_net_event e;
  if (!Load(rec, sizeof(e), &e, error)) return DecodeStatus::kInvalid;
  static constexpr v1::EventType kTypes[] = {
      v1::EVENT_TYPE_NET_CONNECT, v1::EVENT_TYPE_NET_ACCEPT,
      v1::EVENT_TYPE_NET_BIND, v1::EVENT_TYPE_NET_LISTEN,
      v1::EVENT_TYPE_NET_CLOSE};
  ev->set_type(kTypes[h.type - AW_EV_NET_CONNECT]);
  v1::NetInfo* n = ev->mutable_net();
  n->set_syscall(SyscallName(e.syscall));
  n->set_fd(e.fd);
  n->set_sock_type(SockTypeName(e.sock_type));
  n->set_protocol(ProtocolName(e.protocol));
  n->set_result(e.ret);
  if (e.ret < 0) n->set_error(ErrnoName(static_cast<int>(-e.ret)));
  if (h.type == AW_EV_NET_LISTEN) n->set_backlog(e.backlog);
  n->set_socket_inode(e.sock_ino);
  n->set_bytes_sent(e.bytes_sent);
  n->set_bytes_received(e.bytes_recv);
  if (e.local.family != 0) FillAddr(e.local, n->mutable_local());
  if (e.remote.family != 0) FillAddr(e.remote, n->mutable_remote());
  return DecodeStatus::kOk;
}

DecodeStatus DecodeDns(std::span<const uint8_t> rec, v1::Event* ev,
                       std::string* error) {
  aw_dns_event e;
  if (!Load(rec, offsetof(aw_dns_event, payload), &e, error))
    return DecodeStatus::kInvalid;
  size_t avail = rec.size() - offsetof(aw_dns_event, payload);
  if (e.len > avail || e.len > AW_DNS_MAX) {
    *error = fmt::format("dns payload of {} bytes overruns the record",
                         e.len);
    return DecodeStatus::kInvalid;
  }
  ev->set_type(v1::EVENT_TYPE_DNS_QUERY);
  v1::DnsInfo* d = ev->mutable_dns();
  FillAddr(e.remote, d->mutable_server());
  DecodeDnsPayload(std::span<const uint8_t>(e.payload, e.len), e.orig_len,
                   d);
  return DecodeStatus::kOk;
}

DecodeStatus DecodePayload(std::span<const uint8_t> rec, v1::Event* ev,
                           std::string* error) {
  aw_payload_event e;
  if (!Load(rec, offsetof(aw_payload_event, data), &e, error))
    return DecodeStatus::kInvalid;
  size_t avail = rec.size() - offsetof(aw_payload_event, data);
  if (e.len > avail || e.len > AW_PAYLOAD_CHUNK) {
    *error = fmt::format("payload of {} bytes overruns the record", e.len);
    return DecodeStatus::kInvalid;
  }
  ev->set_type(v1::EVENT_TYPE_PAYLOAD);
  v1::PayloadInfo* p = ev->mutable_payload();
  p->set_syscall(SyscallName(e.syscall));
  p->set_fd(e.fd);
  p->set_direction(e.direction == AW_DIR_OUT ? "out" : "in");
  p->set_file_type(e.file_type == AW_FT_PIPE     ? "pipe"
                   : e.file_type == AW_FT_SOCKET ? "socket"
                                                 : "other");
  p->set_inode(e.ino);
  p->set_offset(e.offset);
  p->set_syscall_length(e.orig_len);
  p->set_chunk(e.chunk);
  p->set_data(reinterpret_cast<const char*>(e.data), e.len);
  p->set_truncated((e.flags & AW_PAYLOAD_TRUNCATED) != 0);
  p->set_fault((e.flags & AW_PAYLOAD_FAULT) != 0);
  p->set_discovery((e.flags & AW_PAYLOAD_PROBE) != 0);
  p->set_tail_follows((e.flags & AW_PAYLOAD_TAIL_FOLLOWS) != 0);
  p->set_tail((e.flags & AW_PAYLOAD_TAIL) != 0);
  return DecodeStatus::kOk;
}

DecodeStatus DecodeEvade(std::span<const uint8_t> rec, v1::Event* ev, std::string* error) {
  aw_evade_event e;
  if (!Load(rec, sizeof(aw_evade_event), &e, error)) return DecodeStatus::kInvalid;
  ev->set_type(v1::EVENT_TYPE_CAPTURE_EVADED);
  v1::EvasionInfo* x = ev->mutable_evasion();
  x->set_mechanism((e.flags & AW_EVADE_SCM_RIGHTS) ? "scm_rights"
                   : (e.flags & AW_EVADE_BUDGET)   ? "payload_budget"
                   : (e.flags & AW_EVADE_RECORDS)  ? "record_budget"
                                                   : SyscallName(e.syscall));
  if (e.flags & AW_EVADE_BUDGET) x->set_syscall(SyscallName(e.syscall));
  x->set_fd(e.fd);
  x->set_fd2(e.fd2);
  x->set_bytes(e.ret);
  x->set_target_pid(e.target_pid);
  if (e.flags & AW_EVADE_SCM_RIGHTS) x->set_fds_received(e.count);
  x->set_stream_gap((e.flags & (AW_EVADE_FD_STREAM | AW_EVADE_FD2_STREAM)) != 0 && e.ret > 0);
  return DecodeStatus::kOk;
}

}  // namespace

DecodeStatus DecodeRecord(std::span<const uint8_t> rec, int64_t boot_to_unix,
                          v1::Event* ev, std::string* error) {
  if (rec.size() < sizeof(aw_hdr)) {
    *error = fmt::format("record of {} bytes is shorter than its header",
                         rec.size());
    return DecodeStatus::kInvalid;
  }
  aw_hdr h;
  std::memcpy(&h, rec.data(), sizeof(h));
  if (h.size < sizeof(aw_hdr) || h.size > rec.size()) {
    *error = fmt::format("header size {} does not fit the {}-byte record",
                         h.size, rec.size());
    return DecodeStatus::kInvalid;
  }
  rec = rec.first(h.size);
  ev->Clear();
  ev->set_ktime_ns(h.ts_ns);
  ev->set_time_unix_ns(static_cast<int64_t>(h.ts_ns) + boot_to_unix);
  FillProcess(h, ev);

  switch (h.type) {
    case AW_EV_EXEC:
      return DecodeExec(h, rec, ev, error);
    case AW_EV_FORK:
      return DecodeFork(rec, ev, error);
    case AW_EV_EXIT:
      return DecodeExit(h, rec, ev, error);
    case AW_EV_FILE_OPEN:
    case AW_EV_FILE_UNLINK:
    case AW_EV_FILE_RENAME:
      return DecodeFile(h, rec, ev, error);
    case AW_EV_NET_CONNECT:
    case AW_EV_NET_ACCEPT:
    case AW_EV_NET_BIND:
    case AW_EV_NET_LISTEN:
    case AW_EV_NET_CLOSE:
      return DecodeNet(h, rec, ev, error);
    case AW_EV_NET_DNS:
      return DecodeDns(rec, ev, error);
    case AW_EV_PAYLOAD:
      return DecodePayload(rec, ev, error);
    case AW_EV_EVADE:
      return DecodeEvade(rec, ev, error);
    default:
      *error = fmt::format("unknown record type {}", h.type);
      return DecodeStatus::kInvalid;
  }
}

}  // namespace agentwatch
