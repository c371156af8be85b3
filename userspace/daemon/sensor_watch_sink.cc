#include "daemon/sensor_watch_sink.h"

#include <filesystem>

#include <fmt/format.h>

#include "proc/process_files.h"

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
