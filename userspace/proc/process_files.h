// What a process's /proc entries say about the files it holds: whether an
// fd is a pipe or socket, its executable, the libraries it maps and which
// TLS implementation those are. The parsers are pure functions over the
// text /proc gives; the readers beside them do the I/O.
#ifndef AGENTWATCH_PROC_PROCESS_FILES_H_
#define AGENTWATCH_PROC_PROCESS_FILES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentwatch {

// A /proc/PID/fd link target names a pipe or a socket ("pipe:[123]",
// "socket:[456]"): the fds whose bytes discovery captures.
bool IsIpcLinkTarget(std::string_view target);

// The distinct file paths a /proc/PID/maps text maps, in first-seen order
// (anonymous and special mappings skipped).
std::vector<std::string> ParseMappedPaths(std::string_view maps);

// A process's TLS libraries, from the paths it maps: OpenSSL's libssl
// (whose SSL_read/SSL_write are hooked) and others whose plaintext is not
// captured, named (gnutls, nss, mbedtls, wolfssl, boringssl, rustls).
struct TlsLibraries {
  std::vector<std::string> openssl;                          // paths
  std::vector<std::pair<std::string, std::string>> others;  // (path, library)
};
TlsLibraries ClassifyTlsLibraries(const std::vector<std::string>& paths);

// An executable that carries OpenSSL itself (node, bun): hooked at exec,
// before any library is mapped.
bool EmbedsOpenSsl(std::string_view exe_path);

// Readers under proc_root ("/proc"): false or empty when the process is
// gone or unreadable.
bool FdIsIpc(const std::string& proc_root, uint32_t pid, int fd);
bool ReadExePath(const std::string& proc_root, uint32_t pid, std::string* path);
std::vector<std::string> ReadMappedPaths(const std::string& proc_root, uint32_t pid);

}  // namespace agentwatch

#endif  // AGENTWATCH_PROC_PROCESS_FILES_H_
