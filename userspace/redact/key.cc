// The install's fingerprint key (state_dir/redaction.key).
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string>

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

namespace {

// HMAC-SHA256 keyed once per thread and redactor: the one-shot HMAC()
// looks the digest up and hashes the key again for every mask.
struct MaskMac {
  uint64_t redactor = 0;
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  ~MaskMac() { Reset(); }
  void Reset() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    ctx = nullptr;
    mac = nullptr;
    redactor = 0;
  }
  bool Init(uint64_t id, const std::string& key) {
    Reset();
    mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac != nullptr) ctx = EVP_MAC_CTX_new(mac);
    if (ctx == nullptr) return false;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
        1) {
      Reset();
      return false;
    }
    redactor = id;
    return true;
  }
};

}  // namespace

namespace {

// The last masks this thread wrote: the same value comes back in message
// after message (an HTTP session's Mcp-Session-Id, a token an agent sends
// with every call), and a look-up costs less than an HMAC. Kept whole and
// compared whole; short values only.
struct RecentMask {
  uint64_t redactor = 0;
  std::string kind, value, mask;
};
constexpr size_t kRecentMasks = 16;
constexpr size_t kRecentMaskMax = 256;
thread_local std::array<RecentMask, kRecentMasks> g_recent_masks;
thread_local size_t g_recent_next = 0;

}  // namespace

std::string Redactor::Mask(std::string_view kind, std::string_view value) const {
  const bool keep = value.size() <= kRecentMaskMax;
  if (keep) {
    for (const RecentMask& r : g_recent_masks) {
      if (r.redactor == id_ && r.value == value && r.kind == kind) return r.mask;
    }
  }
  std::string mask = MaskUncached(kind, value);
  if (keep) {
    RecentMask& r = g_recent_masks[g_recent_next++ % kRecentMasks];
    r.redactor = id_;
    r.kind.assign(kind);
    r.value.assign(value);
    r.mask = mask;
  }
  return mask;
}

std::string Redactor::MaskUncached(std::string_view kind, std::string_view value) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  thread_local MaskMac m;
  size_t len = 0;
  // EVP_MAC_init without a key starts again with the key it was given.
  const bool keyed =
      (m.redactor == id_ || m.Init(id_, key_)) && EVP_MAC_init(m.ctx, nullptr, 0, nullptr) == 1 &&
      EVP_MAC_update(m.ctx, reinterpret_cast<const unsigned char*>(value.data()), value.size()) ==
          1 &&
      EVP_MAC_final(m.ctx, md, &len, sizeof(md)) == 1 && len >= 3;
  if (!keyed) {
    m.Reset();
    unsigned int n = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(value.data()), value.size(), md, &n);
  }
  return fmt::format("{}{}:{:02x}{:02x}{:02x}]", kRedactedPrefix, kind, md[0], md[1], md[2]);
}

}  // namespace agentwatch
