#include "chain/correlator.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "testing/events.h"

namespace agentwatch {
namespace {

// Agent 10 runs server 20 (stdio), which runs a helper 21; the agent also
// runs git (11) itself.
class CorrelatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Correlator::Options o;
    o.idle_gap_ns = 60ull * 1000000000;
    c_ = std::make_unique<Correlator>(o);
    c_->SetLookups(
        [](const std::string&, uint32_t server) { return server == 20 ? 10u : 0u; },
        [](uint32_t pid, std::string* exe, uint64_t* start) {
          if (pid != 10) return false;
          *exe = "/usr/bin/agent";
          *start = 50000000;
          return true;
        });
  }

  // The next event, by `pid` at kernel time `ktime` (the wall clock 1000 ns
  // ahead).
  v1::Event Stamp(events::EventBuilder b, uint32_t pid, uint64_t ktime) {
    return b.Seq(++seq_).At(ktime, ktime + 1000).Pid(pid);
  }
  void Request(const std::string& id, uint64_t t) {
    c_->OnEvent(Stamp(events::McpRequest(id), 20, t), {20, 10, 1}, &updates_);
  }
  void Done(const std::string& id, const std::string& tool, uint64_t start,
            uint64_t end) {
    events::EventBuilder call = events::ToolCall(tool);
    call.RequestId(id).Initiator("client").ServerPid(20).Session("20/stdio");
    call.Started(start, start + 1000).Latency(end - start).Status("ok");
    c_->OnEvent(Stamp(call, 20, end), {20, 10, 1}, &updates_);
  }
  void Open(uint32_t pid, const std::string& path, uint64_t t,
            std::vector<uint32_t> lineage) {
    c_->OnEvent(Stamp(events::OpenRead(path, 3), pid, t), lineage, &updates_);
  }
  v1::Chain Only() {
    auto list = c_->Chains(0, 0, 0);
    EXPECT_EQ(list.size(), 1u);
    v1::Chain ch;
    if (!list.empty()) {
      EXPECT_TRUE(c_->Chain(list[0].id(), &ch));
    }
    return ch;
  }

  std::unique_ptr<Correlator> c_;
  uint64_t seq_ = 0;
  std::vector<v1::ChainUpdate> updates_;
};

TEST_F(CorrelatorTest, SequentialCallsGetExactlyTheirEffects) {
  Request("1", 100);
  Open(20, "/data/a", 110, {20, 10, 1});
  Open(21, "/data/by-helper", 115, {21, 20, 10, 1});  // a descendant
  Done("1", "read", 100, 120);
  Open(20, "/var/cache/idle", 130, {20, 10, 1});  // between calls
  Request("2", 140);
  Open(20, "/data/b", 150, {20, 10, 1});
  Done("2", "write", 140, 160);

  v1::Chain ch = Only();
  EXPECT_EQ(ch.agent_pid(), 10u);
  EXPECT_EQ(ch.agent_exe(), "/usr/bin/agent");
  EXPECT_EQ(ch.agent_id(), "10-50");
  ASSERT_EQ(ch.entries_size(), 2);
  ASSERT_EQ(ch.entries(0).effects_size(), 2);
  EXPECT_EQ(ch.entries(0).call().tool(), "read");
  EXPECT_EQ(ch.entries(0).effects(0).summary(), "open /data/a O_RDONLY = 3");
  EXPECT_EQ(ch.entries(0).effects(1).pid(), 21u);
  EXPECT_DOUBLE_EQ(ch.entries(0).effects(0).confidence(), 1.0);
  ASSERT_EQ(ch.entries(1).effects_size(), 1);
  EXPECT_EQ(ch.entries(1).effects(0).summary(), "open /data/b O_RDONLY = 3");
  EXPECT_EQ(ch.calls(), 2u);
  EXPECT_EQ(ch.effects(), 3u);
  EXPECT_EQ(c_->counters().effects_background, 1u);
}

TEST_F(CorrelatorTest, OverlappingCallsShareAnEffectWithoutGuessing) {
  Request("1", 100);
  Request("2", 105);
  Open(20, "/data/either", 110, {20, 10, 1});
  Done("2", "b", 105, 120);
  Open(20, "/data/only-1", 125, {20, 10, 1});
  Done("1", "a", 100, 130);
  v1::Chain ch = Only();
  ASSERT_EQ(ch.entries_size(), 2);
  const auto& b = ch.entries(0);
  const auto& a = ch.entries(1);
  EXPECT_EQ(b.call().tool(), "b");
  ASSERT_EQ(b.effects_size(), 1);
  EXPECT_EQ(b.effects(0).candidates(), 2u);
  EXPECT_DOUBLE_EQ(b.effects(0).confidence(), 0.5);
  ASSERT_EQ(a.effects_size(), 2);
  EXPECT_EQ(a.effects(0).candidates(), 2u);
  EXPECT_EQ(a.effects(1).candidates(), 1u);
  EXPECT_EQ(c_->counters().effects_ambiguous, 1u);
}

TEST_F(CorrelatorTest, AgentActivityAndIdleGapsAndExit) {
  Request("1", 100);
  Done("1", "a", 100, 200);
  // The agent runs git itself: its own activity.
  c_->OnEvent(Stamp(events::Exec("/usr/bin/git", {"git", "status"}), 11, 300), {11, 10, 1});
  // An unrelated process is nobody's.
  Open(99, "/etc/motd", 310, {99, 1});
  // After the idle gap: a new chain.
  const uint64_t later = 200 + 61ull * 1000000000;
  Request("2", later);
  Done("2", "b", later, later + 10);
  auto list = c_->Chains(0, 0, 0);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].calls(), 1u);  // most recent first
  EXPECT_TRUE(list[0].open());
  EXPECT_FALSE(list[1].open());
  v1::Chain first;
  ASSERT_TRUE(c_->Chain(list[1].id(), &first));
  ASSERT_EQ(first.entries_size(), 2);
  EXPECT_TRUE(first.entries(1).has_agent_effect());
  EXPECT_EQ(first.entries(1).agent_effect().summary(), "exec /usr/bin/git [git status]");
  EXPECT_EQ(c_->counters().effects_agent, 1u);
  // The agent exits: its chain closes.
  c_->OnEvent(Stamp(events::Exit(), 10, later + 20), {10, 1});
  EXPECT_FALSE(c_->Chains(10, 0, 0)[0].open());
  EXPECT_EQ(c_->Chains(99, 0, 0).size(), 0u);
}

TEST_F(CorrelatorTest, BoundsAndUnansweredRequests) {
  Correlator::Options o;
  o.max_chains = 2;
  o.max_effects_per_call = 2;
  o.inflight_max_age_ns = 1000;
  c_ = std::make_unique<Correlator>(o);
  c_->SetLookups([](const std::string&, uint32_t) { return 10u; }, nullptr);
  Request("1", 100);
  for (int i = 0; i < 5; ++i) Open(20, "/f", 110 + i, {20, 10, 1});
  Done("1", "a", 100, 200);
  EXPECT_EQ(Only().entries(0).effects_size(), 2);
  EXPECT_EQ(c_->counters().effects_dropped, 3u);
  // A request never answered expires (no leak); later effects are background.
  Request("9", 300);
  Open(20, "/g", 2000000000, {20, 10, 1});
  EXPECT_EQ(c_->counters().inflight_expired, 1u);
  EXPECT_EQ(c_->counters().effects_background, 1u);
}

TEST_F(CorrelatorTest, DroppingTheOldestChainKeepsTheAgentsOpenOne) {
  Correlator::Options o;
  o.max_chains = 2;
  o.idle_gap_ns = 1000;
  c_ = std::make_unique<Correlator>(o);
  uint32_t agent = 10;
  c_->SetLookups([&agent](const std::string&, uint32_t) { return agent; }, nullptr);
  Request("1", 100);
  Done("1", "a", 100, 110);     // chain 1: agent 10
  Request("2", 5000);
  Done("2", "b", 5000, 5010);   // after the gap: chain 2, agent 10's open one
  agent = 13;
  Request("3", 5100);
  Done("3", "c", 5100, 5110);   // chain 3: agent 13; chain 1 is dropped
  c_->OnEvent(Stamp(events::Exec("/usr/bin/git"), 11, 5120), {11, 10, 1});  // agent 10 runs git
  v1::Chain ch;
  EXPECT_FALSE(c_->Chain(1, &ch));
  ASSERT_TRUE(c_->Chain(2, &ch));
  EXPECT_EQ(ch.effects(), 1u) << "agent 10's activity went to its open chain";
}

TEST_F(CorrelatorTest, EveryStepIsHandedOnAsAnUpdate) {
  c_->SetNextChainId(500);
  Request("1", 100);
  Open(20, "/data/a", 110, {20, 10, 1});
  EXPECT_TRUE(updates_.empty()) << "an effect waits for its call to end";
  Done("1", "read", 100, 120);
  ASSERT_EQ(updates_.size(), 1u);
  const v1::ChainUpdate& u = updates_[0];
  EXPECT_EQ(u.chain().id(), 500u);
  EXPECT_EQ(u.chain().calls(), 1u);
  EXPECT_EQ(u.chain().entries_size(), 0) << "headers only";
  EXPECT_TRUE(u.chain().open());
  EXPECT_EQ(u.entry().call().tool(), "read");
  ASSERT_EQ(u.entry().effects_size(), 1);
  EXPECT_EQ(u.entry().effects(0).summary(), "open /data/a O_RDONLY = 3");

  const v1::Event push = Stamp(
      events::Exec("/usr/bin/git",
                   {"git", "push", "https://x:ghp_abcdefghijklmnopqrstuvwxyz0123456789@h/r"}),
      11, 300);
  c_->OnEvent(push, {11, 10, 1}, &updates_);
  ASSERT_EQ(updates_.size(), 2u);
  const std::string& summary = updates_[1].entry().agent_effect().summary();
  EXPECT_EQ(summary.find("ghp_"), std::string::npos) << summary;
  EXPECT_NE(summary.find("[REDACTED:"), std::string::npos) << summary;
  EXPECT_EQ(updates_[1].chain().effects(), 2u);

  c_->OnEvent(Stamp(events::Exit(), 10, 400), {10, 1}, &updates_);
  ASSERT_EQ(updates_.size(), 3u);
  EXPECT_FALSE(updates_[2].has_entry());
  EXPECT_FALSE(updates_[2].chain().open());
  EXPECT_EQ(updates_[2].chain().id(), 500u);
}

TEST_F(CorrelatorTest, CallsWithoutAnAgentAreHandedOnOutsideChains) {
  c_->SetLookups([](const std::string&, uint32_t) { return 0u; }, nullptr);
  Request("1", 100);
  Open(20, "/data/a", 110, {20, 10, 1});
  Done("1", "read", 100, 120);
  EXPECT_TRUE(c_->Chains(0, 0, 0).empty());
  ASSERT_EQ(updates_.size(), 1u);
  EXPECT_EQ(updates_[0].chain().id(), 0u);
  EXPECT_EQ(updates_[0].entry().call().tool(), "read");
  EXPECT_EQ(updates_[0].entry().effects_size(), 1);
  EXPECT_EQ(c_->counters().unchained_calls, 1u);
  EXPECT_EQ(c_->counters().effects_dropped, 0u);
}

TEST_F(CorrelatorTest, ACrossAgentReadGoesIntoTheWritersChainToo) {
  // Agent 10 (server 20) wrote a note; agent 30 (server 40) reads it back
  // after agent 10 has exited: its chain has ended and still gets the entry.
  c_->SetLookups(
      [](const std::string&, uint32_t server) { return server == 20 ? 10u : 30u; },
      [](uint32_t pid, std::string* exe, uint64_t* start) {
        *exe = pid == 10 ? "/usr/bin/agent" : "/usr/bin/other-agent";
        *start = pid * 1000000ull;
        return true;
      });
  auto call = [&](uint32_t server, uint64_t call_id, const std::string& tool, uint64_t t) {
    events::EventBuilder b = events::ToolCall(tool);
    b.RequestId(std::to_string(call_id)).Initiator("client").ServerPid(server);
    b.Session(std::to_string(server) + "/stdio").Started(t, t + 1000).Latency(10).Status("ok");
    v1::Event e = Stamp(b, server, t + 10);
    e.mutable_call()->set_call_id(call_id);
    return e;
  };
  c_->OnEvent(call(20, 7, "create_entities", 100), {20, 10, 1}, &updates_);
  c_->OnEvent(call(20, 8, "add_observations", 200), {20, 10, 1}, &updates_);
  c_->OnEvent(Stamp(events::Exit(), 10, 300), {10, 1}, &updates_);
  v1::Event read = call(40, 9, "read_graph", 400);
  read.mutable_call()->set_content_flag("instructions to the model (score 7.0)");
  read.mutable_call()->set_call_id(9);
  v1::DataFlow* f = read.mutable_call()->add_written_by();
  f->set_from_call_id(7);
  f->set_from_tool("create_entities");
  f->set_from_agent_pid(10);
  f->set_from_agent_id(ProcessInstanceId(10, 10000000));
  f->set_shared_fingerprints(5);
  f->set_flagged(true);
  // A writer that is another process with the same pid: no entry.
  v1::DataFlow* reused = read.mutable_call()->add_written_by();
  *reused = *f;
  reused->set_from_call_id(8);
  reused->set_from_agent_id(ProcessInstanceId(10, 999000000));
  updates_.clear();
  c_->OnEvent(read, {40, 30, 1}, &updates_);

  ASSERT_EQ(updates_.size(), 2u);
  EXPECT_EQ(updates_[0].entry().call().tool(), "read_graph");
  const v1::ChainUpdate& w = updates_[1];
  EXPECT_EQ(w.chain().agent_pid(), 10u);
  EXPECT_FALSE(w.chain().open());
  ASSERT_TRUE(w.entry().has_read_by_agent()) << w.ShortDebugString();
  const v1::CrossAgentRead& r = w.entry().read_by_agent();
  EXPECT_EQ(r.from_call_id(), 7u);
  EXPECT_EQ(r.from_tool(), "create_entities");
  EXPECT_EQ(r.call_id(), 9u);
  EXPECT_EQ(r.tool(), "read_graph");
  EXPECT_EQ(r.agent_pid(), 30u);
  EXPECT_EQ(r.agent_id(), ProcessInstanceId(30, 30000000));
  EXPECT_EQ(r.shared_fingerprints(), 5u);
  EXPECT_EQ(r.content_flag(), "instructions to the model (score 7.0)");
  v1::Chain writer;
  ASSERT_TRUE(c_->Chain(w.chain().id(), &writer));
  ASSERT_EQ(writer.entries_size(), 3);
  EXPECT_TRUE(writer.entries(2).has_read_by_agent());
  EXPECT_EQ(c_->counters().cross_agent_reads, 1u);
  EXPECT_EQ(c_->counters().cross_agent_unchained, 1u);
  // Read again: noted once.
  updates_.clear();
  read.mutable_call()->set_call_id(10);
  read.mutable_call()->mutable_written_by()->RemoveLast();
  c_->OnEvent(read, {40, 30, 1}, &updates_);
  EXPECT_EQ(updates_.size(), 1u);
  EXPECT_EQ(c_->counters().cross_agent_reads, 1u);
}

TEST_F(CorrelatorTest, InFlightCallsPerServerAreBounded) {
  Correlator::Options o;
  o.max_inflight_per_server = 3;
  c_ = std::make_unique<Correlator>(o);
  c_->SetLookups([](const std::string&, uint32_t) { return 10u; }, nullptr);
  for (int i = 0; i < 5; ++i) Request(std::to_string(i), 100 + i);
  EXPECT_EQ(c_->counters().inflight_expired, 2u);
  Open(20, "/f", 200, {20, 10, 1});
  Done("4", "newest", 104, 210);  // still in flight: gets the effect
  Done("0", "oldest", 100, 220);  // evicted: no effects
  v1::Chain ch = Only();
  ASSERT_EQ(ch.entries_size(), 2);
  EXPECT_EQ(ch.entries(0).effects_size(), 1);
  EXPECT_EQ(ch.entries(0).effects(0).candidates(), 3u);
  EXPECT_EQ(ch.entries(1).effects_size(), 0);
}

// A server that runs another server (a gateway, a proxy): an effect goes to
// the calls of the nearest server above it, never to the outer one's.
TEST_F(CorrelatorTest, NestedServersKeepTheirOwnEffects) {
  c_->SetLookups(
      [](const std::string&, uint32_t server) { return server == 20 || server == 30 ? 10u : 0u; },
      nullptr);
  auto request = [&](uint32_t server, const std::string& id, uint64_t t,
                     std::vector<uint32_t> lineage) {
    c_->OnEvent(Stamp(events::McpRequest(id), server, t), lineage, &updates_);
  };
  auto done = [&](uint32_t server, const std::string& id, const std::string& tool,
                  uint64_t start, uint64_t end) {
    events::EventBuilder call = events::McpCall();
    call.RequestId(id).Tool(tool).Initiator("client").ServerPid(server);
    call.Started(start, start).Latency(end - start);
    c_->OnEvent(Stamp(call, server, end), {server, 10, 1}, &updates_);
  };
  // Server 20 (outer) runs server 30 (inner), which runs a helper 31.
  request(20, "a", 100, {20, 10, 1});
  request(30, "b", 105, {30, 20, 10, 1});
  Open(31, "/inner/by-helper", 110, {31, 30, 20, 10, 1});
  Open(20, "/outer/own", 112, {20, 10, 1});
  done(30, "b", "inner_tool", 105, 120);
  done(20, "a", "outer_tool", 100, 130);
  v1::Chain ch = Only();
  ASSERT_EQ(ch.entries_size(), 2);
  EXPECT_EQ(ch.entries(0).call().tool(), "inner_tool");
  ASSERT_EQ(ch.entries(0).effects_size(), 1);
  EXPECT_EQ(ch.entries(0).effects(0).summary(), "open /inner/by-helper O_RDONLY = 3");
  EXPECT_EQ(ch.entries(0).effects(0).candidates(), 1u);
  ASSERT_EQ(ch.entries(1).effects_size(), 1);
  EXPECT_EQ(ch.entries(1).effects(0).summary(), "open /outer/own O_RDONLY = 3");
}

}  // namespace
}  // namespace agentwatch
