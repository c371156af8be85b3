#include "proc/sockets.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace agentwatch {

bool ParseTcpLine(std::string_view line, TcpEntry* out) {
  // "  0: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000
  //  00000000     0        0 123456 1 ..."
  std::istringstream in{std::string(line)};
  std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
  if (!(in >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >>
        timeout >> inode))
    return false;
  if (sl.empty() || sl.back() != ':' || local.find(':') == std::string::npos ||
      remote.find(':') == std::string::npos)
    return false;
  char* end = nullptr;
  unsigned long long ino = std::strtoull(inode.c_str(), &end, 10);
  if (end == inode.c_str() || *end != '\0') return false;
  // An IPv4 peer of an IPv6 socket shows as ::ffff:a.b.c.d in tcp6 and as
  // a.b.c.d in tcp: compare them in the IPv4 form.
  auto v4 = [](const std::string& a) {
    constexpr std::string_view kMapped = "0000000000000000FFFF0000";
    if (a.size() == 32 + 5 && std::string_view(a).substr(0, 24) == kMapped)
      return a.substr(24);
    return a;
  };
  out->local = v4(local);
  out->remote = v4(remote);
  out->inode = ino;
  return true;
}

uint64_t TcpPeerInode(const std::string& proc_root, uint32_t pid,
                      uint64_t inode) {
  std::vector<TcpEntry> entries;
  for (const char* f : {"tcp", "tcp6"}) {
    std::ifstream in(proc_root + "/" + std::to_string(pid) + "/net/" + f);
    std::string line;
    while (std::getline(in, line)) {
      TcpEntry e;
      if (ParseTcpLine(line, &e)) entries.push_back(std::move(e));
    }
  }
  const TcpEntry* mine = nullptr;
  for (const auto& e : entries) {
    if (e.inode == inode) mine = &e;
  }
  if (mine == nullptr) return 0;
  for (const auto& e : entries) {
    if (e.inode != 0 && e.inode != inode && e.local == mine->remote &&
        e.remote == mine->local)
      return e.inode;
  }
  return 0;
}

uint32_t FindInodeHolder(const std::string& proc_root, uint64_t inode,
                         uint32_t except) {
  const std::string sock = "socket:[" + std::to_string(inode) + "]";
  const std::string pipe = "pipe:[" + std::to_string(inode) + "]";
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir(proc_root.c_str()), closedir);
  if (!proc) return 0;
  while (dirent* d = readdir(proc.get())) {
    char* end = nullptr;
    unsigned long pid = std::strtoul(d->d_name, &end, 10);
    if (end == d->d_name || *end != '\0' || pid == except) continue;
    const std::string fd_dir = proc_root + "/" + d->d_name + "/fd";
    std::unique_ptr<DIR, int (*)(DIR*)> fds(opendir(fd_dir.c_str()), closedir);
    if (!fds) continue;
    while (dirent* f = readdir(fds.get())) {
      if (f->d_name[0] == '.') continue;
      char target[64];
      ssize_t n = readlink((fd_dir + "/" + f->d_name).c_str(), target,
                           sizeof target - 1);
      if (n <= 0) continue;
      std::string_view t(target, static_cast<size_t>(n));
      if (t == sock || t == pipe) return static_cast<uint32_t>(pid);
    }
  }
  return 0;
}

}  // namespace agentwatch
