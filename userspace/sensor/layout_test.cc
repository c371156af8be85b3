// Checks that C++ sees bpf/events.h exactly as the BPF compiler laid it out:
// every struct's size and every member's offset, read from the BTF of the
// compiled object.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstddef>
#include <string>

#include <gtest/gtest.h>

#include "events.h"

namespace {

struct Member {
  const char* name;
  size_t offset;
};

void CheckStruct(const btf* b, const char* name, size_t size,
                 std::initializer_list<Member> members) {
  int id = btf__find_by_name_kind(b, name, BTF_KIND_STRUCT);
  ASSERT_GT(id, 0) << name << " is not in the object's BTF";
  const btf_type* t = btf__type_by_id(b, id);
  EXPECT_EQ(t->size, size) << name;
  const btf_member* m = btf_members(t);
  for (const Member& want : members) {
    bool found = false;
    for (int i = 0; i < btf_vlen(t); ++i) {
      if (std::string(btf__name_by_offset(b, m[i].name_off)) == want.name) {
        found = true;
        EXPECT_EQ(btf_member_bit_offset(t, i), want.offset * 8)
            << name << "." << want.name;
      }
    }
    EXPECT_TRUE(found) << name << "." << want.name << " missing in BTF";
  }
  // Every BTF member must be one we checked (a new field needs a check).
  EXPECT_EQ(static_cast<size_t>(btf_vlen(t)), members.size()) << name;
}

#define M(type, field) Member{#field, offsetof(type, field)}

TEST(LayoutTest, EventsHeaderMatchesBpfObject) {
  btf* b = btf__parse(AGENTWATCH_BPF_OBJECT, nullptr);
  ASSERT_EQ(libbpf_get_error(b), 0) << AGENTWATCH_BPF_OBJECT;

  CheckStruct(b, "aw_hdr", sizeof(aw_hdr),
              {M(aw_hdr, ts_ns), M(aw_hdr, type), M(aw_hdr, size),
               M(aw_hdr, pid), M(aw_hdr, tid), M(aw_hdr, uid), M(aw_hdr, gid),
               M(aw_hdr, cgroup_id), M(aw_hdr, comm), M(aw_hdr, flags),
               M(aw_hdr, pad)});
  CheckStruct(b, "aw_exec_event", sizeof(aw_exec_event),
              {M(aw_exec_event, hdr), M(aw_exec_event, ppid),
               M(aw_exec_event, argv_truncated), M(aw_exec_event, start_ns),
               M(aw_exec_event, sec_len), M(aw_exec_event, sec_flags),
               M(aw_exec_event, pad), M(aw_exec_event, data)});
  CheckStruct(b, "aw_fork_event", sizeof(aw_fork_event),
              {M(aw_fork_event, hdr), M(aw_fork_event, child_pid),
               M(aw_fork_event, child_tid), M(aw_fork_event, flags),
               M(aw_fork_event, pad), M(aw_fork_event, child_start_ns)});
  CheckStruct(b, "aw_exit_event", sizeof(aw_exit_event),
              {M(aw_exit_event, hdr), M(aw_exit_event, ppid),
               M(aw_exit_event, exit_code), M(aw_exit_event, start_ns)});
  CheckStruct(b, "aw_file_event", sizeof(aw_file_event),
              {M(aw_file_event, hdr), M(aw_file_event, ret),
               M(aw_file_event, dfd), M(aw_file_event, dfd2),
               M(aw_file_event, flags), M(aw_file_event, mode),
               M(aw_file_event, syscall), M(aw_file_event, sec_flags),
               M(aw_file_event, ino), M(aw_file_event, dev),
               M(aw_file_event, sec_len), M(aw_file_event, pad),
               M(aw_file_event, data)});
  CheckStruct(b, "aw_sockaddr", sizeof(aw_sockaddr),
              {M(aw_sockaddr, family), M(aw_sockaddr, port),
               M(aw_sockaddr, unix_len), M(aw_sockaddr, pad),
               M(aw_sockaddr, addr), M(aw_sockaddr, unix_path),
               M(aw_sockaddr, pad2)});
  CheckStruct(b, "aw_net_event", sizeof(aw_net_event),
              {M(aw_net_event, hdr), M(aw_net_event, ret),
               M(aw_net_event, fd), M(aw_net_event, syscall),
               M(aw_net_event, sock_type), M(aw_net_event, protocol),
               M(aw_net_event, backlog), M(aw_net_event, sock_ino),
               M(aw_net_event, bytes_sent), M(aw_net_event, bytes_recv),
               M(aw_net_event, local), M(aw_net_event, remote)});
  CheckStruct(b, "aw_dns_event", sizeof(aw_dns_event),
              {M(aw_dns_event, hdr), M(aw_dns_event, fd),
               M(aw_dns_event, syscall), M(aw_dns_event, len),
               M(aw_dns_event, pad), M(aw_dns_event, orig_len),
               M(aw_dns_event, remote), M(aw_dns_event, payload)});
  CheckStruct(b, "aw_payload_event", sizeof(aw_payload_event),
              {M(aw_payload_event, hdr), M(aw_payload_event, fd),
               M(aw_payload_event, syscall), M(aw_payload_event, ino),
               M(aw_payload_event, offset), M(aw_payload_event, orig_len),
               M(aw_payload_event, chunk), M(aw_payload_event, len),
               M(aw_payload_event, direction), M(aw_payload_event, flags),
               M(aw_payload_event, file_type), M(aw_payload_event, pad),
               M(aw_payload_event, data)});
  CheckStruct(b, "aw_sock_stats", sizeof(aw_sock_stats),
              {M(aw_sock_stats, bytes_sent), M(aw_sock_stats, bytes_recv),
               M(aw_sock_stats, pid), M(aw_sock_stats, family),
               M(aw_sock_stats, sock_type), M(aw_sock_stats, protocol),
               M(aw_sock_stats, lport), M(aw_sock_stats, rport),
               M(aw_sock_stats, pad), M(aw_sock_stats, laddr),
               M(aw_sock_stats, raddr)});
  btf__free(b);
}

}  // namespace
