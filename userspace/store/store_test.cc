#include "store/store.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

constexpr int64_t kSec = 1000000000;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aw-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    opts_.path = dir_ + "/sub/agentwatch.db";
    opts_.max_age_ns = 0;
    opts_.max_bytes = 0;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> OpenStore() {
    std::string err;
    auto s = Store::Open(opts_, &err);
    EXPECT_TRUE(s) << err;
    return s;
  }

  static v1::Chain Header(uint64_t id, int64_t start, int64_t end, bool open = true) {
    v1::Chain c;
    c.set_id(id);
    c.set_agent_pid(10);
    c.set_agent_id("10-5");
    c.set_agent_exe("/usr/bin/agent");
    c.set_start_unix_ns(start);
    c.set_end_unix_ns(end);
    c.set_open(open);
    return c;
  }
  static v1::ChainEffect Effect(uint64_t seq, const std::string& summary) {
    v1::ChainEffect x;
    x.set_seq(seq);
    x.set_ktime_ns(seq * 10);
    x.set_time_unix_ns(static_cast<int64_t>(seq) * 10 + 1);
    x.set_pid(21);
    x.set_comm("node");
    x.set_type(v1::EVENT_TYPE_FILE_OPEN);
    x.set_summary(summary);
    x.set_confidence(1.0);
    x.set_candidates(1);
    return x;
  }
  static v1::ChainUpdate CallUpdate(const v1::Chain& h, uint64_t call_id,
                                    const std::string& tool,
                                    std::vector<v1::ChainEffect> effects,
                                    const std::string& args = "{}") {
    v1::ChainUpdate u;
    *u.mutable_chain() = h;
    v1::McpCall* c = u.mutable_entry()->mutable_call();
    c->set_call_id(call_id);
    c->set_tool(tool);
    c->set_method("tools/call");
    c->set_status("ok");
    c->set_session_id("20/stdio");
    c->set_server_id("20:1");
    c->set_arguments(args);
    c->set_started_unix_ns(h.end_unix_ns());
    for (auto& x : effects) *u.mutable_entry()->add_effects() = x;
    return u;
  }

  std::string dir_;
  Store::Options opts_;
};

TEST_F(StoreTest, CreatesTheSchemaOwnerOnly) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  struct stat st {};
  ASSERT_EQ(stat(opts_.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string err;
  EXPECT_EQ(s->QueryText("PRAGMA user_version", &err), std::to_string(Store::kSchemaVersion));
  EXPECT_EQ(s->QueryText("PRAGMA journal_mode", &err), "wal");
  EXPECT_EQ(err, "");
  EXPECT_EQ(s->max_chain_id(), 0u);
}

TEST_F(StoreTest, ChainRoundTripInOrder) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  v1::Chain h = Header(7, 100, 200);
  h.set_calls(1);
  h.set_effects(2);
  s->Put(CallUpdate(h, 41, "read_text_file",
                    {Effect(1, "open /etc/hosts O_RDONLY = 3"), Effect(2, "open /tmp/x = 4")}));
  v1::ChainUpdate agent;
  h.set_effects(3);
  h.set_end_unix_ns(300);
  *agent.mutable_chain() = h;
  *agent.mutable_entry()->mutable_agent_effect() = Effect(3, "exec /usr/bin/git [git status]");
  s->Put(agent);
  h.set_calls(2);
  h.set_end_unix_ns(400);
  v1::ChainUpdate second = CallUpdate(h, 42, "write_file", {});
  v1::DataFlow* f = second.mutable_entry()->mutable_call()->add_flows();
  f->set_from_call_id(41);
  f->set_from_tool("read_text_file");
  f->set_shared_fingerprints(5);
  s->Put(second);
  v1::ChainUpdate end;
  h.set_open(false);
  // The agent's pod, its name known by the chain's end.
  h.mutable_agent_kubernetes()->set_pod_uid("3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  h.mutable_agent_kubernetes()->set_pod_name("agent-0");
  *end.mutable_chain() = h;
  s->Put(end);
  // After the chain ended, another agent read what call 42 wrote.
  v1::ChainUpdate read;
  *read.mutable_chain() = h;
  v1::CrossAgentRead* r = read.mutable_entry()->mutable_read_by_agent();
  r->set_from_call_id(42);
  r->set_from_tool("write_file");
  r->set_call_id(97);
  r->set_agent_id("12-9");
  r->set_time_unix_ns(900);
  s->Put(read);
  s->Put(CallUpdate(h, 43, "list_directory", {}));
  ASSERT_EQ(s->Flush(), "");

  v1::Chain got;
  std::string err;
  ASSERT_TRUE(s->Chain(7, &got, &err)) << err;
  EXPECT_EQ(got.calls(), 2u);
  EXPECT_EQ(got.effects(), 3u);
  EXPECT_FALSE(got.open());
  EXPECT_EQ(got.end_unix_ns(), 400);
  EXPECT_EQ(got.agent_kubernetes().pod_name(), "agent-0");
  ASSERT_EQ(got.entries_size(), 5);
  EXPECT_EQ(got.entries(0).call().tool(), "read_text_file");
  ASSERT_EQ(got.entries(0).effects_size(), 2);
  EXPECT_EQ(got.entries(0).effects(0).summary(), "open /etc/hosts O_RDONLY = 3");
  EXPECT_EQ(got.entries(0).effects(1).summary(), "open /tmp/x = 4");
  EXPECT_EQ(got.entries(0).effects(1).type(), v1::EVENT_TYPE_FILE_OPEN);
  EXPECT_EQ(got.entries(1).agent_effect().summary(), "exec /usr/bin/git [git status]");
  EXPECT_EQ(got.entries(2).call().tool(), "write_file");
  ASSERT_EQ(got.entries(2).call().flows_size(), 1);
  EXPECT_EQ(got.entries(2).call().flows(0).from_call_id(), 41u);
  ASSERT_TRUE(got.entries(3).has_read_by_agent());
  EXPECT_EQ(got.entries(3).read_by_agent().from_call_id(), 42u);
  EXPECT_EQ(got.entries(3).read_by_agent().agent_id(), "12-9");
  EXPECT_EQ(got.entries(4).call().tool(), "list_directory") << "in the order they came";
  EXPECT_EQ(s->QueryText("SELECT shared FROM data_flows WHERE to_call = 42 AND from_call = 41",
                         &err),
            "5");
  EXPECT_FALSE(s->Chain(8, &got, &err));
  EXPECT_EQ(err, "");

  v1::ListChainsRequest req;
  auto list = s->Chains(req, &err);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id(), 7u);
  EXPECT_EQ(list[0].agent_kubernetes().pod_uid(), "3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  EXPECT_EQ(list[0].entries_size(), 0);
  req.set_agent_id("11-5");
  EXPECT_TRUE(s->Chains(req, &err).empty());
}

TEST_F(StoreTest, ListsNewestFirstWithPages) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  for (uint64_t id = 1; id <= 5; ++id)
    s->Put(CallUpdate(Header(id, id * kSec, id * kSec), id, "t", {}));
  ASSERT_EQ(s->Flush(), "");
  std::string err;
  v1::ListChainsRequest req;
  req.set_limit(2);
  auto page = s->Chains(req, &err);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id(), 5u);
  EXPECT_EQ(page[1].id(), 4u);
  req.set_before_id(4);
  page = s->Chains(req, &err);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id(), 3u);
  req.set_before_id(0);
  req.set_limit(0);
  req.set_since_unix_ns(4 * kSec);
  EXPECT_EQ(s->Chains(req, &err).size(), 2u);
}

TEST_F(StoreTest, UnchainedCallsAreKeptOutsideChains) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  v1::ChainUpdate u = CallUpdate(v1::Chain(), 9, "echo", {Effect(1, "connect tcp")});
  s->Put(u);
  ASSERT_EQ(s->Flush(), "");
  std::string err;
  EXPECT_EQ(s->QueryText("SELECT tool FROM calls WHERE chain_id = 0 AND call_id = 9", &err),
            "echo");
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM effects WHERE call_id = 9", &err), "1");
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM chains", &err), "0");
}

TEST_F(StoreTest, ReopenGoesOnPastStoredIdsAndClosesOpenChains) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s);
    s->Put(CallUpdate(Header(3, 1, 2, /*open=*/true), 17, "t", {}));
    s->Put(CallUpdate(Header(4, 1, 2, /*open=*/true), 18, "t", {}));
    ASSERT_EQ(s->Flush(), "");
  }
  auto s = OpenStore();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->max_chain_id(), 4u);
  EXPECT_EQ(s->max_call_id(), 18u);
  v1::Chain got;
  std::string err;
  ASSERT_TRUE(s->Chain(3, &got, &err));
  EXPECT_FALSE(got.open());
  // New entries order after the old ones.
  s->Put(CallUpdate(Header(4, 1, 3), 19, "later", {}));
  ASSERT_EQ(s->Flush(), "");
  ASSERT_TRUE(s->Chain(4, &got, &err));
  ASSERT_EQ(got.entries_size(), 2);
  EXPECT_EQ(got.entries(1).call().tool(), "later");
}

TEST_F(StoreTest, RefusesANewerSchema) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(opts_.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::string err;
  EXPECT_FALSE(Store::Open(opts_, &err));
  EXPECT_NE(err.find("schema version 99 is newer"), std::string::npos) << err;
}

TEST_F(StoreTest, BaselinesSurviveARestart) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s);
    int calls = 0;
    s->Start([&calls](int64_t, Store::Snapshot* snap) {
      if (++calls > 1) return;  // one change, then none
      v1::Baseline b;
      b.set_identity("abc");
      b.set_server_name("files");
      b.set_state("active");
      b.set_updated_unix_ns(42);
      auto* f = b.add_features();
      f->set_kind("exe");
      f->set_value("/usr/bin/git");
      snap->baselines.push_back(b);
      b.set_identity("def");
      snap->baselines.push_back(b);
    });
    s->Stop();
  }
  auto s = OpenStore();
  ASSERT_TRUE(s);
  std::string err;
  auto list = s->Baselines(&err);
  EXPECT_EQ(err, "");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].identity(), "abc");
  EXPECT_EQ(list[0].state(), "active");
  ASSERT_EQ(list[0].features_size(), 1);
  EXPECT_EQ(list[0].features(0).value(), "/usr/bin/git");
}

TEST_F(StoreTest, InventoriesAreTheLastListing) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s);
    std::atomic<int> calls{0};
    auto tool = [](const char* name, const char* hash, int64_t seen) {
      v1::McpTool t;
      t.set_name(name);
      t.set_hash(hash);
      t.set_version(1);
      t.set_first_seen_unix_ns(seen);
      t.set_last_seen_unix_ns(seen);
      return t;
    };
    s->Start([&](int64_t, Store::Snapshot* snap) {
      const int n = ++calls;
      if (n > 2) return;
      v1::McpToolInventory inv;
      inv.set_server_identity("id1");
      if (n == 1) {  // listed a and b
        *inv.add_tools() = tool("a", "h1", 10);
        *inv.add_tools() = tool("b", "h2", 10);
      } else {  // later: a again, c new, b gone
        *inv.add_tools() = tool("a", "h1", 20);
        *inv.add_tools() = tool("c", "h3", 20);
      }
      snap->inventories.push_back(inv);
    });
    ASSERT_EQ(s->Flush(), "");
    s->Stop();
  }
  auto s = OpenStore();
  ASSERT_TRUE(s);
  std::string err;
  auto invs = s->Inventories(&err);
  EXPECT_EQ(err, "");
  ASSERT_EQ(invs.size(), 1u);
  EXPECT_EQ(invs[0].server_identity(), "id1");
  ASSERT_EQ(invs[0].tools_size(), 2);
  EXPECT_EQ(invs[0].tools(0).name(), "a");
  EXPECT_EQ(invs[0].tools(1).name(), "c");
}

TEST_F(StoreTest, OutboxCursorsAndShedding) {
  opts_.outbox_max = 5;
  auto s = OpenStore();
  ASSERT_TRUE(s);
  auto alert = [](uint64_t id, const char* severity, uint32_t count) {
    v1::Alert a;
    a.set_id(id);
    a.set_rule_id("r");
    a.set_severity(severity);
    a.set_count(count);
    return a;
  };
  s->PutAlert(alert(1, "high", 1));
  s->PutAlert(alert(2, "low", 1));
  s->PutAlert(alert(1, "high", 2));  // a folded repeat: a new version
  ASSERT_EQ(s->Flush(), "");
  std::string err;
  auto all = s->OutboxAfter(0, 100, &err);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].alert.id(), 1u);
  EXPECT_EQ(all[2].alert.count(), 2u);
  EXPECT_LT(all[0].seq, all[1].seq);
  EXPECT_EQ(s->OutboxEnd(), all[2].seq);
  // Cursors move forward only.
  EXPECT_EQ(s->Cursor("siem", &err), 0);
  ASSERT_EQ(s->SetCursor("siem", all[1].seq), "");
  ASSERT_EQ(s->SetCursor("siem", all[0].seq), "");
  EXPECT_EQ(s->Cursor("siem", &err), all[1].seq);
  EXPECT_EQ(s->OutboxAfter(all[1].seq, 100, &err).size(), 1u);
  // Over the bound: the lowest severity, oldest first, is shed.
  for (uint64_t id = 10; id < 14; ++id) s->PutAlert(alert(id, id == 10 ? "info" : "critical", 1));
  ASSERT_EQ(s->Flush(), "");
  auto left = s->OutboxAfter(0, 100, &err);
  ASSERT_EQ(left.size(), 5u);
  for (const auto& e : left) {
    EXPECT_NE(e.alert.id(), 10u) << "info went first";
    EXPECT_NE(e.alert.id(), 2u) << "then low";
  }
  EXPECT_EQ(s->counters().outbox_shed, 2u);
  ASSERT_EQ(s->TrimOutbox(left[2].seq), "");
  EXPECT_EQ(s->OutboxAfter(0, 100, &err).size(), 2u);
}

TEST_F(StoreTest, AlertsAndTheMigrationThatAddedThem) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s);
    // Back to schema 1, as an older agentwatchd left it.
    std::string err;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(opts_.path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TABLE alerts; DROP TABLE baselines; DROP TABLE outbox; "
                           "DROP TABLE sink_cursors; ALTER TABLE chains DROP COLUMN kubernetes; "
                           "DROP TABLE cross_agent_reads; "
                           "PRAGMA user_version = 1",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = OpenStore();
  ASSERT_TRUE(s);
  std::string err;
  EXPECT_EQ(s->QueryText("PRAGMA user_version", &err), std::to_string(Store::kSchemaVersion));
  v1::Alert a;
  a.set_id(5);
  a.set_rule_id("server-spawns-shell");
  a.set_severity("high");
  a.set_chain_id(3);
  a.set_count(1);
  a.set_last_unix_ns(100);
  s->PutAlert(a);
  a.set_count(4);  // folded repeats: the same alert, a higher count
  s->PutAlert(a);
  v1::Alert low = a;
  low.set_id(6);
  low.set_severity("low");
  s->PutAlert(low);
  ASSERT_EQ(s->Flush(), "");
  v1::Alert got;
  ASSERT_TRUE(s->Alert(5, &got, &err));
  EXPECT_EQ(got.count(), 4u);
  v1::ListAlertsRequest req;
  req.set_min_severity("medium");
  auto list = s->Alerts(req, &err);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id(), 5u);
  req.clear_min_severity();
  EXPECT_EQ(s->Alerts(req, &err).size(), 2u);
  auto again = OpenStore();
  EXPECT_EQ(again->max_alert_id(), 6u);
}

TEST_F(StoreTest, RefusesAFileThatIsNoDatabase) {
  std::filesystem::create_directories(dir_ + "/sub");
  FILE* f = fopen(opts_.path.c_str(), "w");
  ASSERT_TRUE(f);
  fputs("this is not a database, just text that is long enough to be a header.....", f);
  fclose(f);
  std::string err;
  EXPECT_FALSE(Store::Open(opts_, &err));
  EXPECT_NE(err.find(opts_.path), std::string::npos) << err;
}

TEST_F(StoreTest, RetentionByAgeDropsWholeChains) {
  opts_.max_age_ns = 100 * kSec;
  auto s = OpenStore();
  ASSERT_TRUE(s);
  const int64_t now = 1000 * kSec;
  s->Put(CallUpdate(Header(1, 10 * kSec, 20 * kSec), 1, "old", {Effect(1, "x")}));
  v1::ChainUpdate own;
  *own.mutable_chain() = Header(1, 10 * kSec, 20 * kSec);
  *own.mutable_entry()->mutable_agent_effect() = Effect(4, "exec git");
  s->Put(own);
  v1::ChainUpdate read;
  *read.mutable_chain() = Header(1, 10 * kSec, 20 * kSec);
  read.mutable_entry()->mutable_read_by_agent()->set_from_call_id(1);
  s->Put(read);
  s->Put(CallUpdate(Header(2, 850 * kSec, 950 * kSec), 2, "new", {Effect(2, "y")}));
  v1::ChainUpdate loose = CallUpdate(v1::Chain(), 3, "loose", {Effect(3, "z")});
  loose.mutable_entry()->mutable_call()->set_started_unix_ns(5 * kSec);
  s->Put(loose);
  ASSERT_EQ(s->Flush(), "");
  ASSERT_EQ(s->EnforceRetention(now), "");
  std::string err;
  v1::Chain got;
  EXPECT_FALSE(s->Chain(1, &got, &err));
  EXPECT_TRUE(s->Chain(2, &got, &err));
  EXPECT_EQ(s->QueryText("SELECT group_concat(call_id) FROM calls", &err), "2");
  EXPECT_EQ(s->QueryText("SELECT group_concat(seq) FROM effects", &err), "2");
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM cross_agent_reads", &err), "0");
  EXPECT_EQ(s->counters().chains_deleted, 1u);
  // A later read of what the deleted chain wrote brings nothing back.
  s->Put(read);
  ASSERT_EQ(s->Flush(), "");
  EXPECT_FALSE(s->Chain(1, &got, &err));
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM cross_agent_reads", &err), "0");
  EXPECT_EQ(s->counters().calls_deleted, 2u);
}

TEST_F(StoreTest, RetentionBySizeDropsOldestFirstAndShrinksTheFile) {
  opts_.max_bytes = 1 << 20;
  auto s = OpenStore();
  ASSERT_TRUE(s);
  const std::string big(4000, 'a');
  for (uint64_t id = 1; id <= 1000; ++id)
    s->Put(CallUpdate(Header(id, id, id), id, "t", {}, big + std::to_string(id)));
  ASSERT_EQ(s->Flush(), "");
  ASSERT_EQ(s->EnforceRetention(0), "");
  std::string err;
  const uint64_t pages = std::stoull(s->QueryText("PRAGMA page_count", &err));
  const uint64_t page = std::stoull(s->QueryText("PRAGMA page_size", &err));
  EXPECT_LE(pages * page, 1u << 20);
  EXPECT_LE(std::filesystem::file_size(opts_.path), 1u << 20);
  v1::Chain got;
  EXPECT_TRUE(s->Chain(1000, &got, &err));  // the newest stays
  EXPECT_FALSE(s->Chain(1, &got, &err));    // the oldest went
  const uint64_t left = std::stoull(s->QueryText("SELECT COUNT(*) FROM chains", &err));
  EXPECT_GT(left, 50u);
  EXPECT_LT(left, 1000u);
  EXPECT_EQ(s->QueryText("SELECT MIN(id) FROM chains", &err), std::to_string(1001 - left));
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM calls", &err), std::to_string(left));
}

TEST_F(StoreTest, WritesTheTrackersRecordsFromItsThread) {
  opts_.flush_interval_ms = 20;
  auto s = OpenStore();
  ASSERT_TRUE(s);
  std::atomic<int> calls{0};
  s->Start([&](int64_t, Store::Snapshot* out) {
    ++calls;
    v1::McpAgent a;
    a.set_id("10-5");
    a.set_exe("/usr/bin/agent");
    a.set_last_seen_unix_ns(9);
    out->agents.push_back(a);
    v1::McpServer v;
    v.set_id("20:1");
    v.set_identity("abc");
    out->servers.push_back(v);
    v1::McpToolInventory inv;
    inv.set_server_identity("abc");
    v1::McpTool* t = inv.add_tools();
    t->set_name("echo");
    t->set_hash("h2");
    t->set_version(2);
    v1::McpTool* p = inv.add_previous();
    p->set_name("echo");
    p->set_hash("h1");
    p->set_version(1);
    v1::McpToolChange* c = inv.add_history();
    c->set_tool("echo");
    c->set_change("changed");
    c->set_old_hash("h1");
    c->set_new_hash("h2");
    out->inventories.push_back(inv);
  });
  s->Put(CallUpdate(Header(1, 1, 2), 1, "t", {}));
  for (int i = 0; i < 500 && s->counters().updates_written == 0; ++i) usleep(10000);
  s->Stop();
  EXPECT_EQ(s->counters().updates_written, 1u);
  EXPECT_GE(calls.load(), 1);
  std::string err;
  auto agents = s->Agents(10, &err);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].exe(), "/usr/bin/agent");
  EXPECT_EQ(s->Servers(10, &err).size(), 1u);
  EXPECT_EQ(s->QueryText("SELECT group_concat(version) FROM (SELECT version FROM "
                         "tool_versions WHERE server_identity = 'abc' ORDER BY version)",
                         &err),
            "1,2");
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM tool_changes", &err), "1");
}

TEST_F(StoreTest, QueueOverflowIsCountedNotBlocking) {
  opts_.queue_max = 2;
  auto s = OpenStore();
  ASSERT_TRUE(s);
  for (uint64_t id = 1; id <= 3; ++id) s->Put(CallUpdate(Header(id, 1, 1), id, "t", {}));
  EXPECT_EQ(s->counters().queue_drops, 1u);
  ASSERT_EQ(s->Flush(), "");
  EXPECT_EQ(s->counters().updates_written, 2u);
}

// A writer killed with SIGKILL between and during commits leaves a
// database that opens, passes integrity_check and holds every batch it
// reported committed.
TEST_F(StoreTest, SurvivesKillMinusNine) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    std::string err;
    auto s = Store::Open(opts_, &err);
    if (!s) _exit(2);
    const std::string big(2000, 'b');
    for (uint64_t batch = 1;; ++batch) {
      for (uint64_t i = 0; i < 50; ++i) {
        const uint64_t id = batch * 100 + i;
        s->Put(CallUpdate(Header(id, 1, 1), id, "t", {Effect(id, "e")}, big));
      }
      if (!s->Flush().empty()) _exit(3);
      if (write(fds[1], &batch, sizeof batch) != sizeof batch) _exit(4);
    }
  }
  close(fds[1]);
  uint64_t committed = 0, b = 0;
  while (committed < 20 && read(fds[0], &b, sizeof b) == sizeof b) committed = b;
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  ASSERT_GE(committed, 20u);

  auto s = OpenStore();
  ASSERT_TRUE(s);
  std::string err;
  EXPECT_EQ(s->QueryText("PRAGMA integrity_check", &err), "ok") << err;
  const uint64_t chains = std::stoull(s->QueryText("SELECT COUNT(*) FROM chains", &err));
  EXPECT_GE(chains, committed * 50);
  EXPECT_EQ(chains % 50, 0u);  // whole batches only
  EXPECT_EQ(s->QueryText("SELECT COUNT(*) FROM effects", &err), std::to_string(chains));
}

}  // namespace
}  // namespace agentwatch
