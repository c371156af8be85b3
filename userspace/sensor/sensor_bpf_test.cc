// The real probes in the real kernel: a watched child process works in a
// directory by relative paths, creates/renames/unlinks a file, binds,
// listens, accepts and connects on loopback, sends a DNS query over UDP and
// execs a grandchild; an unwatched sibling does the same. The events must
// carry the exact fields, and the sibling must produce no file or network
// events at all.
#include "sensor/sensor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "events.h"
#include "sensor/decode.h"

namespace agentwatch {
namespace {

constexpr char kDnsServer[] = "127.0.0.77";

bool RequireBpf() {
  const char* v = getenv("AGENTWATCH_REQUIRE_BPF");
  return v != nullptr && std::string(v) == "1";
}

// DNS query for name (dotted), type A.
// A TCP listener on 127.0.0.1 (an ephemeral port); -1 on failure. *addr
// gets its address.
int ListenLoopback(int backlog, sockaddr_in* addr) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(*addr);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(addr), sizeof(*addr)) != 0 ||
      listen(s, backlog) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(addr), &len) != 0) {
    if (s >= 0) close(s);
    return -1;
  }
  return s;
}

std::vector<uint8_t> DnsQuery(const std::string& name) {
  std::vector<uint8_t> q = {0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find('.', i);
    if (j == std::string::npos) j = name.size();
    q.push_back(static_cast<uint8_t>(j - i));
    q.insert(q.end(), name.begin() + i, name.begin() + j);
    i = j + 1;
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

struct Plan {
  std::string dir;        // absolute, no symlinks
  std::string tag;        // distinguishes the two children's files
  uint16_t listen_port;   // parent's TCP listener
  std::vector<uint8_t> dns;
  const char* true_path;
};

// Runs in the forked child; syscalls only (no allocation after fork).
[[noreturn]] void Workload(const Plan& p, int go_fd) {
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(90);
  if (chdir(p.dir.c_str()) != 0) _exit(91);
  char rel[64], renamed[64];
  snprintf(rel, sizeof(rel), "sub/%s.txt", p.tag.c_str());
  snprintf(renamed, sizeof(renamed), "sub/%s-renamed.txt", p.tag.c_str());
  int fd = open(rel, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) _exit(92);
  if (write(fd, "hello", 5) != 5) _exit(93);
  close(fd);
  if (rename(rel, renamed) != 0) _exit(94);
  if (unlink(renamed) != 0) _exit(95);

  // TCP: connect to the parent's listener, send 5 bytes.
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(p.listen_port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) _exit(96);
  if (send(s, "ping!", 5, 0) != 5) _exit(97);
  close(s);

  // Own listener: bind, listen, accept a connection from itself.
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in la{};
  la.sin_family = AF_INET;
  la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, reinterpret_cast<sockaddr*>(&la), sizeof(la)) != 0) _exit(98);
  if (listen(l, 4) != 0) _exit(99);
  socklen_t len = sizeof(la);
  getsockname(l, reinterpret_cast<sockaddr*>(&la), &len);
  int cl = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(cl, reinterpret_cast<sockaddr*>(&la), sizeof(la)) != 0) _exit(100);
  int a = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  if (a < 0) _exit(101);
  close(a);
  close(cl);
  close(l);

  // DNS over UDP to a loopback "resolver" (nobody needs to answer).
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in da{};
  da.sin_family = AF_INET;
  da.sin_port = htons(53);
  inet_pton(AF_INET, kDnsServer, &da.sin_addr);
  if (sendto(u, p.dns.data(), p.dns.size(), 0, reinterpret_cast<sockaddr*>(&da),
             sizeof(da)) != static_cast<ssize_t>(p.dns.size()))
    _exit(102);
  close(u);

  // Payload on a pipe: a write, a two-part writev, a write larger than the
  // capture cap, a last small write; then read it all back.
  int pp[2];
  if (pipe(pp) != 0) _exit(104);
  if (write(pp[1], "hello pipe\n", 11) != 11) _exit(105);
  iovec parts[2] = {{const_cast<char*>("ab"), 2}, {const_cast<char*>("cdef"), 4}};
  if (writev(pp[1], parts, 2) != 6) _exit(106);
  static char big[20000];
  memset(big, 'x', sizeof(big));
  if (write(pp[1], big, sizeof(big)) != sizeof(big)) _exit(107);
  if (write(pp[1], "end", 3) != 3) _exit(108);
  size_t total = 11 + 6 + sizeof(big) + 3, got = 0;
  while (got < total) {
    ssize_t n = read(pp[0], big, sizeof(big));
    if (n <= 0) _exit(109);
    got += n;
  }
  close(pp[0]);
  close(pp[1]);

  // A grandchild.
  pid_t g = fork();
  if (g == 0) {
    execl(p.true_path, "true", "--grandchild", static_cast<char*>(nullptr));
    _exit(103);
  }
  int st = 0;
  waitpid(g, &st, 0);
  _exit(7);
}

// Runs every test on the preferred hooks and on the fallback variants, so
// both are proven on this kernel.
class SensorBpfTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string err;
    bool ok = geteuid() == 0;
    SensorOptions opts;
    opts.fallback_only = GetParam();
    if (ok) {
      ok = sensor_.Start(
          opts,
          [this](std::span<const uint8_t> rec) {
            v1::Event ev;
            std::string e;
            if (DecodeRecord(rec, offset_, &ev, &e) != DecodeStatus::kOk) {
              ++bad_;
              return;
            }
            std::lock_guard<std::mutex> lock(mu_);
            events_.push_back(std::move(ev));
          },
          &err);
    } else {
      err = "not root";
    }
    if (!ok) {
      if (RequireBpf()) FAIL() << "BPF required but unavailable: " << err;
      GTEST_SKIP() << "BPF unavailable: " << err;
    }
    poller_ = std::thread([this] {
      while (!stop_) sensor_.Poll(50);
    });
  }

  void TearDown() override {
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    sensor_.Stop();
  }

  std::vector<v1::Event> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  // Waits until an exit event for pid arrives (the ring buffer is async).
  bool WaitExit(uint32_t pid) {
    for (int i = 0; i < 200; ++i) {
      for (const auto& e : Snapshot()) {
        if (e.type() == v1::EVENT_TYPE_EXIT && e.process().pid() == pid)
          return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  Sensor sensor_;
  int64_t offset_ = BootToUnixOffsetNs();
  std::mutex mu_;
  std::vector<v1::Event> events_;
  std::atomic<int> bad_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

TEST_P(SensorBpfTest, WatchedChildIsSeenInFullAndSiblingIsNot) {
  char tmpl[] = "/tmp/aw-bpf-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  char real[PATH_MAX];
  ASSERT_NE(realpath(tmpl, real), nullptr);
  const std::string dir = real;
  ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0755), 0);

  sockaddr_in la;
  int lsock = ListenLoopback(16, &la);
  ASSERT_GE(lsock, 0);
  const uint16_t port = ntohs(la.sin_port);

  const char* true_path = access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true"
                                                             : "/bin/true";
  Plan watched{dir, "watched", port, DnsQuery("bpf-test.agentwatch.test"),
               true_path};
  Plan sibling{dir, "sibling", port, DnsQuery("sibling.agentwatch.test"),
               true_path};

  int go_w[2], go_s[2];
  ASSERT_EQ(pipe2(go_w, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(go_s, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) Workload(watched, go_w[0]);
  pid_t sib = fork();
  if (sib == 0) Workload(sibling, go_s[0]);

  ASSERT_TRUE(sensor_.Watch(child, AW_WATCH_ON | AW_WATCH_INHERIT));
  ASSERT_EQ(write(go_w[1], "g", 1), 1);
  ASSERT_EQ(write(go_s[1], "g", 1), 1);
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7) << "workload status " << st;
  ASSERT_EQ(waitpid(sib, &st, 0), sib);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7) << "sibling status " << st;
  close(lsock);
  ASSERT_TRUE(WaitExit(child));
  ASSERT_TRUE(WaitExit(sib));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto events = Snapshot();
  EXPECT_EQ(bad_, 0);

  const uint32_t cpid = static_cast<uint32_t>(child);
  const uint32_t spid = static_cast<uint32_t>(sib);
  // Descendants of each child, from fork events.
  std::set<uint32_t> ctree = {cpid}, stree = {spid};
  for (const auto& e : events) {
    if (e.type() != v1::EVENT_TYPE_FORK || e.fork().thread()) continue;
    if (ctree.count(e.process().pid())) ctree.insert(e.fork().child_pid());
    if (stree.count(e.process().pid())) stree.insert(e.fork().child_pid());
  }
  ASSERT_EQ(ctree.size(), 2u) << "the grandchild's fork was not seen";
  ASSERT_EQ(stree.size(), 2u) << "the sibling's fork was not seen";
  const uint32_t grandchild =
      *std::find_if(ctree.begin(), ctree.end(), [&](uint32_t p) { return p != cpid; });

  const v1::Event *open = nullptr, *rename = nullptr, *unlink = nullptr,
                  *connect = nullptr, *close_ev = nullptr, *dns = nullptr,
                  *exec = nullptr, *exit_ev = nullptr, *fork_ev = nullptr,
                  *bind = nullptr, *listen = nullptr, *accept = nullptr,
                  *udp_close = nullptr;
  for (const auto& e : events) {
    const uint32_t pid = e.process().pid();
    if (stree.count(pid)) {
      // Unwatched: process lifecycle only.
      EXPECT_TRUE(e.type() == v1::EVENT_TYPE_FORK ||
                  e.type() == v1::EVENT_TYPE_EXEC ||
                  e.type() == v1::EVENT_TYPE_EXIT)
          << "unwatched sibling produced " << e.ShortDebugString();
      continue;
    }
    if (pid == grandchild && e.type() == v1::EVENT_TYPE_EXEC) exec = &e;
    if (pid != cpid) continue;
    switch (e.type()) {
      case v1::EVENT_TYPE_FILE_OPEN:
        if (e.file().raw_path() == "sub/watched.txt") open = &e;
        break;
      case v1::EVENT_TYPE_FILE_RENAME: rename = &e; break;
      case v1::EVENT_TYPE_FILE_UNLINK: unlink = &e; break;
      case v1::EVENT_TYPE_NET_CONNECT:
        if (e.net().remote().port() == port) connect = &e;
        break;
      case v1::EVENT_TYPE_NET_CLOSE:
        if (e.net().remote().port() == port) close_ev = &e;
        if (e.net().protocol() == "udp") udp_close = &e;
        break;
      case v1::EVENT_TYPE_NET_BIND: bind = &e; break;
      case v1::EVENT_TYPE_NET_LISTEN: listen = &e; break;
      case v1::EVENT_TYPE_NET_ACCEPT: accept = &e; break;
      case v1::EVENT_TYPE_DNS_QUERY: dns = &e; break;
      case v1::EVENT_TYPE_EXIT: exit_ev = &e; break;
      case v1::EVENT_TYPE_FORK: fork_ev = &e; break;
      default: break;
    }
  }

  ASSERT_NE(open, nullptr) << "no open event for the relative path";
  EXPECT_EQ(open->file().path(), dir + "/sub/watched.txt");
  EXPECT_TRUE(open->file().resolved());
  EXPECT_FALSE(open->file().truncated());
  EXPECT_EQ(open->file().syscall(), "openat");
  EXPECT_GE(open->file().result(), 0);
  EXPECT_TRUE(open->file().flags() & O_CREAT);
  EXPECT_EQ(open->file().mode(), 0640u);
  EXPECT_NE(open->file().inode(), 0u);
  EXPECT_TRUE(open->process().watched());
  EXPECT_EQ(open->process().tid(), cpid);

  ASSERT_NE(rename, nullptr);
  EXPECT_EQ(rename->file().path(), dir + "/sub/watched.txt");
  EXPECT_EQ(rename->file().new_path(), dir + "/sub/watched-renamed.txt");
  EXPECT_EQ(rename->file().result(), 0);

  ASSERT_NE(unlink, nullptr);
  EXPECT_EQ(unlink->file().path(), dir + "/sub/watched-renamed.txt");
  EXPECT_EQ(unlink->file().result(), 0);

  ASSERT_NE(connect, nullptr);
  EXPECT_EQ(connect->net().remote().address(), "127.0.0.1");
  EXPECT_EQ(connect->net().remote().family(), "inet");
  EXPECT_EQ(connect->net().protocol(), "tcp");
  EXPECT_EQ(connect->net().result(), 0);
  EXPECT_EQ(connect->net().local().address(), "127.0.0.1");
  EXPECT_NE(connect->net().local().port(), 0u);

  ASSERT_NE(close_ev, nullptr) << "no byte count at close";
  EXPECT_EQ(close_ev->net().bytes_sent(), 5u);
  EXPECT_EQ(close_ev->net().bytes_received(), 0u);

  // The UDP socket's count arrives at close() (fallback) or at process exit
  // (preferred: only TCP has a close tracepoint), with its endpoints either
  // way.
  ASSERT_NE(udp_close, nullptr) << "no byte count for the UDP socket";
  EXPECT_EQ(udp_close->net().bytes_sent(), watched.dns.size());
  EXPECT_EQ(udp_close->net().local().family(), "inet");
  EXPECT_NE(udp_close->net().local().port(), 0u);
  EXPECT_EQ(udp_close->net().syscall(), GetParam() ? "close" : "exit");

  ASSERT_NE(bind, nullptr);
  EXPECT_EQ(bind->net().local().address(), "127.0.0.1");
  EXPECT_EQ(bind->net().result(), 0);
  ASSERT_NE(listen, nullptr);
  EXPECT_EQ(listen->net().backlog(), 4u);
  EXPECT_NE(listen->net().local().port(), 0u);
  ASSERT_NE(accept, nullptr);
  EXPECT_EQ(accept->net().syscall(), "accept4");
  EXPECT_EQ(accept->net().local().port(), listen->net().local().port());
  EXPECT_EQ(accept->net().remote().address(), "127.0.0.1");
  EXPECT_GE(accept->net().result(), 0);

  ASSERT_NE(dns, nullptr);
  ASSERT_EQ(dns->dns().names_size(), 1);
  EXPECT_EQ(dns->dns().names(0), "bpf-test.agentwatch.test.");
  EXPECT_EQ(dns->dns().qtypes(0), "A");
  EXPECT_EQ(dns->dns().server().address(), kDnsServer);
  EXPECT_EQ(dns->dns().server().port(), 53u);

  ASSERT_NE(fork_ev, nullptr);
  EXPECT_TRUE(fork_ev->fork().child_watched());
  EXPECT_FALSE(fork_ev->fork().thread());
  ASSERT_NE(exec, nullptr) << "grandchild exec not seen";
  EXPECT_EQ(exec->exec().filename(), true_path);
  EXPECT_EQ(exec->process().ppid(), cpid);
  EXPECT_TRUE(exec->process().watched()) << "watch not inherited at fork";
  ASSERT_EQ(exec->exec().argv_size(), 2);
  EXPECT_EQ(exec->exec().argv(1), "--grandchild");
  EXPECT_EQ(exec->exec().cwd(), dir);

  ASSERT_NE(exit_ev, nullptr);
  EXPECT_EQ(exit_ev->exit().exit_code(), 7);
  EXPECT_EQ(exit_ev->exit().signal(), 0);

  // Payload: every byte written to the pipe, by stream offset; the capture
  // cap (16384 per syscall) leaves a gap that the offsets make explicit.
  std::map<uint64_t, const v1::Event*> out_chunks;
  uint64_t pipe_in_bytes = 0, big_captured = 0;
  bool big_truncated = false;
  const v1::Event* tcp_out = nullptr;
  for (const auto& e : events) {
    if (e.type() != v1::EVENT_TYPE_PAYLOAD || e.process().pid() != cpid) continue;
    const auto& p = e.payload();
    if (p.file_type() == "socket" && p.direction() == "out" &&
        p.data() == "ping!") {
      tcp_out = &e;
    }
    if (p.file_type() != "pipe") continue;
    if (p.direction() == "in") {
      pipe_in_bytes += p.data().size();
      continue;
    }
    out_chunks[p.offset()] = &e;
    if (p.syscall_length() == 20000) {
      big_captured += p.data().size();
      big_truncated |= p.truncated();
    }
  }
  ASSERT_NE(tcp_out, nullptr) << "TCP send not captured";
  EXPECT_EQ(tcp_out->payload().syscall(), "sendto");
  ASSERT_TRUE(out_chunks.count(0));
  EXPECT_EQ(out_chunks[0]->payload().data(), "hello pipe\n");
  EXPECT_EQ(out_chunks[0]->payload().syscall(), "write");
  ASSERT_TRUE(out_chunks.count(11) && out_chunks.count(13));
  EXPECT_EQ(out_chunks[11]->payload().data(), "ab");
  EXPECT_EQ(out_chunks[13]->payload().data(), "cdef");
  EXPECT_EQ(out_chunks[13]->payload().syscall(), "writev");
  EXPECT_EQ(big_captured, 16384u);
  EXPECT_TRUE(big_truncated);
  ASSERT_TRUE(out_chunks.count(17 + 20000)) << "offset after the cut-off write";
  EXPECT_EQ(out_chunks[17 + 20000]->payload().data(), "end");
  // Reads: 11 + 6 + 3 bytes in small reads plus whatever of the big one
  // fitted under the cap; at least the small ones.
  EXPECT_GE(pipe_in_bytes, 20u);

  rmdir((dir + "/sub").c_str());
  rmdir(dir.c_str());
}

// Discovery: a process that is not watched but execs with pipes for stdin
// and stdout has its first probe_bytes per direction captured on fds 0 and
// 1 (and nothing else); one marked "not MCP" is left alone; a process that
// accepts a TCP connection has that connection's first bytes captured.
TEST_P(SensorBpfTest, DiscoveryProbesStdioAndAcceptedConnections) {
  const char* cat = access("/usr/bin/cat", X_OK) == 0 ? "/usr/bin/cat" : "/bin/cat";
  // Starts cat with pipes on its stdio; returns its pid and our pipe ends.
  auto start_cat = [&](int* to, int* from) {
    int in[2], out[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    pid_t c = fork();
    if (c == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      execl(cat, "cat", static_cast<char*>(nullptr));
      _exit(120);
    }
    close(in[0]);
    close(out[1]);
    *to = in[1];
    *from = out[0];
    return static_cast<uint32_t>(c);
  };
  auto wait_probed_exec = [&](uint32_t pid) {
    for (int i = 0; i < 200; ++i) {
      for (const auto& e : Snapshot()) {
        if (e.type() == v1::EVENT_TYPE_EXEC && e.process().pid() == pid)
          return e.exec().stdio_probed();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  // Pumps n bytes through cat and closes it.
  auto pump = [](int to, int from, size_t n) {
    std::thread reader([from] {
      char buf[8192];
      while (read(from, buf, sizeof buf) > 0) {
      }
    });
    std::string chunk(1000, '{');
    for (size_t sent = 0; sent < n; sent += chunk.size())
      ASSERT_EQ(write(to, chunk.data(), chunk.size()), ssize_t(chunk.size()));
    close(to);
    reader.join();
    close(from);
  };

  int to1, from1, to2, from2;
  const uint32_t probed = start_cat(&to1, &from1);
  const uint32_t refused = start_cat(&to2, &from2);
  ASSERT_TRUE(wait_probed_exec(probed)) << "exec with pipe stdio not probed";
  ASSERT_TRUE(wait_probed_exec(refused));
  ASSERT_TRUE(sensor_.Watch(refused, AW_WATCH_NOT_MCP));
  pump(to1, from1, 40000);
  pump(to2, from2, 40000);
  waitpid(probed, nullptr, 0);
  waitpid(refused, nullptr, 0);

  // A TCP server that is not watched: accept, read, and read a pipe too.
  sockaddr_in la;
  int lsock = ListenLoopback(4, &la);
  ASSERT_GE(lsock, 0);
  pid_t srv = fork();
  if (srv == 0) {
    int a = accept4(lsock, nullptr, nullptr, SOCK_CLOEXEC);
    char buf[256];
    if (a < 0 || read(a, buf, sizeof buf) <= 0) _exit(121);
    int pp[2];
    if (pipe(pp) != 0 || write(pp[1], "x", 1) != 1 || read(pp[0], buf, 1) != 1)
      _exit(122);
    _exit(0);
  }
  close(lsock);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&la), sizeof(la)), 0);
  const std::string req =
      "POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
  ASSERT_EQ(write(c, req.data(), req.size()), ssize_t(req.size()));
  int st = 0;
  ASSERT_EQ(waitpid(srv, &st, 0), srv);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  close(c);
  ASSERT_TRUE(WaitExit(probed));
  ASSERT_TRUE(WaitExit(static_cast<uint32_t>(srv)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::map<std::pair<int, std::string>, uint64_t> bytes;  // (fd, dir)
  std::map<std::pair<int, std::string>, uint64_t> next_offset;
  std::string server_got;
  for (const auto& e : Snapshot()) {
    const uint32_t pid = e.process().pid();
    if (pid == refused) {
      EXPECT_NE(e.type(), v1::EVENT_TYPE_PAYLOAD)
          << "a process marked not-MCP was still probed";
    }
    if (e.type() != v1::EVENT_TYPE_PAYLOAD) continue;
    if (pid == probed) {
      const auto& p = e.payload();
      EXPECT_TRUE(p.discovery());
      EXPECT_FALSE(e.process().watched());
      EXPECT_TRUE(p.fd() == 0 || p.fd() == 1) << p.ShortDebugString();
      auto k = std::make_pair(p.fd(), p.direction());
      EXPECT_EQ(p.offset(), next_offset[k]) << "chunks of a probe are contiguous";
      next_offset[k] = p.offset() + p.data().size();
      bytes[k] += p.data().size();
    }
    if (pid == static_cast<uint32_t>(srv)) {
      EXPECT_TRUE(e.payload().discovery());
      EXPECT_EQ(e.payload().file_type(), "socket") << "only the accepted socket";
      server_got += e.payload().data();
    }
  }
  const uint64_t budget = SensorOptions{}.probe_bytes;
  EXPECT_EQ((bytes[{0, "in"}]), budget) << "stdin: the first probe_bytes";
  EXPECT_EQ((bytes[{1, "out"}]), budget) << "stdout: the first probe_bytes";
  EXPECT_EQ(bytes.size(), 2u);
  EXPECT_EQ(server_got, req);
}

TEST_P(SensorBpfTest, StatusReportsHookTypesAndAttachments) {
  bool tracepoint = false;
  for (const auto& h : sensor_.hook_types()) {
    if (h.hook_type() == "tracepoint") tracepoint = h.available();
    if (!h.available()) {
      EXPECT_FALSE(h.detail().empty()) << h.hook_type();
    }
  }
  EXPECT_TRUE(tracepoint);
  std::map<std::string, int> by_cap;
  std::set<std::string> hooks;
  for (const auto& p : sensor_.probes()) {
    by_cap[p.capability()] += p.attached();
    if (p.attached()) hooks.insert(p.hook_type());
    if (!p.attached()) {
      EXPECT_FALSE(p.detail().empty()) << p.program();
    }
  }
  for (const char* cap : {"process.exec", "process.fork", "process.exit"}) {
    EXPECT_EQ(by_cap[cap], 1) << cap << ": exactly one variant attached";
  }
  EXPECT_EQ(by_cap["net.bytes"], 3);
  if (GetParam()) {
    // Fallback: classic tracepoints only, enter/exit pairs for syscalls.
    EXPECT_EQ(hooks, std::set<std::string>{"tracepoint"});
    EXPECT_EQ(by_cap["file.open"], 8);
    EXPECT_EQ(by_cap["net.connect"], 2);
    EXPECT_EQ(by_cap["net.dns"], 6);
  } else {
    EXPECT_EQ(hooks, (std::set<std::string>{"tp_btf", "tracepoint"}));
    EXPECT_EQ(by_cap["file.open"], 4);
    EXPECT_EQ(by_cap["net.connect"], 1);
    EXPECT_EQ(by_cap["net.dns"], 3);
  }
  EXPECT_TRUE(sensor_.healthy());
}

TEST_P(SensorBpfTest, WatchedExecutableIsMarkedByTheKernelAtExec) {
  const char* true_path = access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true"
                                                             : "/bin/true";
  ASSERT_TRUE(sensor_.SetWatchedExecutables({true_path},
                                            AW_WATCH_ON | AW_WATCH_INHERIT));
  pid_t c = fork();
  if (c == 0) {
    execl(true_path, "true", static_cast<char*>(nullptr));
    _exit(1);
  }
  int st = 0;
  waitpid(c, &st, 0);
  ASSERT_TRUE(WaitExit(c));
  bool exec_watched = false, opened = false;
  for (const auto& e : Snapshot()) {
    if (e.process().pid() != static_cast<uint32_t>(c)) continue;
    if (e.type() == v1::EVENT_TYPE_EXEC) {
      exec_watched = e.process().watched() && e.exec().watched_from_exec();
    }
    // The dynamic loader's first open happens before userspace could react.
    if (e.type() == v1::EVENT_TYPE_FILE_OPEN) opened = true;
  }
  EXPECT_TRUE(exec_watched);
  EXPECT_TRUE(opened);
  ASSERT_TRUE(sensor_.SetWatchedExecutables({}, 0));
}

INSTANTIATE_TEST_SUITE_P(Hooks, SensorBpfTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Fallback" : "Preferred";
                         });

}  // namespace
}  // namespace agentwatch
