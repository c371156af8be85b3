#include "proc/process_table.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

v1::Event Exec(uint32_t pid, uint32_t ppid, const std::string& exe,
               const std::string& cgroup = "") {
  v1::Event ev;
  ev.set_type(v1::EVENT_TYPE_EXEC);
  ev.mutable_process()->set_pid(pid);
  ev.mutable_process()->set_ppid(ppid);
  ev.mutable_process()->set_comm(exe.substr(exe.rfind('/') + 1));
  if (!cgroup.empty()) {
    ev.mutable_process()->set_cgroup_id(pid * 10);
    ev.mutable_process()->set_cgroup_path(cgroup);
  }
  ev.mutable_exec()->set_filename(exe);
  ev.mutable_exec()->add_argv(exe);
  ev.mutable_exec()->set_cwd("/work");
  return ev;
}

v1::Event Fork(uint32_t parent, uint32_t child, bool watched = false) {
  v1::Event ev;
  ev.set_type(v1::EVENT_TYPE_FORK);
  ev.mutable_process()->set_pid(parent);
  ev.mutable_fork()->set_child_pid(child);
  ev.mutable_fork()->set_child_tid(child);
  ev.mutable_fork()->set_child_watched(watched);
  ev.mutable_fork()->set_child_start_time_ns(child * 1000);
  return ev;
}

v1::Event Exit(uint32_t pid, uint64_t ktime) {
  v1::Event ev;
  ev.set_type(v1::EVENT_TYPE_EXIT);
  ev.set_ktime_ns(ktime);
  ev.mutable_process()->set_pid(pid);
  return ev;
}

TEST(ProcessTableTest, ForkInheritsAndExecReplaces) {
  ProcessTable t;
  t.Apply(Exec(100, 1, "/usr/bin/bash"));
  t.Apply(Fork(100, 200));
  const ProcessInfo* child = t.Find(200);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->exe, "/usr/bin/bash");
  EXPECT_EQ(child->ppid, 100u);
  EXPECT_EQ(child->cwd, "/work");
  EXPECT_EQ(child->start_ns, 200000u);
  t.Apply(Exec(200, 100, "/usr/bin/git"));
  EXPECT_EQ(t.Find(200)->exe, "/usr/bin/git");
  EXPECT_EQ(t.Find(100)->exe, "/usr/bin/bash");
}

TEST(ProcessTableTest, Ancestry) {
  ProcessTable t;
  t.Apply(Exec(1, 0, "/sbin/init"));
  t.Apply(Fork(1, 10));
  t.Apply(Fork(10, 20));
  t.Apply(Fork(20, 30));
  EXPECT_EQ(t.Ancestry(30), (std::vector<uint32_t>{20, 10, 1}));
  EXPECT_TRUE(t.IsDescendant(30, 10));
  EXPECT_TRUE(t.IsDescendant(30, 30));
  EXPECT_FALSE(t.IsDescendant(10, 30));
  EXPECT_TRUE(t.Ancestry(999).empty());
}

TEST(ProcessTableTest, ThreadForkAddsNoProcess) {
  ProcessTable t;
  t.Apply(Exec(100, 1, "/usr/bin/node"));
  v1::Event ev = Fork(100, 101);
  ev.mutable_fork()->set_thread(true);
  t.Apply(ev);
  EXPECT_EQ(t.Find(101), nullptr);
  EXPECT_EQ(t.size(), 1u);
}

TEST(ProcessTableTest, WatchInheritedOnlyWhenKernelSaysSo) {
  ProcessTable t;
  t.Apply(Exec(100, 1, "/usr/bin/node"));
  t.Find(100)->watch_flags = 3;
  t.Apply(Fork(100, 101, /*watched=*/true));
  t.Apply(Fork(100, 102, /*watched=*/false));
  EXPECT_EQ(t.Find(101)->watch_flags, 3u);
  EXPECT_EQ(t.Find(102)->watch_flags, 0u);
  EXPECT_EQ(t.watched_count(), 2u);
}

TEST(ProcessTableTest, ExitLingersThenExpires) {
  ProcessTable::Options o;
  o.exit_linger_ns = 100;
  ProcessTable t(o);
  t.Apply(Exec(100, 1, "/bin/true"));
  t.Apply(Exit(100, 1000));
  ASSERT_NE(t.Find(100), nullptr);
  EXPECT_TRUE(t.Find(100)->exited);
  t.Expire(1050);
  EXPECT_NE(t.Find(100), nullptr);
  t.Expire(1101);
  EXPECT_EQ(t.Find(100), nullptr);
}

TEST(ProcessTableTest, BoundedWithLruEviction) {
  ProcessTable::Options o;
  o.max_entries = 3;
  ProcessTable t(o);
  t.Apply(Exec(1, 0, "/a"));
  t.Apply(Exec(2, 0, "/b"));
  t.Apply(Exec(3, 0, "/c"));
  t.Apply(Exec(1, 0, "/a2"));  // touch 1: 2 is now the oldest
  t.Apply(Exec(4, 0, "/d"));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evictions(), 1u);
  EXPECT_EQ(t.Find(2), nullptr);
  EXPECT_NE(t.Find(1), nullptr);
}

TEST(ProcessTableTest, AnnotateAddsContainerIdentity) {
  ProcessTable t;
  const std::string id(64, 'a');
  t.Apply(Exec(100, 1, "/usr/bin/node", "/system.slice/docker-" + id + ".scope"));
  v1::Event ev;
  ev.set_type(v1::EVENT_TYPE_FILE_OPEN);
  ev.mutable_process()->set_pid(100);
  t.Annotate(&ev);
  EXPECT_EQ(ev.process().exe(), "/usr/bin/node");
  EXPECT_EQ(ev.process().ppid(), 1u);
  EXPECT_EQ(ev.process().container_id(), id);
  EXPECT_EQ(ev.process().container_runtime(), "docker");
}

}  // namespace
}  // namespace agentwatch
