#include "sensor/sensor.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agentwatch.skel.h"
#include "events.h"
#include "probe.skel.h"

namespace agentwatch {
namespace {

// One BPF program of the main object and where it hooks.
struct ProgSpec {
  const char* capability;
  const char* program;
  const char* hook_type;  // "tp_btf" or "tracepoint"
  const char* target;     // tracepoint "group/name" or tp_btf name
  const char* alt_of;     // preferred program this one replaces, or nullptr
};

// Order matters: a fallback follows the program it replaces.
constexpr ProgSpec kProgs[] = {
    {"process.exec", "btf_exec", "tp_btf", "sched_process_exec", nullptr},
    {"process.exec", "tp_exec", "tracepoint", "sched/sched_process_exec", "btf_exec"},
    {"process.fork", "btf_fork", "tp_btf", "sched_process_fork", nullptr},
    {"process.fork", "tp_fork", "tracepoint", "sched/sched_process_fork", "btf_fork"},
    {"process.exit", "btf_exit", "tp_btf", "sched_process_exit", nullptr},
    {"process.exit", "tp_exit", "tracepoint", "sched/sched_process_exit", "btf_exit"},
#define SYSCALL(cap, name)                                                   \
  {cap, "sx_" #name, "tracepoint", "syscalls/sys_exit_" #name, nullptr},     \
  {cap, "enter_" #name, "tracepoint", "syscalls/sys_enter_" #name, "sx_" #name}, \
  {cap, "exit_" #name, "tracepoint", "syscalls/sys_exit_" #name, "sx_" #name}
    // Preferred: exit-only programs reading the arguments from the saved
    // registers; fallback: enter/exit pairs with a pending-arguments map.
    SYSCALL("file.open", openat),
    SYSCALL("file.open", open),
    SYSCALL("file.open", openat2),
    SYSCALL("file.open", creat),
    SYSCALL("file.unlink", unlink),
    SYSCALL("file.unlink", unlinkat),
    SYSCALL("file.rename", rename),
    SYSCALL("file.rename", renameat),
    SYSCALL("file.rename", renameat2),
    SYSCALL("net.connect", connect),
    SYSCALL("net.accept", accept),
    SYSCALL("net.accept", accept4),
    SYSCALL("net.bind", bind),
    SYSCALL("net.listen", listen),
    SYSCALL("net.dns", sendto),
    SYSCALL("net.dns", sendmsg),
    SYSCALL("net.dns", sendmmsg),
    SYSCALL("payload", read),
    SYSCALL("payload", write),
    SYSCALL("payload", readv),
    SYSCALL("payload", writev),
    SYSCALL("payload", recvfrom),
    SYSCALL("payload", recvmsg),
    SYSCALL("payload", pread64),
    SYSCALL("payload", pwrite64),
    SYSCALL("payload", preadv),
    SYSCALL("payload", pwritev),
    SYSCALL("payload", preadv2),
    SYSCALL("payload", pwritev2),
    SYSCALL("payload", recvmmsg),
    SYSCALL("payload", vmsplice),
    // What payload capture cannot see: reported, never silent.
    SYSCALL("evasion", splice),
    SYSCALL("evasion", tee),
    SYSCALL("evasion", sendfile64),
    SYSCALL("evasion", copy_file_range),
    SYSCALL("evasion", io_uring_setup),
    SYSCALL("evasion", process_vm_readv),
    SYSCALL("evasion", process_vm_writev),
    // Discovery follows a probed fd to its copies.
    SYSCALL("discovery", dup),
    SYSCALL("discovery", dup2),
    SYSCALL("discovery", dup3),
    SYSCALL("discovery", fcntl),
#undef SYSCALL
    {"net.bytes", "btf_sock_send", "tp_btf", "sock_send_length", nullptr},
    {"net.bytes", "tp_sock_send", "tracepoint", "sock/sock_send_length", "btf_sock_send"},
    {"net.bytes", "btf_sock_recv", "tp_btf", "sock_recv_length", nullptr},
    {"net.bytes", "tp_sock_recv", "tracepoint", "sock/sock_recv_length", "btf_sock_recv"},
    {"net.bytes", "btf_tcp_close", "tp_btf", "inet_sock_set_state", nullptr},
    {"net.bytes", "enter_close", "tracepoint", "syscalls/sys_enter_close", "btf_tcp_close"},
};

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string_view s(buf, n > 0 ? std::min<size_t>(n, sizeof(buf) - 1) : 0);
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  // Refusals are expected while probing hook types and are reported in
  // status; libbpf's own lines (and verifier logs) are for debugging.
  spdlog::debug("libbpf: {}", s);
  return 0;
}

std::string Errno(int err) {
  if (err < 0) err = -err;
  return fmt::format("{} ({})", strerrorname_np(err) ? strerrorname_np(err) : "?",
                     strerror(err));
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

const btf* VmlinuxBtf() {
  static const btf* b = btf__load_vmlinux_btf();
  return libbpf_get_error(b) ? nullptr : b;
}

// Whether the kernel has the hook point a program wants.
bool TargetExists(const ProgSpec& p, const std::string& tracefs,
                  std::string* why) {
  if (std::strcmp(p.hook_type, "tp_btf") == 0) {
    const btf* b = VmlinuxBtf();
    if (b == nullptr) {
      *why = "no kernel BTF";
      return false;
    }
    std::string name = std::string("btf_trace_") + p.target;
    if (btf__find_by_name_kind(b, name.c_str(), BTF_KIND_TYPEDEF) < 0) {
      *why = fmt::format("kernel has no tracepoint {}", p.target);
      return false;
    }
    return true;
  }
  if (!Exists(tracefs + "/events/" + p.target)) {
    *why = fmt::format("kernel has no tracepoint {}", p.target);
    return false;
  }
  return true;
}

// Whether a program of the plan is enabled, and why (not), given the
// programs enabled before it: fallbacks only for what is not enabled,
// preferred programs left out on the fallback pass, hook types, payload
// capture and hook points the kernel lacks.
bool WantProgram(const ProgSpec& p, const SensorOptions& opts, bool fallback,
                 bool allow_btf, const std::vector<std::string>& enabled,
                 std::string* why) {
  bool want = true;
  const bool has_fallback =
      std::any_of(std::begin(kProgs), std::end(kProgs),
                  [&](const ProgSpec& q) {
                    return q.alt_of != nullptr &&
                           std::strcmp(q.alt_of, p.program) == 0;
                  });
  if (p.alt_of != nullptr) {
    // A fallback: only when the preferred program is not enabled.
    for (const auto& e : enabled) {
      if (e == p.alt_of) want = false;
    }
    if (!want) *why = fmt::format("not needed: {} is used", p.alt_of);
  } else if (fallback && has_fallback) {
    want = false;
    *why = opts.fallback_only ? "fallback hooks chosen by configuration"
                              : "replaced after the first load failed";
  }
  if (want && std::strcmp(p.hook_type, "tp_btf") == 0 && !allow_btf) {
    want = false;
    *why = "tp_btf hooks unavailable";
  }
  if (want && opts.payload_max == 0 &&
      std::strcmp(p.capability, "payload") == 0) {
    want = false;
    *why = "payload capture disabled (payload_max: 0)";
  }
  if (want && !TargetExists(p, opts.tracefs, why)) want = false;
  return want;
}

// Sets the autoload of every program of the object per the plan; returns
// the plan, one status per program with why it is (not) used.
std::vector<v1::ProbeStatus> PlanPrograms(bpf_object* obj, const SensorOptions& opts,
                                          bool fallback, bool allow_btf) {
  std::vector<v1::ProbeStatus> plan;
  std::vector<std::string> enabled;
  for (const ProgSpec& p : kProgs) {
    v1::ProbeStatus st;
    st.set_capability(p.capability);
    st.set_program(p.program);
    st.set_hook_type(p.hook_type);
    st.set_target(p.target);
    std::string why;
    bool want = WantProgram(p, opts, fallback, allow_btf, enabled, &why);
    bpf_program* prog = bpf_object__find_program_by_name(obj, p.program);
    if (prog == nullptr) {
      want = false;
      why = "program missing from the object";
    } else {
      bpf_program__set_autoload(prog, want);
    }
    if (want) {
      enabled.push_back(p.program);
      if (p.alt_of != nullptr) {
        why = fmt::format("fallback for {}", p.alt_of);
      }
    }
    st.set_detail(why);
    plan.push_back(st);
  }
  return plan;
}

}  // namespace

std::string EnsureTracefs(const std::string& path) {
  if (Exists(path + "/events")) return "";
  if (!Exists(path)) mkdir(path.c_str(), 0700);
  if (mount("tracefs", path.c_str(), "tracefs", 0, nullptr) != 0) {
    return fmt::format("mount tracefs at {}: {}", path, Errno(errno));
  }
  spdlog::info("msg=\"mounted tracefs\" path={}", path);
  return "";
}

Sensor::~Sensor() { Stop(); }

void Sensor::ProbeHookTypes() {
  struct Probe {
    const char* type;
    const char* program;
  };
  static constexpr Probe kProbes[] = {
      {"tp_btf", "probe_tp_btf"},       {"tracepoint", "probe_tracepoint"},
      {"raw_tracepoint", "probe_raw_tracepoint"},
      {"fentry", "probe_fentry"},       {"lsm", "probe_lsm"},
      {"kprobe", "probe_kprobe"},
  };
  std::vector<v1::HookTypeStatus> out;
  for (const auto& pr : kProbes) {
    v1::HookTypeStatus st;
    st.set_hook_type(pr.type);
    probe_bpf* p = probe_bpf__open();
    if (p == nullptr) {
      st.set_detail("open probe object: " + Errno(errno));
      out.push_back(st);
      continue;
    }
    bpf_program* prog;
    bpf_program* chosen = nullptr;
    bpf_object__for_each_program(prog, p->obj) {
      bool mine = std::strcmp(bpf_program__name(prog), pr.program) == 0;
      bpf_program__set_autoload(prog, mine);
      if (mine) chosen = prog;
    }
    int err = probe_bpf__load(p);
    if (err != 0) {
      st.set_detail("load refused: " + Errno(err));
    } else {
      bpf_link* link = bpf_program__attach(chosen);
      if (link == nullptr) {
        st.set_detail("attach refused: " + Errno(errno));
      } else {
        st.set_available(true);
        bpf_link__destroy(link);
      }
    }
    probe_bpf__destroy(p);
    out.push_back(st);
  }
  std::lock_guard<std::mutex> lock(mu_);
  hook_types_ = std::move(out);
}

bool Sensor::HookTypeAvailable(const std::string& type) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& h : hook_types_) {
    if (h.hook_type() == type) return h.available();
  }
  return false;
}

bool Sensor::Start(const SensorOptions& opts, RecordFn on_record,
                   std::string* error) {
  libbpf_set_print(LibbpfPrint);
  on_record_ = std::move(on_record);
  if (std::string e = EnsureTracefs(opts.tracefs); !e.empty()) {
    spdlog::warn("msg=\"tracefs unavailable; classic tracepoints will fail\" "
                 "error=\"{}\"",
                 e);
  }
  ProbeHookTypes();
  if (!LoadAndAttach(opts, error)) return false;
  return OpenRingBuffer(error);
}

bool Sensor::OpenAndConfigure(const SensorOptions& opts, std::string* error) {
  skel_ = agentwatch_bpf__open();
  if (skel_ == nullptr) {
    *error = "open BPF object: " + Errno(errno);
    return false;
  }
  bpf_map__set_max_entries(skel_->maps.events, opts.ringbuf_bytes);
  skel_->rodata->argv_max = opts.argv_max;
  skel_->rodata->dns_port = opts.dns_port;
  skel_->rodata->payload_max = opts.payload_max;
  skel_->rodata->payload_rate = opts.payload_rate;
  skel_->rodata->payload_burst = opts.payload_burst;
  skel_->rodata->record_rate = opts.record_rate;
  skel_->rodata->record_burst = opts.record_burst;
  skel_->rodata->discover_stdio = opts.discover_stdio && opts.payload_max > 0;
  skel_->rodata->discover_http = opts.discover_http && opts.payload_max > 0;
  skel_->rodata->probe_bytes = opts.probe_bytes;
  probe_bytes_ = opts.probe_bytes;

  // TLS uprobes are attached later, per library (HookTls).
  for (bpf_program* p :
       {skel_->progs.ssl_read_enter, skel_->progs.ssl_read_exit,
        skel_->progs.ssl_write_enter, skel_->progs.ssl_write_exit,
        skel_->progs.ssl_read_ex_enter, skel_->progs.ssl_read_ex_exit,
        skel_->progs.ssl_write_ex_enter, skel_->progs.ssl_write_ex_exit})
    bpf_program__set_autoload(p, opts.payload_max > 0);
  return true;
}

bool Sensor::LoadAndAttach(const SensorOptions& opts, std::string* error) {
  // Two passes: the preferred plan, then (if the load fails as a whole) the
  // classic-tracepoint-only plan.
  for (int pass = 0;; ++pass) {
    // Pass 0: preferred programs (tp_btf where the kernel allows it).
    // Pass 1, or fallback_only: every program that has a fallback is
    // replaced by it.
    const bool fallback = pass == 1 || opts.fallback_only;
    const bool allow_btf = !fallback && HookTypeAvailable("tp_btf");
    if (!OpenAndConfigure(opts, error)) return false;
    std::vector<v1::ProbeStatus> plan = PlanPrograms(skel_->obj, opts, fallback, allow_btf);

    int err = agentwatch_bpf__load(skel_);
    if (err != 0) {
      std::string msg = "load BPF object: " + Errno(err);
      agentwatch_bpf__destroy(skel_);
      skel_ = nullptr;
      if (pass == 0) {
        spdlog::warn("msg=\"BPF load failed; retrying with classic tracepoints\" error=\"{}\"",
                     msg);
        continue;
      }
      *error = msg;
      return false;
    }

    AttachPlanned(&plan);
    std::lock_guard<std::mutex> lock(mu_);
    probes_ = std::move(plan);
    return true;
  }
}

void Sensor::AttachPlanned(std::vector<v1::ProbeStatus>* plan) {
  attached_ = 0;
  for (auto& st : *plan) {
    bpf_program* prog =
        bpf_object__find_program_by_name(skel_->obj, st.program().c_str());
    if (prog == nullptr || !bpf_program__autoload(prog)) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) {
      st.set_detail("attach failed: " + Errno(errno));
      spdlog::warn("msg=\"attach failed\" program={} error=\"{}\"",
                   st.program(), st.detail());
      continue;
    }
    // The skeleton's links[] is destroyed by agentwatch_bpf__destroy.
    for (int i = 0; i < skel_->skeleton->prog_cnt; ++i) {
      if (*skel_->skeleton->progs[i].prog == prog) {
        *skel_->skeleton->progs[i].link = link;
      }
    }
    st.set_attached(true);
    ++attached_;
  }
}

bool Sensor::OpenRingBuffer(std::string* error) {
  rb_ = ring_buffer__new(
      bpf_map__fd(skel_->maps.events),
      [](void* ctx, void* data, size_t size) -> int {
        auto* self = static_cast<Sensor*>(ctx);
        self->on_record_(
            std::span<const uint8_t>(static_cast<const uint8_t*>(data), size));
        return 0;
      },
      this, nullptr);
  if (rb_ == nullptr) {
    *error = "ring buffer: " + Errno(errno);
    Stop();
    return false;
  }
  if (attached_ == 0) {
    *error = "no BPF program could be attached";
    Stop();
    return false;
  }
  return true;
}

int Sensor::Poll(int timeout_ms) {
  if (rb_ == nullptr) return -EINVAL;
  int n = ring_buffer__poll(rb_, timeout_ms);
  // Records submitted without a wakeup (watched payload) are read here.
  if (n == 0) n = ring_buffer__consume(rb_);
  return n;
}

void Sensor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [k, f] : tls_) {
      for (bpf_link* l : f.links) bpf_link__destroy(l);
      f.links.clear();
      f.status.set_attached(false);
    }
  }
  if (rb_ != nullptr) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
  if (skel_ != nullptr) {
    agentwatch_bpf__destroy(skel_);  // detaches links, closes maps
    skel_ = nullptr;
  }
  attached_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& p : probes_) p.set_attached(false);
}

bool Sensor::Watch(uint32_t pid, uint32_t flags) {
  if (skel_ == nullptr) return false;
  return bpf_map__update_elem(skel_->maps.watched, &pid, sizeof(pid), &flags,
                              sizeof(flags), BPF_ANY) == 0;
}

bool Sensor::Probe(uint32_t pid, const std::vector<int32_t>& fds) {
  if (skel_ == nullptr) return false;
  const int64_t budget = probe_bytes_;
  for (int32_t fd : fds) {
    aw_probe_key k{pid, fd};
    aw_probe_budget b{{budget, budget}};
    if (bpf_map__update_elem(skel_->maps.probes, &k, sizeof(k), &b, sizeof(b),
                             BPF_ANY) != 0)
      return false;
  }
  uint32_t flags = AW_WATCH_PROBE;
  // Only if nothing marked it meanwhile (a rule, an inherited watch).
  int r = bpf_map__update_elem(skel_->maps.watched, &pid, sizeof(pid), &flags,
                               sizeof(flags), BPF_NOEXIST);
  return r == 0 || r == -EEXIST;
}

bool Sensor::SetWatchedExecutables(const std::vector<std::string>& paths,
                                   uint32_t flags) {
  if (skel_ == nullptr) return false;
  const int fd = bpf_map__fd(skel_->maps.watch_exe);
  // Clear, then fill: the map is small and changes only on (re)load.
  char key[AW_EXE_KEY_MAX] = {};
  char next[AW_EXE_KEY_MAX];
  std::vector<std::string> old;
  while (bpf_map_get_next_key(fd, old.empty() ? nullptr : key, next) == 0) {
    old.emplace_back(next, AW_EXE_KEY_MAX);
    std::memcpy(key, next, AW_EXE_KEY_MAX);
  }
  for (const auto& k : old) bpf_map_delete_elem(fd, k.data());
  bool ok = true;
  for (const auto& p : paths) {
    if (p.size() >= AW_EXE_KEY_MAX) continue;  // userspace rules still apply
    char k[AW_EXE_KEY_MAX] = {};
    std::memcpy(k, p.data(), p.size());
    ok &= bpf_map_update_elem(fd, k, &flags, BPF_ANY) == 0;
  }
  return ok;
}

std::vector<uint64_t> Sensor::KernelCounters() const {
  std::vector<uint64_t> out(AW_CTR_MAX, 0);
  if (skel_ == nullptr) return out;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<uint64_t> vals(ncpu);
  for (uint32_t k = 0; k < AW_CTR_MAX; ++k) {
    if (bpf_map__lookup_elem(skel_->maps.counters, &k, sizeof(k), vals.data(),
                             vals.size() * sizeof(uint64_t), 0) == 0) {
      for (uint64_t v : vals) out[k] += v;
    }
  }
  return out;
}

std::vector<v1::HookTypeStatus> Sensor::hook_types() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hook_types_;
}

bool Sensor::HookTls(const std::string& path, uint32_t pid) {
  struct stat st {};
  if (skel_ == nullptr || stat(path.c_str(), &st) != 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = tls_.try_emplace({st.st_dev, st.st_ino});
  TlsFile& f = it->second;
  auto add_pid = [&] {
    if (pid != 0 && f.status.pids_size() < 16 &&
        std::find(f.status.pids().begin(), f.status.pids().end(), pid) ==
            f.status.pids().end())
      f.status.add_pids(pid);
  };
  if (!fresh) {
    if (f.status.attached()) add_pid();
    return f.status.attached();
  }
  f.status.set_path(path);
  f.status.set_library("openssl");
  struct Hook {
    const char* func;
    bpf_program* enter;
    bpf_program* exit;
  };
  const Hook hooks[] = {
      {"SSL_read", skel_->progs.ssl_read_enter, skel_->progs.ssl_read_exit},
      {"SSL_write", skel_->progs.ssl_write_enter, skel_->progs.ssl_write_exit},
      {"SSL_read_ex", skel_->progs.ssl_read_ex_enter, skel_->progs.ssl_read_ex_exit},
      {"SSL_write_ex", skel_->progs.ssl_write_ex_enter, skel_->progs.ssl_write_ex_exit},
  };
  std::string err;
  for (const Hook& h : hooks) {
    if (bpf_program__fd(h.enter) < 0 || bpf_program__fd(h.exit) < 0) {
      err = "TLS programs not loaded (payload capture off)";
      break;
    }
    LIBBPF_OPTS(bpf_uprobe_opts, in, .retprobe = false, .func_name = h.func);
    LIBBPF_OPTS(bpf_uprobe_opts, out, .retprobe = true, .func_name = h.func);
    // All processes that map the file; the programs filter on watched.
    bpf_link* a = bpf_program__attach_uprobe_opts(h.enter, -1, path.c_str(), 0, &in);
    if (a == nullptr) {
      err = fmt::format("{}: {}", h.func, Errno(errno));
      continue;
    }
    bpf_link* b = bpf_program__attach_uprobe_opts(h.exit, -1, path.c_str(), 0, &out);
    if (b == nullptr) {
      err = fmt::format("{} return: {}", h.func, Errno(errno));
      bpf_link__destroy(a);
      continue;
    }
    f.links.push_back(a);
    f.links.push_back(b);
    f.status.add_functions(h.func);
  }
  // SSL_read and SSL_write are the minimum: the _ex forms are newer.
  const bool ok = f.status.functions_size() >= 2 &&
                  f.status.functions(0) == "SSL_read" &&
                  f.status.functions(1) == "SSL_write";
  f.status.set_attached(ok);
  if (!ok) {
    f.status.set_detail(err.empty() ? "no SSL_read/SSL_write symbols" : err);
    for (bpf_link* l : f.links) bpf_link__destroy(l);
    f.links.clear();
    f.status.clear_functions();
  } else {
    add_pid();
    spdlog::info("msg=\"TLS plaintext hooked\" path={} functions={}", path,
                 f.status.functions_size());
  }
  return ok;
}

void Sensor::NoteUnhookableTls(const std::string& path,
                               const std::string& library, uint32_t pid,
                               const std::string& why) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  TlsFile& f = tls_[{st.st_dev, st.st_ino}];
  if (f.status.path().empty()) {
    f.status.set_path(path);
    f.status.set_library(library);
    f.status.set_detail(why);
    spdlog::warn("msg=\"TLS plaintext not captured\" path={} library={} pid={} "
                 "reason=\"{}\"",
                 path, library, pid, why);
  }
  if (pid != 0 && f.status.pids_size() < 16 &&
      std::find(f.status.pids().begin(), f.status.pids().end(), pid) ==
          f.status.pids().end())
    f.status.add_pids(pid);
}

std::vector<v1::TlsHook> Sensor::tls_hooks() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::TlsHook> out;
  for (const auto& [k, f] : tls_) out.push_back(f.status);
  return out;
}

std::vector<v1::ProbeStatus> Sensor::probes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return probes_;
}

std::vector<v1::ProbeStatus> Sensor::SetAttached(const std::string& name, bool attach,
                                                 std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::ProbeStatus> changed;
  if (skel_ == nullptr) {
    *error = "the sensor is not running";
    return changed;
  }
  bool matched = false;
  for (auto& st : probes_) {
    if (st.program() != name && st.capability() != name) continue;
    // Only the probes in use: attached now, or detached earlier by this.
    if (!st.attached() && !st.detached()) continue;
    matched = true;
    if (st.attached() == attach) continue;
    bpf_link** slot = nullptr;
    bpf_program* prog = nullptr;
    for (int i = 0; i < skel_->skeleton->prog_cnt; ++i) {
      if (st.program() == bpf_program__name(*skel_->skeleton->progs[i].prog)) {
        slot = skel_->skeleton->progs[i].link;
        prog = *skel_->skeleton->progs[i].prog;
      }
    }
    if (slot == nullptr) continue;
    if (!attach) {
      if (*slot != nullptr) bpf_link__destroy(*slot);
      *slot = nullptr;
      st.set_attached(false);
      st.set_detached(true);
      --attached_;
      spdlog::warn("msg=\"probe detached\" program={} capability={}", st.program(),
                   st.capability());
    } else {
      bpf_link* link = bpf_program__attach(prog);
      if (link == nullptr) {
        *error = fmt::format("attach {}: {}", st.program(), Errno(errno));
        continue;
      }
      *slot = link;
      st.set_attached(true);
      st.set_detached(false);
      ++attached_;
      spdlog::info("msg=\"probe attached again\" program={} capability={}", st.program(),
                   st.capability());
    }
    changed.push_back(st);
  }
  if (!matched && error->empty())
    *error = fmt::format("no probe in use has the program or capability \"{}\"", name);
  return changed;
}

bool Sensor::AllAttached(std::string* why) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string names;
  for (const auto& st : probes_) {
    if (st.detached()) names += (names.empty() ? "" : ", ") + st.program();
  }
  if (names.empty()) return true;
  *why = "probes detached: " + names;
  return false;
}

}  // namespace agentwatch
