#include "proc/process_files.h"

#include <unistd.h>

#include <set>

#include <fmt/format.h>

#include "common/text.h"

namespace agentwatch {
namespace {

// TLS libraries whose plaintext is not captured (only OpenSSL's API is
// hooked), by file name prefix.
const std::pair<const char*, const char*> kUnhookable[] = {
    {"libgnutls.so", "gnutls"},   {"libnss3.so", "nss"},
    {"libmbedtls.so", "mbedtls"}, {"libwolfssl.so", "wolfssl"},
    {"libboringssl", "boringssl"}, {"librustls", "rustls"}};

bool ReadLink(const std::string& link, std::string* out) {
  char target[4096];
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  out->assign(target, static_cast<size_t>(n));
  return true;
}

}  // namespace

bool IsIpcLinkTarget(std::string_view t) {
  return t.rfind("pipe:", 0) == 0 || t.rfind("socket:", 0) == 0;
}

std::vector<std::string> ParseMappedPaths(std::string_view maps) {
  std::vector<std::string> out;
  std::set<std::string, std::less<>> seen;
  size_t pos = 0;
  while (pos < maps.size()) {
    size_t end = maps.find('\n', pos);
    if (end == std::string_view::npos) end = maps.size();
    std::string_view line = maps.substr(pos, end - pos);
    pos = end + 1;
    size_t slash = line.find('/');
    if (slash == std::string_view::npos) continue;
    std::string_view path = line.substr(slash);
    if (seen.insert(std::string(path)).second) out.emplace_back(path);
  }
  return out;
}

TlsLibraries ClassifyTlsLibraries(const std::vector<std::string>& paths) {
  TlsLibraries t;
  for (const auto& path : paths) {
    const std::string base = Basename(path);
    if (base.rfind("libssl.so", 0) == 0) {
      t.openssl.push_back(path);
      continue;
    }
    for (const auto& [prefix, lib] : kUnhookable) {
      if (base.rfind(prefix, 0) == 0) t.others.emplace_back(path, lib);
    }
  }
  return t;
}

bool EmbedsOpenSsl(std::string_view exe_path) {
  const std::string base = Basename(exe_path);
  return base == "node" || base == "nodejs" || base == "bun";
}

bool FdIsIpc(const std::string& proc_root, uint32_t pid, int fd) {
  std::string target;
  return ReadLink(fmt::format("{}/{}/fd/{}", proc_root, pid, fd), &target) &&
         IsIpcLinkTarget(target);
}

bool ReadExePath(const std::string& proc_root, uint32_t pid, std::string* path) {
  return ReadLink(fmt::format("{}/{}/exe", proc_root, pid), path);
}

std::vector<std::string> ReadMappedPaths(const std::string& proc_root, uint32_t pid) {
  std::string text;
  if (!ReadFileText(fmt::format("{}/{}/maps", proc_root, pid), &text)) return {};
  return ParseMappedPaths(text);
}

}  // namespace agentwatch
