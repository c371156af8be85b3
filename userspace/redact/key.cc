// The install's fingerprint key (state_dir/redaction.key).
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "common/text.h"
#include "redact/redactor.h"

namespace agentwatch {

std::string RandomRedactionKey() {
  unsigned char k[32];
  RAND_bytes(k, sizeof k);
  std::string hex;
  for (unsigned char c : k) hex += fmt::format("{:02x}", c);
  return hex;
}

std::string ReadRedactionKey(const std::string& state_dir) {
  std::string text;
  if (!ReadFileText(state_dir + "/redaction.key", &text)) return "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text.size() >= 32 ? text : "";
}

std::string LoadOrCreateRedactionKey(const std::string& state_dir, std::string* err) {
  const std::string path = state_dir + "/redaction.key";
  if (std::string key = ReadRedactionKey(state_dir); !key.empty()) return key;
  unsigned char k[32];
  if (RAND_bytes(k, sizeof k) != 1) {
    *err = "no random bytes for the redaction key";
    return "";
  }
  std::string hex;
  for (unsigned char c : k) hex += fmt::format("{:02x}", c);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = fmt::format("cannot create {}: {}", path, ErrnoName(errno));
    return "";
  }
  const std::string line = hex + "\n";
  const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!ok) {
    *err = fmt::format("cannot write {}", path);
    return "";
  }
  return hex;
}

}  // namespace agentwatch
