// Who holds the other end of a connection: the process table of the kernel
// read back from /proc, for pairing an MCP server with its client.
#ifndef AGENTWATCH_PROC_SOCKETS_H_
#define AGENTWATCH_PROC_SOCKETS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace agentwatch {

struct TcpEntry {
  std::string local;   // hex "ADDR:PORT" as /proc/net/tcp prints it
  std::string remote;
  uint64_t inode = 0;
};

// One line of /proc/net/tcp or tcp6; false for the header or a bad line.
bool ParseTcpLine(std::string_view line, TcpEntry* out);

// The socket connected to socket `inode` of process `pid` over TCP on the
// same host (loopback or a local address), found in pid's network
// namespace: its inode, or 0.
uint64_t TcpPeerInode(const std::string& proc_root, uint32_t pid,
                      uint64_t inode);

// A process with an open fd on socket:[inode] or pipe:[inode], other than
// `except`; 0 if none. With writer, only an fd open for writing counts
// (the writing end of a pipe). Scans every /proc/PID/fd: call rarely.
uint32_t FindInodeHolder(const std::string& proc_root, uint64_t inode,
                         uint32_t except, bool writer = false);

// The other socket of a connected unix socket (a socketpair, as Node and
// others give a child for its stdio), asked of the kernel over sock_diag
// in the daemon's network namespace; 0 if unknown.
uint64_t UnixPeerInode(uint64_t inode);

}  // namespace agentwatch

#endif  // AGENTWATCH_PROC_SOCKETS_H_
