// Small text helpers shared by the decoders and the CLI.
#ifndef AGENTWATCH_COMMON_TEXT_H_
#define AGENTWATCH_COMMON_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentwatch {

// "ENOENT" for 2; "E<n>" when the number has no name.
std::string ErrnoName(int err);

// "O_WRONLY|O_CREAT|O_CLOEXEC" for open(2) flags.
std::string OpenFlagsText(uint32_t flags);

// Lexically normalises an absolute path: collapses "//", "." and "..".
// A relative input is returned with the same treatment but no leading "/".
std::string NormalizePath(std::string_view path);

// Joins base (absolute) and a path the process passed; an absolute path
// ignores base.
std::string JoinPath(std::string_view base, std::string_view path);

// Splits NUL-separated strings (argv as the kernel stores it). A trailing
// NUL does not make an empty last element.
std::vector<std::string> SplitNul(std::string_view s);

// Makes bytes printable for logs and tables: printable ASCII as is, other
// bytes as \xNN.
std::string Printable(std::string_view s);

// Appends code point cp as UTF-8 (cp below U+110000).
void AppendUtf8(uint32_t cp, std::string* out);

// The value of a base64 character of either alphabet (standard or URL), or
// -1.
int Base64Value(unsigned char c);

// The last component of a path ("node" for "/usr/bin/node").
std::string Basename(std::string_view path);

// Rank of an alert severity: 0 (info), 1 (low), 2 (medium), 3 (high),
// 4 (critical); -1 if it is none of these.
int SeverityRank(std::string_view severity);

// Shell-style quoting of argv for human output.
std::string JoinArgv(const std::vector<std::string>& argv);

// Glob match (fnmatch semantics with FNM_PATHNAME off: '*' matches '/').
bool GlobMatch(std::string_view pattern, std::string_view text);

// s as a JSON string literal (quoted; '"', '\\' and control characters
// escaped), appended to out / returned.
void AppendJsonString(std::string_view s, std::string* out);
std::string JsonString(std::string_view s);

// This host's name (gethostname, read once).
const std::string& HostName();

// The node this host is in a cluster: $NODE_NAME (the DaemonSet sets it
// from spec.nodeName), else the host name.
const std::string& NodeName();

// The whole content of a file into *out; false when it cannot be opened.
bool ReadFileText(const std::string& path, std::string* out);

// "host:port" or "[v6]:port" (brackets removed from host); false when
// either part is missing.
bool SplitHostPort(const std::string& address, std::string* host, std::string* port);

// The reverse: "host:port", "[v6]:port" when host has a colon.
std::string JoinHostPort(const std::string& host, const std::string& port);

// localhost, 127.0.0.0/8 or ::1 (a literal address or "localhost").
bool IsLoopbackHost(const std::string& host);

}  // namespace agentwatch

namespace agentwatch {

// "90s", "15m", "12h", "7d", "500ms", or a bare number of seconds, as ms.
// Returns "" or the error.
std::string ParseDurationMs(const std::string& text, uint64_t* ms);
// "1GiB", "512MiB", "64KiB", "10MB", "1G", or a bare number of bytes.
std::string ParseSize(const std::string& text, uint64_t* bytes);

}  // namespace agentwatch

#endif  // AGENTWATCH_COMMON_TEXT_H_
