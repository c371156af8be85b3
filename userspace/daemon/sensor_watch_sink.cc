#include "daemon/sensor_watch_sink.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"
#include "detect/posture.h"
#include "proc/proc_scan.h"
#include "proc/process_files.h"
#include "redact/redactor.h"

namespace agentwatch {

bool SensorWatchSink::ProbeRunning(uint32_t pid) {
  if (!discover_stdio_) return false;
  return FdIsIpc(proc_root_, pid, 0) && FdIsIpc(proc_root_, pid, 1) && s_->Probe(pid, {0, 1});
}

void SensorWatchSink::CheckTls(uint32_t pid, bool at_exec) {
  if (!tls_) return;
  const std::string root = fmt::format("{}/{}/root", proc_root_, pid);
  if (at_exec) {
    // Binaries that carry OpenSSL themselves (node); libraries are not
    // mapped yet at exec.
    std::string exe;
    if (ReadExePath(proc_root_, pid, &exe) && EmbedsOpenSsl(exe)) s_->HookTls(root + exe, pid);
    return;
  }
  const TlsLibraries libs = ClassifyTlsLibraries(ReadMappedPaths(proc_root_, pid));
  bool openssl = false;
  for (const auto& path : libs.openssl) openssl |= s_->HookTls(root + path, pid);
  // Another TLS library next to a hooked OpenSSL is most likely a
  // dependency that is not used for this process's connections.
  if (openssl) return;
  for (const auto& [path, lib] : libs.others) {
    s_->NoteUnhookableTls(root + path, lib, pid,
                          "no uprobes for this TLS library: its plaintext is not captured");
  }
}

namespace {

// fd's bytes into *out, at most max (false beyond, or on a read error);
// closes fd.
bool ReadAll(int fd, size_t max, std::string* out) {
  out->clear();
  char buf[16384];
  bool ok = true;
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) ok = false;
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > max) {
      ok = false;
      break;
    }
  }
  close(fd);
  return ok;
}

// path resolved as if root_fd were "/" (openat2 RESOLVE_IN_ROOT: absolute
// symlinks and .. stay inside), a regular file owned by uid of at most max
// bytes: false when it is not, or cannot be read.
bool ReadFileInRoot(int root_fd, const std::string& path, uid_t uid, size_t max,
                    std::string* out) {
  const size_t first = path.find_first_not_of('/');
  if (first == std::string::npos) return false;
  struct open_how how {};
  how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const int fd =
      static_cast<int>(syscall(SYS_openat2, root_fd, path.c_str() + first, &how, sizeof(how)));
  if (fd < 0) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != uid ||
      static_cast<uint64_t>(st.st_size) > max) {
    close(fd);
    return false;
  }
  return ReadAll(fd, max, out);
}

// /proc/PID/environ or cmdline (no size to fstat: read up to max, the
// rest left out).
bool ReadProcText(const std::string& path, size_t max, std::string* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ReadAll(fd, max, out);
  return true;
}

std::string EnvValue(const std::string& environ, std::string_view name) {
  for (const std::string& kv : SplitNul(environ)) {
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return kv.substr(name.size() + 1);
  }
  return "";
}

// Whether pid is still the process that started at start_ns (CLOCK_BOOTTIME;
// 0: not known, taken as yes): /proc/PID/stat's start time, in clock ticks.
bool SameInstance(const std::string& proc_root, uint32_t pid, uint64_t start_ns) {
  if (start_ns == 0) return true;
  std::string stat, comm;
  uint32_t ppid = 0;
  uint64_t ticks = 0;
  if (!ReadProcText(fmt::format("{}/{}/stat", proc_root, pid), 4096, &stat) ||
      !ParseProcStat(stat, &comm, &ppid, &ticks))
    return false;
  static const uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  const uint64_t want = start_ns / ns_per_tick;
  return ticks + 1 >= want && ticks <= want + 1;
}

}  // namespace

std::vector<v1::Event> SensorWatchSink::Posture(uint32_t pid, uint64_t start_ns,
                                                uint32_t agent_pid, uint64_t agent_start_ns) {
  constexpr size_t kMaxEnviron = 1 << 20;
  constexpr size_t kMaxConfig = 1 << 20;
  std::vector<v1::Event> out;
  const auto r = DefaultRedactor();
  auto emit = [&](uint32_t who, const char* subject, std::vector<PostureFinding> found) {
    for (PostureFinding& f : found) {
      v1::Event e;
      e.set_type(v1::EVENT_TYPE_POSTURE);
      e.set_time_unix_ns(NowUnixNs());
      e.set_ktime_ns(NowBoottimeNs());
      e.mutable_process()->set_pid(who);
      e.mutable_process()->set_tid(who);
      v1::PostureInfo* c = e.mutable_posture();
      c->set_subject(subject);
      c->set_source(std::move(f.source));
      c->set_name(std::move(f.name));
      c->set_kind(std::move(f.kind));
      c->set_fingerprint(std::move(f.fingerprint));
      c->set_detail(std::move(f.detail));
      out.push_back(std::move(e));
    }
  };
  // false when who is no longer the process discovered (its pid reused):
  // what was read of it is dropped.
  auto process = [&](uint32_t who, uint64_t started, const char* subject, std::string* environ) {
    environ->clear();
    if (!SameInstance(proc_root_, who, started)) return false;
    const std::string dir = fmt::format("{}/{}", proc_root_, who);
    std::vector<PostureFinding> found;
    if (ReadProcText(dir + "/environ", kMaxEnviron, environ)) {
      found = ScanEnvironment(*r, *environ);
    } else {
      spdlog::debug("msg=\"posture: environment not readable\" pid={} error=\"{}\"", who,
                    std::strerror(errno));
    }
    std::string cmdline;
    if (ReadProcText(dir + "/cmdline", kMaxEnviron, &cmdline)) {
      for (PostureFinding& f : ScanArguments(*r, SplitNul(cmdline))) found.push_back(std::move(f));
    }
    if (!SameInstance(proc_root_, who, started)) {
      environ->clear();
      return false;
    }
    emit(who, subject, std::move(found));
    return true;
  };
  std::string environ;
  process(pid, start_ns, "server", &environ);
  if (agent_pid == 0 || !process(agent_pid, agent_start_ns, "agent", &environ)) return out;
  // The agent's MCP configuration files, as the agent sees them (its
  // mount namespace, through /proc/PID/root): under its HOME and in its
  // working directory.
  std::vector<std::string> paths = McpConfigPathsInHome(EnvValue(environ, "HOME"));
  std::error_code ec;
  const std::filesystem::path cwd =
      std::filesystem::read_symlink(fmt::format("{}/{}/cwd", proc_root_, agent_pid), ec);
  if (!ec) {
    for (std::string& p : McpConfigPathsInProject(cwd.string())) paths.push_back(std::move(p));
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());  // cwd = HOME
  // Resolved inside the agent's root (no way out through an absolute
  // symlink or ..), and only files the agent's own user owns: the daemon
  // reads as root, the paths are the agent's to choose (HOME).
  struct stat agent_st {};
  const std::string root = fmt::format("{}/{}/root", proc_root_, agent_pid);
  if (stat(fmt::format("{}/{}", proc_root_, agent_pid).c_str(), &agent_st) != 0) return out;
  const int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return out;
  for (const std::string& path : paths) {
    std::string text;
    if (!ReadFileInRoot(root_fd, path, agent_st.st_uid, kMaxConfig, &text)) continue;
    std::string error;
    emit(agent_pid, "agent", ScanMcpConfig(*r, path, text, &error));
    if (!error.empty())
      spdlog::warn("msg=\"posture: MCP configuration is not valid JSON\" path=\"{}\" error=\"{}\"",
                   Printable(path), error);
  }
  close(root_fd);
  return out;
}

void HookHostTls(Sensor* sensor) {
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                          "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}) {
    for (const char* lib : {"libssl.so.3", "libssl.so.1.1"}) {
      std::string path = fmt::format("{}/{}", dir, lib);
      if (std::filesystem::exists(path)) sensor->HookTls(path, 0);
    }
  }
  for (const char* node : {"/usr/bin/node", "/usr/local/bin/node"}) {
    if (std::filesystem::exists(node)) sensor->HookTls(node, 0);
  }
}

}  // namespace agentwatch
