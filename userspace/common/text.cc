#include "common/text.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace agentwatch {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  return fmt::format("E{}", err);
}

// The kernel's O_LARGEFILE bit (glibc defines O_LARGEFILE as 0 on 64-bit).
#if defined(__aarch64__)
constexpr uint32_t kLargeFile = 0400000;
#else
constexpr uint32_t kLargeFile = 0100000;
#endif

std::string OpenFlagsText(uint32_t flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: out = "O_RDONLY"; break;
    case O_WRONLY: out = "O_WRONLY"; break;
    case O_RDWR: out = "O_RDWR"; break;
    default: out = "O_ACCMODE"; break;
  }
  static constexpr struct {
    uint32_t bit;
    const char* name;
  } kBits[] = {
      {O_CREAT, "O_CREAT"},         {O_EXCL, "O_EXCL"},
      {O_NOCTTY, "O_NOCTTY"},       {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},       {O_NONBLOCK, "O_NONBLOCK"},
      {O_DSYNC, "O_DSYNC"},         {O_DIRECT, "O_DIRECT"},
      {kLargeFile, "O_LARGEFILE"},  {O_DIRECTORY, "O_DIRECTORY"},
      {O_NOFOLLOW, "O_NOFOLLOW"},   {O_NOATIME, "O_NOATIME"},
      {O_CLOEXEC, "O_CLOEXEC"},     {O_PATH, "O_PATH"},
      {__O_TMPFILE, "O_TMPFILE"},
  };
  uint32_t known = O_ACCMODE;
  for (const auto& b : kBits) {
    if (b.bit != 0 && (flags & b.bit) == b.bit) {
      out += '|';
      out += b.name;
    }
    known |= b.bit;
  }
  // O_SYNC includes O_DSYNC; report the remainder rather than guess.
  if (flags & ~known) out += fmt::format("|0x{:x}", flags & ~known);
  return out;
}

std::string NormalizePath(std::string_view path) {
  const bool absolute = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
      // skip
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  if (absolute) out = "/";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) out = absolute ? "/" : ".";
  return out;
}

std::string JoinPath(std::string_view base, std::string_view path) {
  if (!path.empty() && path[0] == '/') return NormalizePath(path);
  std::string joined(base);
  joined += '/';
  joined += path;
  return NormalizePath(joined);
}

std::vector<std::string> SplitNul(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('\0', i);
    if (j == std::string_view::npos) j = s.size();
    out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

std::string Basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

int SeverityRank(std::string_view s) {
  static constexpr std::string_view kRanks[] = {"info", "low", "medium", "high", "critical"};
  for (int i = 0; i < 5; ++i)
    if (s == kRanks[i]) return i;
  return -1;
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out += ' ';
    const std::string& a = argv[i];
    bool plain = !a.empty();
    for (unsigned char c : a) {
      if (!(isalnum(c) || strchr("-_./=:,@%+", c) != nullptr)) {
        plain = false;
        break;
      }
    }
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : Printable(a)) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out += c;
        }
      }
      out += '\'';
    }
  }
  return out;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  std::string p(pattern), t(text);
  return fnmatch(p.c_str(), t.c_str(), 0) == 0;
}

namespace {

// Splits "12.5h" into 12.5 and "h"; false if there is no leading number.
bool SplitNumber(const std::string& text, double* num, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  try {
    size_t pos = 0;
    *num = std::stod(text.substr(0, i), &pos);
    if (pos != i) return false;
  } catch (const std::exception&) {
    return false;
  }
  size_t j = i;
  while (j < text.size() && text[j] == ' ') ++j;
  *unit = text.substr(j);
  return true;
}

}  // namespace

std::string ParseDurationMs(const std::string& text, uint64_t* ms) {
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1000},     {"ms", 1},         {"s", 1000},      {"m", 60000},
      {"h", 3600000}, {"d", 86400000.0}, {"w", 604800000.0}};
  double num = 0;
  std::string unit;
  if (!SplitNumber(text, &num, &unit))
    return fmt::format("'{}' is not a duration (like 500ms, 30s, 15m, 12h, 7d)", text);
  for (const auto& [u, mult] : kUnits) {
    if (unit != u) continue;
    const double v = num * mult;
    if (v > 1e15) return fmt::format("'{}' is too long", text);
    *ms = static_cast<uint64_t>(v);
    return "";
  }
  return fmt::format("'{}': unknown unit '{}' (ms, s, m, h, d, w)", text, unit);
}

std::string ParseSize(const std::string& text, uint64_t* bytes) {
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},          {"B", 1},          {"KiB", 1024.0},   {"MiB", 1048576.0},
      {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"K", 1024.0},
      {"M", 1048576.0}, {"G", 1073741824.0}, {"KB", 1e3}, {"MB", 1e6},
      {"GB", 1e9},      {"TB", 1e12}};
  double num = 0;
  std::string unit;
  if (!SplitNumber(text, &num, &unit))
    return fmt::format("'{}' is not a size (like 512MiB or 2GiB)", text);
  for (const auto& [u, mult] : kUnits) {
    if (unit != u) continue;
    const double v = num * mult;
    if (v > 1e18) return fmt::format("'{}' is too large", text);
    *bytes = static_cast<uint64_t>(v);
    return "";
  }
  return fmt::format("'{}': unknown unit '{}' (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
                     text, unit);
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          out->append(fmt::format("\\u{:04x}", c));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonString(s, &out);
  return out;
}

const std::string& HostName() {
  static const std::string name = [] {
    char buf[256] = {};
    return gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string();
  }();
  return name;
}

const std::string& NodeName() {
  static const std::string name = [] {
    const char* n = getenv("NODE_NAME");
    return n != nullptr && *n != 0 ? std::string(n) : HostName();
  }();
  return name;
}

bool ReadFileText(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

bool SplitHostPort(const std::string& a, std::string* host, std::string* port) {
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  *host = a.substr(0, colon);
  *port = a.substr(colon + 1);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  return !host->empty();
}

std::string JoinHostPort(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace agentwatch
