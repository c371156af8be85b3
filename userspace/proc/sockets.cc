#include "proc/sockets.h"

#include <dirent.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
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

namespace {

// Whether fd of pid is open for writing (fdinfo "flags:" is octal).
bool OpenForWriting(const std::string& proc_root, const char* pid,
                    const char* fd) {
  std::ifstream in(proc_root + "/" + pid + "/fdinfo/" + fd);
  std::string key, value;
  while (in >> key >> value) {
    if (key == "flags:") {
      const unsigned long flags = std::strtoul(value.c_str(), nullptr, 8);
      return (flags & 3) == 1 || (flags & 3) == 2;  // O_WRONLY, O_RDWR
    }
  }
  return false;
}

}  // namespace

uint64_t UnixPeerInode(uint64_t inode) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return 0;
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = ~0u;
  msg.req.udiag_ino = static_cast<uint32_t>(inode);
  msg.req.udiag_show = UDIAG_SHOW_PEER;
  msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;  // no cookie
  uint64_t peer = 0;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (send(fd, &msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); n > 0 && NLMSG_OK(h, n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) break;
      auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      if (m->udiag_ino != inode) continue;
      int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
      for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, len);
           a = RTA_NEXT(a, len)) {
        if (a->rta_type == UNIX_DIAG_PEER &&
            RTA_PAYLOAD(a) >= sizeof(uint32_t))
          peer = *static_cast<uint32_t*>(RTA_DATA(a));
      }
    }
  }
  close(fd);
  return peer;
}

uint32_t FindInodeHolder(const std::string& proc_root, uint64_t inode,
                         uint32_t except, bool writer) {
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
      if ((t == sock || t == pipe) &&
          (!writer || OpenForWriting(proc_root, d->d_name, f->d_name)))
        return static_cast<uint32_t>(pid);
    }
  }
  return 0;
}

}  // namespace agentwatch
