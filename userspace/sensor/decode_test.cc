#include "sensor/decode.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "events.h"

namespace agentwatch {
namespace {

using std::string_literals::operator""s;

void Hdr(aw_hdr* h, uint32_t type, uint32_t size) {
  h->ts_ns = 5'000'000'000;
  h->type = type;
  h->size = size;
  h->pid = 42;
  h->tid = 43;
  h->uid = 1000;
  h->gid = 1000;
  h->cgroup_id = 77;
  std::strcpy(h->comm, "node");
  h->flags = AW_HDR_WATCHED;
}

// Appends sections to a var record's data and returns the record bytes.
template <typename T>
std::vector<uint8_t> VarRecord(T* e, uint32_t type,
                               const std::vector<std::string>& secs) {
  size_t off = 0;
  for (size_t i = 0; i < secs.size(); ++i) {
    std::memcpy(e->data + off, secs[i].data(), secs[i].size());
    e->sec_len[i] = static_cast<uint16_t>(secs[i].size());
    off += secs[i].size();
  }
  size_t size = offsetof(T, data) + off;
  Hdr(&e->hdr, type, static_cast<uint32_t>(size));
  const uint8_t* p = reinterpret_cast<const uint8_t*>(e);
  return std::vector<uint8_t>(p, p + size);
}

TEST(DecodeTest, Exec) {
  auto* e = new aw_exec_event{};
  e->ppid = 7;
  e->start_ns = 4'000'000'000;
  e->sec_flags = AW_PATH_ROOT;
  auto rec = VarRecord(e, AW_EV_EXEC,
                       {"/usr/bin/node\0"s, "node\0server.js\0--root\0/tmp\0"s,
                        "work\0home\0"s});
  delete e;
  v1::Event ev;
  std::string err;
  ASSERT_EQ(DecodeRecord(rec, 1000, &ev, &err), DecodeStatus::kOk) << err;
  EXPECT_EQ(ev.type(), v1::EVENT_TYPE_EXEC);
  EXPECT_EQ(ev.time_unix_ns(), 5'000'001'000);
  EXPECT_EQ(ev.process().pid(), 42u);
  EXPECT_EQ(ev.process().tid(), 43u);
  EXPECT_EQ(ev.process().ppid(), 7u);
  EXPECT_EQ(ev.process().comm(), "node");
  EXPECT_TRUE(ev.process().watched());
  EXPECT_EQ(ev.exec().filename(), "/usr/bin/node");
  ASSERT_EQ(ev.exec().argv_size(), 4);
  EXPECT_EQ(ev.exec().argv(1), "server.js");
  EXPECT_EQ(ev.exec().cwd(), "/home/work");
  EXPECT_TRUE(ev.exec().watched_from_exec());
}

TEST(DecodeTest, OpenUsesKernelResolvedPath) {
  auto* e = new aw_file_event{};
  e->ret = 5;
  e->dfd = -100;
  e->flags = O_RDONLY | O_CLOEXEC;
  e->syscall = AW_SC_OPENAT;
  e->sec_flags = AW_PATH_ROOT | AW_PATH_ROOT2;
  e->ino = 99;
  auto rec = VarRecord(e, AW_EV_FILE_OPEN,
                       {"../secret.txt\0"s, "sub\0tmp\0"s,
                        "secret.txt\0real\0tmp\0"s});
  delete e;
  v1::Event ev;
  std::string err;
  ASSERT_EQ(DecodeRecord(rec, 0, &ev, &err), DecodeStatus::kOk) << err;
  EXPECT_EQ(ev.type(), v1::EVENT_TYPE_FILE_OPEN);
  EXPECT_EQ(ev.file().path(), "/tmp/real/secret.txt");  // symlinks resolved
  EXPECT_EQ(ev.file().raw_path(), "../secret.txt");
  EXPECT_TRUE(ev.file().resolved());
  EXPECT_FALSE(ev.file().truncated());
  EXPECT_EQ(ev.file().flags_text(), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(ev.file().result(), 5);
  EXPECT_EQ(ev.file().syscall(), "openat");
  EXPECT_EQ(ev.file().inode(), 99u);
}

TEST(DecodeTest, FailedOpenJoinsBaseDir) {
  auto* e = new aw_file_event{};
  e->ret = -2;
  e->syscall = AW_SC_OPENAT;
  e->sec_flags = AW_PATH_ROOT;
  auto rec = VarRecord(e, AW_EV_FILE_OPEN, {"./nope\0"s, "x\0tmp\0"s, ""s});
  delete e;
  v1::Event ev;
  std::string err;
  ASSERT_EQ(DecodeRecord(rec, 0, &ev, &err), DecodeStatus::kOk) << err;
  EXPECT_EQ(ev.file().path(), "/tmp/x/nope");
  EXPECT_FALSE(ev.file().resolved());
  EXPECT_EQ(ev.file().error(), "ENOENT");
}

TEST(DecodeTest, RenameSameBase) {
  auto* e = new aw_file_event{};
  e->syscall = AW_SC_RENAMEAT2;
  e->sec_flags = AW_PATH_ROOT | AW_SAME_BASE;
  auto rec = VarRecord(e, AW_EV_FILE_RENAME,
                       {"a.txt\0"s, "d\0tmp\0"s, "b.txt\0"s, ""s});
  delete e;
  v1::Event ev;
  std::string err;
  ASSERT_EQ(DecodeRecord(rec, 0, &ev, &err), DecodeStatus::kOk) << err;
  EXPECT_EQ(ev.file().path(), "/tmp/d/a.txt");
  EXPECT_EQ(ev.file().new_path(), "/tmp/d/b.txt");
}

TEST(DecodeTest, Connect) {
  aw_net_event e{};
  Hdr(&e.hdr, AW_EV_NET_CONNECT, sizeof(e));
  e.ret = -111;
  e.fd = 3;
  e.syscall = AW_SC_CONNECT;
  e.sock_type = SOCK_STREAM;
  e.protocol = IPPROTO_TCP;
  e.remote.family = AF_INET;
  e.remote.port = 8080;
  e.remote.addr[0] = 127;
  e.remote.addr[3] = 1;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&e);
  v1::Event ev;
  std::string err;
  ASSERT_EQ(DecodeRecord({p, sizeof(e)}, 0, &ev, &err), DecodeStatus::kOk);
  EXPECT_EQ(ev.type(), v1::EVENT_TYPE_NET_CONNECT);
  EXPECT_EQ(ev.net().remote().address(), "127.0.0.1");
  EXPECT_EQ(ev.net().remote().port(), 8080u);
  EXPECT_EQ(ev.net().protocol(), "tcp");
  EXPECT_EQ(ev.net().error(), "ECONNREFUSED");
  EXPECT_FALSE(ev.net().has_local());
}

TEST(DecodeTest, Dns) {
  aw_dns_event e{};
  const uint8_t q[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                       3, 'a', 'b', 'c', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  std::memcpy(e.payload, q, sizeof(q));
  e.len = sizeof(q);
  e.orig_len = sizeof(q);
  e.remote.family = AF_INET;
  e.remote.port = 53;
  size_t size = offsetof(aw_dns_event, payload) + sizeof(q);
  Hdr(&e.hdr, AW_EV_NET_DNS, static_cast<uint32_t>(size));
  v1::Event ev;
  std::string err;
  ASSERT_EQ(DecodeRecord({reinterpret_cast<const uint8_t*>(&e), size}, 0, &ev,
                         &err),
            DecodeStatus::kOk)
      << err;
  EXPECT_EQ(ev.type(), v1::EVENT_TYPE_DNS_QUERY);
  ASSERT_EQ(ev.dns().names_size(), 1);
  EXPECT_EQ(ev.dns().names(0), "abc.test.");
  EXPECT_EQ(ev.dns().qtypes(0), "A");
  EXPECT_EQ(ev.dns().id(), 0x1234u);
  EXPECT_FALSE(ev.dns().malformed());
}

// Evasion records name their mechanism: a syscall, or a budget spent.
TEST(DecodeTest, EvasionMechanisms) {
  auto decode = [](uint32_t flags, uint32_t syscall, int64_t ret) {
    aw_evade_event e{};
    Hdr(&e.hdr, AW_EV_EVADE, sizeof(e));
    e.ret = ret;
    e.fd = 1;
    e.fd2 = -1;
    e.syscall = syscall;
    e.flags = flags;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(&e);
    v1::Event ev;
    std::string err;
    EXPECT_EQ(DecodeRecord(std::vector<uint8_t>(p, p + sizeof(e)), 0, &ev, &err),
              DecodeStatus::kOk)
        << err;
    EXPECT_EQ(ev.type(), v1::EVENT_TYPE_CAPTURE_EVADED);
    return ev.evasion();
  };
  v1::EvasionInfo x = decode(0, AW_SC_TEE, 4096);
  EXPECT_EQ(x.mechanism(), "tee");
  x = decode(AW_EVADE_BUDGET | AW_EVADE_FD_STREAM, 0, 1 << 20);
  EXPECT_EQ(x.mechanism(), "payload_budget");
  EXPECT_TRUE(x.stream_gap());
  x = decode(AW_EVADE_RECORDS, 0, 12345);
  EXPECT_EQ(x.mechanism(), "record_budget");
  EXPECT_EQ(x.bytes(), 12345);
  EXPECT_FALSE(x.stream_gap()) << "records left out are no stream's gap";
}

TEST(DecodeTest, BadRecordsAreRejectedNotCrashed) {
  v1::Event ev;
  std::string err;
  std::vector<uint8_t> tiny(10, 0xff);
  EXPECT_EQ(DecodeRecord(tiny, 0, &ev, &err), DecodeStatus::kInvalid);

  aw_hdr h{};
  Hdr(&h, 9999, sizeof(h));
  EXPECT_EQ(DecodeRecord({reinterpret_cast<uint8_t*>(&h), sizeof(h)}, 0, &ev,
                         &err),
            DecodeStatus::kInvalid);
  EXPECT_NE(err.find("unknown record type"), std::string::npos);

  // Section lengths that overrun the record.
  auto* e = new aw_file_event{};
  auto rec = VarRecord(e, AW_EV_FILE_OPEN, {"abc\0"s});
  delete e;
  reinterpret_cast<aw_file_event*>(rec.data())->sec_len[1] = 5000;
  EXPECT_EQ(DecodeRecord(rec, 0, &ev, &err), DecodeStatus::kInvalid);

  // Header claims more than we have.
  Hdr(&h, AW_EV_FORK, 4096);
  EXPECT_EQ(DecodeRecord({reinterpret_cast<uint8_t*>(&h), sizeof(h)}, 0, &ev,
                         &err),
            DecodeStatus::kInvalid);

  // Every prefix of a valid record decodes or is rejected; never crashes.
  auto* x = new aw_exec_event{};
  auto full = VarRecord(x, AW_EV_EXEC, {"/bin/sh\0"s, "sh\0-c\0id\0"s, "tmp\0"s});
  delete x;
  for (size_t n = 0; n <= full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + n);
    if (cut.size() >= sizeof(aw_hdr))
      reinterpret_cast<aw_hdr*>(cut.data())->size = static_cast<uint32_t>(n);
    DecodeRecord(cut, 0, &ev, &err);
  }
}

TEST(DecodeTest, ComponentsToPath) {
  EXPECT_EQ(ComponentsToPath(""), "/");
  EXPECT_EQ(ComponentsToPath("c\0b\0a\0"s), "/a/b/c");
}

}  // namespace
}  // namespace agentwatch
