#include "pipeline/pipeline.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"
#include "events.h"
#include "proc/sockets.h"
#include "redact/redactor.h"

namespace agentwatch {

static_assert(kWatchedByKernel == (AW_WATCH_ON | AW_WATCH_INHERIT));

Pipeline::Pipeline(Options opts, WatchSink* sink, OutputFn out)
    : sink_(sink),
      out_(std::move(out)),
      q_(opts.queue_size, opts.queue_size - opts.queue_size / 4, opts.queue_payload_bytes),
      table_(opts.table),
      mcp_(4096, opts.tracker),
      correlator_(opts.correlator),
      engine_(opts.engine),
      matcher_(std::make_shared<WatchMatcher>()),
      sweep_(opts.sweep && opts.sweep_interval_ms > 0),
      sweep_alive_(opts.sweep_alive),
      sweep_interval_(opts.sweep_interval_ms) {
  mcp_.tracker().SetLookups(
      [this](uint32_t pid) -> const ProcessInfo* { return table_.Find(pid); },
      [this, live = opts.live_peer_lookup](uint32_t pid, uint64_t inode,
                                           bool stdio) -> uint32_t {
        if (stdio) {
          // Live: the process holding the other end of the server's stdio
          // (a socketpair's peer, or the writing end of its stdin pipe).
          if (live && inode != 0) {
            uint64_t peer = UnixPeerInode(inode);
            uint32_t c = peer != 0 ? FindInodeHolder("/proc", peer, pid)
                                   : FindInodeHolder("/proc", inode, pid, true);
            if (c != 0) return c;
          }
          return GuessClient(table_, pid);
        }
        if (!live) return 0;
        // The other end of a local TCP connection, found in /proc.
        uint64_t peer = TcpPeerInode("/proc", pid, inode);
        return peer != 0 ? FindInodeHolder("/proc", peer, pid) : 0;
      });
  correlator_.SetLookups(
      [this](const std::string& session, uint32_t server_pid) {
        return mcp_.tracker().SessionClient(session, server_pid);
      },
      [this](uint32_t pid, std::string* exe, uint64_t* start) {
        const ProcessInfo* p = table_.Find(pid);
        if (p == nullptr) return false;
        *exe = p->exe;
        *start = p->start_ns;
        return true;
      });
  Engine::Lookups l;
  l.server_name = [this](uint32_t pid) { return mcp_.tracker().ServerLabel(pid); };
  l.inventory = [this](const std::string& identity, v1::McpToolInventory* inv) {
    return mcp_.tracker().Inventory(identity, inv);
  };
  l.server_argv = [this](uint32_t pid) -> std::vector<std::string> {
    const ProcessInfo* p = table_.Find(pid);
    return p != nullptr ? p->argv : std::vector<std::string>{};
  };
  l.server_facts = [this](uint32_t pid, ServerFacts* f) {
    return mcp_.tracker().ServerFacts(pid, &f->label, &f->identity, &f->roots, &f->names);
  };
  l.kubernetes = [this](uint32_t pid, v1::Kubernetes* k) { return KubernetesOf(pid, k); };
  correlator_.SetKubernetesLookup(
      [this](uint32_t pid, v1::Kubernetes* k) { return KubernetesOf(pid, k); });
  l.node = NodeName();
  engine_.SetLookups(std::move(l));
  mcp_.SetEgressFilter([this](const v1::SockAddr& r) { return engine_.IsEgress(r); });
  mcp_.tracker().SetContentScanner(
      [this](const std::string& text, std::string* reason, std::string* excerpt) {
        return engine_.ScanContent(text, reason, excerpt);
      });
  mcp_.tracker().SetDefinitionScanner([this](const std::string& method, const std::string& result,
                                             std::string* reason, std::string* excerpt) {
    return engine_.ScanDefinitions(method, result, reason, excerpt);
  });
}

namespace {

// What a queued payload event costs in memory, roughly: its bytes and the
// strings and message around them.
uint64_t QueueWeight(const v1::Event& ev) {
  return ev.payload().data().size() + ev.process().cgroup_path().size() + 512;
}

// The queue's flow of an event: its user and cgroup (a pod, a service, a
// login session). A neighbour's flood queues behind itself, not in front
// of everyone; a server and what it runs stay in one order (same user and
// cgroup), as do an agent and the servers it starts. A process whose user
// or cgroup changes (setuid, sudo, a move to another cgroup) keeps its
// order: FlowFor() holds its first event in the new flow behind what the
// old flow had queued.
uint64_t FlowOf(const v1::Event& ev) {
  return (ev.process().cgroup_id() * 0x9E3779B97F4A7C15ull) ^ ev.process().uid();
}

}  // namespace

// The flow of each process's events: the flow of its last event (a child
// starts in its parent's, where its fork went). When an event's own flow
// differs, it goes there behind a barrier: the old flow's items queued so
// far are taken first.
uint64_t Pipeline::FlowFor(const v1::Event& ev, Queue::Barrier* after) {
  const uint64_t flow = FlowOf(ev);
  const uint32_t pid = ev.process().pid();
  if (pid == 0) return flow;
  std::lock_guard<std::mutex> lock(flows_mu_);
  if (pid_flows_.size() >= kMaxPidFlows) pid_flows_.clear();  // forget, never grow
  // A record made outside its process (no user or cgroup: a socket closed
  // in softirq) goes with the process.
  if (ev.process().cgroup_id() == 0) {
    auto known = pid_flows_.find(pid);
    return known != pid_flows_.end() ? known->second : flow;
  }
  auto [it, fresh] = pid_flows_.try_emplace(pid, flow);
  if (!fresh && it->second != flow) *after = {it->second, q_.pushed()};
  return flow;
}

void Pipeline::Pushed(uint32_t pid, v1::EventType type, uint32_t child, uint64_t flow) {
  if (pid == 0) return;
  std::lock_guard<std::mutex> lock(flows_mu_);
  if (type == v1::EVENT_TYPE_EXIT) {
    pid_flows_.erase(pid);
    return;
  }
  pid_flows_[pid] = flow;
  if (type == v1::EVENT_TYPE_FORK && child != 0 && child != pid) pid_flows_[child] = flow;
}

bool Pipeline::Push(v1::Event&& ev) {
  using Lane = Queue::Lane;
  Queue::Barrier after;
  const uint64_t flow = FlowFor(ev, &after);
  const uint32_t pid = ev.process().pid();
  const v1::EventType type = ev.type();
  // (A thread is no process of its own; a record made outside its process
  // says nothing of its flow.)
  const uint32_t child =
      type == v1::EVENT_TYPE_FORK && !ev.fork().thread() ? ev.fork().child_pid() : 0;
  const bool owned = ev.process().cgroup_id() != 0;
  const bool payload = ev.type() == v1::EVENT_TYPE_PAYLOAD;
  const uint64_t weight = payload ? QueueWeight(ev) : 0;
  const uint32_t owner = ev.process().pid();
  const Lane lane = payload ? Lane::kBulk : Lane::kPriority;
  // What was dropped is marked before the next event that gets in (one
  // mark for a run of drops, not one per drop: a flood that is refused
  // must not fill the queue with its marks). The count is taken whole and
  // given back if the mark does not get in, so producers on two threads
  // cannot both report one drop.
  const uint64_t lost = unreported_drops_.exchange(0);
  if (lost > 0) {
    v1::Event loss;
    loss.set_type(v1::EVENT_TYPE_LOSS);
    loss.set_time_unix_ns(ev.time_unix_ns());
    loss.set_ktime_ns(ev.ktime_ns());
    loss.set_lost(lost);
    loss.set_lost_reason("pipeline queue full");
    if (q_.TryPush(std::move(ev), lane, weight, owner, flow, &loss, after)) {
      if (owned) Pushed(pid, type, child, flow);
      return true;
    }
    unreported_drops_ += lost;
  } else if (q_.TryPush(std::move(ev), lane, weight, owner, flow, nullptr, after)) {
    if (owned) Pushed(pid, type, child, flow);
    return true;
  }
  ++(payload ? payload_drops_ : queue_drops_);
  ++unreported_drops_;
  // Said in the log, at most every 10 s, with what was dropped since.
  const int64_t now = static_cast<int64_t>(NowBoottimeNs());  // monotonic
  if (now - last_drop_log_ns_ >= 10'000'000'000) {
    const uint64_t all = payload_drops_ + queue_drops_;
    spdlog::warn("msg=\"pipeline queue full: events dropped\" dropped={} payload_total={} "
                 "other_total={} queued={}",
                 all - drops_logged_, payload_drops_.load(), queue_drops_.load(), q_.size());
    last_drop_log_ns_ = now;
    drops_logged_ = all;
  }
  return false;
}

void Pipeline::Run() {
  v1::Event ev;
  auto next_sweep = std::chrono::steady_clock::now() + sweep_interval_;
  while (true) {
    if (stop_ && drain_until_ns_ != INT64_MAX &&
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now().time_since_epoch())
                .count() >= drain_until_ns_) {
      cut_at_stop_ = q_.size();
      break;
    }
    if (sweep_ && std::chrono::steady_clock::now() >= next_sweep) {
      Sweep();
      next_sweep = std::chrono::steady_clock::now() + sweep_interval_;
    }
    if (q_.Pop(&ev, std::chrono::milliseconds(100))) {
      const uint64_t ktime = ev.ktime_ns();
      const auto began = std::chrono::steady_clock::now();
      Process(std::move(ev));
      // Its flow pays what it cost (the queue serves the flow that paid
      // least): a neighbour's expensive events slow the neighbour.
      q_.Charge(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - began)
                    .count());
      // From the kernel's timestamp to the end of processing (queue wait
      // included); live events only, as a replay's times are the trace's.
      if (ktime != 0) {
        const uint64_t now = NowBoottimeNs();
        latency_.Observe(now > ktime ? now - ktime : 0);
      }
      continue;
    }
    if (stop_ && q_.size() == 0) break;
  }
}

namespace {

// The initial pid namespace's inode (PROC_PID_INIT_INO): a daemon in
// another one (a container without the host's pids) sees other numbers
// than the probes report, and a sweep would end every process.
bool InHostPidNamespace() {
  char link[64] = {};
  const ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
  return n > 0 && std::string_view(link, static_cast<size_t>(n)) == "pid:[4026531836]";
}

// A pid or tid is there unless the kernel says no such process (EPERM,
// another user's process the daemon may not signal, is there).
bool KillZeroAlive(uint32_t pid) {
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

void Pipeline::Sweep() {
  if (!sweep_alive_) {
    if (!InHostPidNamespace()) {
      spdlog::warn("msg=\"lost-exit sweep off: the daemon runs in a pid namespace of its own "
                   "(run it with the host's pids)\"");
      sweep_ = false;
      return;
    }
    sweep_alive_ = KillZeroAlive;
  }
  std::vector<uint32_t> missing;
  table_.ForEach([&](const ProcessInfo& p) {
    if (!p.exited && p.pid != 0 && !sweep_alive_(p.pid)) missing.push_back(p.pid);
  });
  // Gone at one sweep and still running in the table at the
  // next, once every event queued before the first is processed (its exit
  // may have been among them, in any flow): its exit record was lost.
  const uint64_t now = NowBoottimeNs();
  const uint64_t queued = q_.pushed();
  std::map<uint32_t, uint64_t> suspects;
  size_t ended = 0;
  for (uint32_t pid : missing) {
    auto s = sweep_suspects_.find(pid);
    if (s == sweep_suspects_.end() || !q_.TakenThrough(s->second)) {
      suspects[pid] = s == sweep_suspects_.end() ? queued : s->second;
      continue;
    }
    v1::Event ex;
    ex.set_type(v1::EVENT_TYPE_EXIT);
    ex.set_time_unix_ns(NowUnixNs());
    ex.set_ktime_ns(now);
    ex.mutable_process()->set_pid(pid);
    ex.mutable_process()->set_tid(pid);
    ex.mutable_exit()->set_swept(true);
    Process(std::move(ex));
    ++swept_exits_;
    ++ended;
  }
  if (ended > 0)
    spdlog::info("msg=\"processes found gone by the sweep (exit records lost)\" ended={} "
                 "total={}",
                 ended, swept_exits_.load());
  sweep_suspects_ = std::move(suspects);
}

std::vector<std::pair<v1::EventType, uint64_t>> Pipeline::EventsByType() const {
  std::vector<std::pair<v1::EventType, uint64_t>> out;
  for (size_t t = 0; t < by_type_.size(); ++t) {
    const uint64_t n = by_type_[t].load(std::memory_order_relaxed);
    if (n > 0 && v1::EventType_IsValid(static_cast<int>(t)))
      out.emplace_back(static_cast<v1::EventType>(t), n);
  }
  return out;
}

void Pipeline::Stop(std::chrono::milliseconds drain) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  const int64_t ns = drain == std::chrono::milliseconds::max()
                         ? INT64_MAX
                         : now + std::chrono::duration_cast<std::chrono::nanoseconds>(drain).count();
  drain_until_ns_ = ns;
  stop_ = true;
  q_.Close();
}

void Pipeline::SetWatchRules(std::vector<WatchRule> rules,
                             std::vector<uint32_t> pids) {
  // Rules that name one exact executable (and nothing else) are enforced in
  // the kernel at exec, too.
  std::vector<std::string> exact;
  for (const auto& r : rules) {
    if (!r.exe.empty() && r.argv_contains.empty() && r.comm.empty() &&
        r.exe.find_first_of("*?[") == std::string::npos) {
      exact.push_back(r.exe);
    }
  }
  if (sink_ != nullptr &&
      !sink_->WatchExecutables(exact, AW_WATCH_ON | AW_WATCH_INHERIT)) {
    spdlog::warn("msg=\"cannot load exact-path watch rules into the kernel\" "
                 "count={}",
                 exact.size());
  }
  auto m = std::make_shared<WatchMatcher>(std::move(rules), std::move(pids));
  std::lock_guard<std::mutex> lock(rules_mu_);
  pending_matcher_ = std::move(m);
}

void Pipeline::MaybeWatch(ProcessInfo* p, const char* why) {
  if (p == nullptr || p->exited || p->watch_flags != 0) return;
  std::string rule = matcher_->Match(*p);
  if (rule.empty()) {
    // A process whose parent is watched (started before we knew) is
    // watched too, as the kernel would have done at fork.
    ProcessInfo* parent = table_.Find(p->ppid);
    if (parent == nullptr || parent->exited ||
        !(parent->watch_flags & AW_WATCH_INHERIT))
      return;
    rule = "inherited:" + std::to_string(parent->pid);
  }
  const uint32_t flags = AW_WATCH_ON | AW_WATCH_INHERIT;
  if (sink_ != nullptr && !sink_->Watch(p->pid, flags)) {
    spdlog::warn("msg=\"cannot mark process watched\" pid={}", p->pid);
    return;
  }
  p->watch_flags = flags;
  spdlog::info("msg=\"watching process\" pid={} exe={} rule={} on={}", p->pid,
               p->exe, rule, why);
}

void Pipeline::PostureOf(const ProcessInfo& p, std::vector<v1::Event>* derived) {
  if (sink_ == nullptr || p.exited) return;
  // Bounded: a host that starts servers forever forgets the oldest.
  constexpr size_t kMaxSeen = 4096;
  if (posture_seen_.size() >= kMaxSeen) posture_seen_.clear();
  if (posture_fingerprints_.size() >= kMaxSeen) posture_fingerprints_.clear();
  if (!posture_seen_.insert(ProcessInstanceId(p.pid, p.start_ns) + "/server").second) return;
  // The agent: the nearest ancestor that is no launcher (a shell, npx,
  // uvx, env, sudo) between it and the server.
  auto launcher = [](const ProcessInfo& a) {
    const std::string_view base = std::string_view(a.exe).substr(a.exe.rfind('/') + 1);
    static const char* kLaunchers[] = {"sh", "bash", "dash", "zsh", "env", "sudo", "npx", "npm",
                                       "uv", "uvx", "pipx", "timeout", "tini", "dumb-init"};
    for (const char* l : kLaunchers)
      if (base == l) return true;
    // An interpreter running a launcher's script (node npx, python pipx:
    // argv[1] is the script's path when it ran through its shebang).
    if (a.argv.size() < 2) return false;
    const std::string_view script = std::string_view(a.argv[1]).substr(a.argv[1].rfind('/') + 1);
    for (const char* l : kLaunchers)
      if (script == l) return true;
    for (const char* l : {"bunx", "pnpm", "yarn", "npx-cli.js", "npm-cli.js"})
      if (script == l) return true;
    return a.argv[1].find("/npm/bin/") != std::string::npos;
  };
  uint32_t agent = 0;
  uint64_t agent_start = 0;
  const ProcessInfo* up = p.ppid > 1 ? table_.Find(p.ppid) : nullptr;
  for (int depth = 0; up != nullptr && depth < 6; ++depth) {
    if (!launcher(*up)) break;
    up = up->ppid > 1 ? table_.Find(up->ppid) : nullptr;
  }
  if (up != nullptr && !up->exited && up->pid > 1 &&
      posture_seen_.insert(ProcessInstanceId(up->pid, up->start_ns) + "/agent").second) {
    agent = up->pid;
    agent_start = up->start_ns;
  }
  // Rotated: the same program (its executable and command line) held
  // another credential under the same name when it was last seen; names
  // repeated within one scan (docker -e, -e) are not compared.
  std::set<std::string> this_scan;
  std::map<uint32_t, size_t> program;  // pid -> hash of its exe and argv
  auto program_of = [&](uint32_t pid) {
    auto [it, added] = program.emplace(pid, 0);
    if (const ProcessInfo* who = added ? table_.Find(pid) : nullptr; who != nullptr) {
      std::string text = who->exe;
      for (const std::string& a : who->argv) text += '\0' + a;
      it->second = std::hash<std::string>{}(text);
    }
    return it->second;
  };
  for (v1::Event& e : sink_->Posture(p.pid, p.start_ns, agent, agent_start)) {
    const v1::PostureInfo& c = e.posture();
    const std::string key = fmt::format("{:016x}|{}|{}|{}", program_of(e.process().pid()),
                                        c.subject(), c.source(), c.name());
    if (this_scan.insert(key).second) {
      std::string& last = posture_fingerprints_[key];
      if (!last.empty() && last != c.fingerprint())
        e.mutable_posture()->set_previous_fingerprint(last);
      last = c.fingerprint();
    }
    ++posture_findings_;
    derived->push_back(std::move(e));
  }
}

void Pipeline::OnMcpServer(ProcessInfo* p, std::vector<v1::Event>* derived) {
  if (p == nullptr) return;
  ++servers_discovered_;
  spdlog::info("msg=\"MCP server discovered\" pid={} exe={}", p->pid, p->exe);
  PostureOf(*p, derived);
  // A server found by its traffic stays watched, with its children.
  if ((p->watch_flags & kWatchedByKernel) == kWatchedByKernel || p->exited)
    return;
  const uint32_t flags = AW_WATCH_ON | AW_WATCH_INHERIT;
  if (sink_ != nullptr && !sink_->Watch(p->pid, flags)) {
    spdlog::warn("msg=\"cannot mark process watched\" pid={}", p->pid);
    return;
  }
  p->watch_flags = flags;
}

void Pipeline::RewatchAll() {
  // Parents before children: walk by ancestry depth so inheritance works
  // for trees that started before the rules existed.
  std::vector<std::pair<size_t, uint32_t>> order;
  table_.ForEach([&](const ProcessInfo& p) {
    order.emplace_back(table_.Ancestry(p.pid).size(), p.pid);
  });
  std::sort(order.begin(), order.end());
  for (auto& [depth, pid] : order) MaybeWatch(table_.Find(pid), "rules");
}

void Pipeline::Process(v1::Event ev) {
  if (recorder_ != nullptr) recorder_->Write(ev);
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    if (pending_matcher_) {
      matcher_ = std::move(pending_matcher_);
      pending_matcher_.reset();
      RewatchAll();
    }
  }
  std::vector<v1::Event> derived;
  Handle(ev, &derived);
  // What a process's exit ends (its calls left unanswered, its sessions)
  // comes before the exit itself, so those calls keep their effects.
  const bool exit = ev.type() == v1::EVENT_TYPE_EXIT;
  if (!exit) Publish(ev);
  for (auto& d : derived) {
    table_.Annotate(&d);
    Publish(d);
  }
  if (exit) Publish(ev);
  ++processed_;
  // Exited processes linger so late events resolve; expire (and count the
  // watched, a full walk) once a second of kernel time.
  if (ev.ktime_ns() >= next_maintenance_ns_) {
    next_maintenance_ns_ = ev.ktime_ns() + 1000000000ull;
    table_.Expire(ev.ktime_ns());
    watched_ = table_.watched_count();
  }
  table_size_ = table_.size();
  table_evictions_ = table_.evictions();
}

bool Pipeline::KubernetesOf(uint32_t pid, v1::Kubernetes* k) {
  const ProcessInfo* p = pid != 0 ? table_.Find(pid) : nullptr;
  if (p == nullptr || !PodIdentity(*p, k)) return false;
  if (pods_ != nullptr) pods_->Fill(k);
  return true;
}

void Pipeline::Publish(v1::Event& ev) {
  ev.set_seq(++seq_);
  // The redaction stage: what is published (to subscribers, the store,
  // sinks, the correlator and the engine) has every string field masked;
  // what needed the raw text (result scans, fingerprints, outbound
  // inspection) ran before, in the MCP stage and the tracker.
  const auto redactor = DefaultRedactor();
  redactor->RedactMessage(&ev);
  // Pod names known by now, on what is published (stored, exported).
  if (pods_ != nullptr) {
    std::string name, ns;
    if (!ev.process().pod_uid().empty() && pods_->Names(ev.process().pod_uid(), &name, &ns)) {
      ev.mutable_process()->set_pod_name(std::move(name));
      ev.mutable_process()->set_pod_namespace(std::move(ns));
    }
    if (ev.type() == v1::EVENT_TYPE_CHAIN_UPDATE && ev.chain_update().chain().has_agent_kubernetes()) {
      pods_->Fill(ev.mutable_chain_update()->mutable_chain()->mutable_agent_kubernetes());
    } else if (ev.type() == v1::EVENT_TYPE_MCP_CALL && ev.call().has_server_kubernetes()) {
      pods_->Fill(ev.mutable_call()->mutable_server_kubernetes());
    }
  }
  if (ev.type() >= 0 && static_cast<size_t>(ev.type()) < by_type_.size())
    by_type_[ev.type()].fetch_add(1, std::memory_order_relaxed);
  std::vector<uint32_t> lineage;
  if (ev.process().pid() != 0) {
    lineage.push_back(ev.process().pid());
    auto anc = table_.Ancestry(ev.process().pid());
    lineage.insert(lineage.end(), anc.begin(), anc.end());
  }
  if (ev.type() == v1::EVENT_TYPE_EXEC) {
    for (size_t i = 1; i < lineage.size(); ++i)
      ev.mutable_exec()->add_ancestry(lineage[i]);
  }
  if (out_) out_(ev, lineage);
  std::vector<v1::ChainUpdate> updates;
  Attribution who;
  correlator_.OnEvent(ev, lineage, &updates, &who);
  static const std::vector<uint32_t> kNoLineage;
  std::vector<v1::Event> alerts;
  engine_.OnEvent(ev, std::move(who), &alerts);
  for (auto& u : updates) {
    // Chain updates follow the event that made them; they belong to no
    // process, and the correlator does not see them again.
    v1::Event ue;
    ue.set_seq(++seq_);
    ue.set_time_unix_ns(ev.time_unix_ns());
    ue.set_ktime_ns(ev.ktime_ns());
    ue.set_type(v1::EVENT_TYPE_CHAIN_UPDATE);
    *ue.mutable_chain_update() = std::move(u);
    redactor->RedactMessage(&ue);
    if (out_) out_(ue, kNoLineage);
  }
  for (auto& a : alerts) {
    // Alerts follow the event that completed their pattern.
    a.set_seq(++seq_);
    a.set_ktime_ns(ev.ktime_ns());
    redactor->RedactMessage(&a);
    if (out_) out_(a, kNoLineage);
  }
}

void Pipeline::Handle(v1::Event& ev, std::vector<v1::Event>* derived) {
  if (ev.type() == v1::EVENT_TYPE_LOSS) return;
  ProcessInfo* p = table_.Apply(ev);
  switch (ev.type()) {
    case v1::EVENT_TYPE_PAYLOAD:
      mcp_.OnPayload(&ev, p, derived);
      for (uint32_t pid : mcp_.TakeNewServers()) OnMcpServer(table_.Find(pid), derived);
      for (uint32_t pid : mcp_.TakeNotMcp()) {
        // Probed and found not to speak MCP: stop probing it.
        ProcessInfo* np = table_.Find(pid);
        if (sink_ != nullptr && (np == nullptr || np->watch_flags == 0))
          sink_->Watch(pid, AW_WATCH_NOT_MCP);
        ++probes_not_mcp_;
      }
      mcp_messages_ = mcp_.counters().messages;
      mcp_invalid_ = mcp_.counters().invalid;
      stream_gaps_ = mcp_.counters().stream_gaps;
      stream_gap_bytes_ = mcp_.counters().stream_gap_bytes;
      streams_evicted_for_memory_ = mcp_.counters().streams_evicted_for_memory;
      break;
    case v1::EVENT_TYPE_EXIT:
      mcp_.OnExit(ev, derived);
      tls_checked_.erase(ev.process().pid());
      break;
    case v1::EVENT_TYPE_EXEC:
      MaybeWatch(p, "exec");
      if (p != nullptr && p->watch_flags != 0 && sink_ != nullptr) {
        tls_checked_.erase(p->pid);
        sink_->CheckTls(p->pid, true);
      }
      break;
    case v1::EVENT_TYPE_NET_CLOSE:
      mcp_.OnClose(ev);
      break;
    case v1::EVENT_TYPE_NET_CONNECT:
      mcp_.OnConnect(ev);
      // Libraries are loaded by now; TLS comes after the connect.
      if (p != nullptr && p->watch_flags != 0 && sink_ != nullptr &&
          tls_checked_.insert(p->pid).second)
        sink_->CheckTls(p->pid, false);
      break;
    case v1::EVENT_TYPE_PROCESS_SNAPSHOT:
      MaybeWatch(p, "snapshot");
      // A server an earlier run knew (same pid and start time) is watched
      // at once, so its next call's effects are seen, not only its traffic.
      if (p != nullptr && p->watch_flags == 0 &&
          known_servers_.count(ProcessInstanceId(p->pid, p->start_ns))) {
        const uint32_t flags = AW_WATCH_ON | AW_WATCH_INHERIT;
        if (sink_ == nullptr || sink_->Watch(p->pid, flags)) {
          p->watch_flags = flags;
          spdlog::info("msg=\"watching process\" pid={} exe={} rule=store on=snapshot",
                       p->pid, p->exe);
        }
      }
      // Running before the daemon: a stdio server is recognised by the next
      // message it reads.
      if (p != nullptr && p->watch_flags == 0 && sink_ != nullptr)
        sink_->ProbeRunning(p->pid);
      break;
    default:
      break;
  }
  table_.Annotate(&ev);
  if (p != nullptr && p->watch_flags != 0) ev.mutable_process()->set_watched(true);
}

}  // namespace agentwatch
