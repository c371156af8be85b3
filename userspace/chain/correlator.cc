#include "chain/correlator.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"
#include "redact/redact.h"
#include "model/event_text.h"

namespace agentwatch {
namespace {

bool IsEffect(v1::EventType t) {
  switch (t) {
    case v1::EVENT_TYPE_EXEC:
    case v1::EVENT_TYPE_FILE_OPEN:
    case v1::EVENT_TYPE_FILE_UNLINK:
    case v1::EVENT_TYPE_FILE_RENAME:
    case v1::EVENT_TYPE_NET_CONNECT:
    case v1::EVENT_TYPE_NET_ACCEPT:
    case v1::EVENT_TYPE_NET_BIND:
    case v1::EVENT_TYPE_NET_LISTEN:
    case v1::EVENT_TYPE_NET_CLOSE:
    case v1::EVENT_TYPE_DNS_QUERY:
    case v1::EVENT_TYPE_CAPTURE_EVADED:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string EffectSummary(const v1::Event& ev) {
  switch (ev.type()) {
    case v1::EVENT_TYPE_EXEC:
      return fmt::format("exec {} [{}]", ev.exec().filename(),
                         RedactedArgv({ev.exec().argv().begin(), ev.exec().argv().end()}));
    case v1::EVENT_TYPE_FILE_OPEN:
      return fmt::format("open {} {} = {}", ev.file().path(), ev.file().flags_text(),
                         SyscallResultText(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_FILE_UNLINK:
      return fmt::format("unlink {} = {}", ev.file().path(),
                         SyscallResultText(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_FILE_RENAME:
      return fmt::format("rename {} -> {} = {}", ev.file().path(),
                         ev.file().new_path(),
                         SyscallResultText(ev.file().result(), ev.file().error()));
    case v1::EVENT_TYPE_NET_CONNECT:
    case v1::EVENT_TYPE_NET_ACCEPT:
    case v1::EVENT_TYPE_NET_BIND:
    case v1::EVENT_TYPE_NET_LISTEN: {
      const auto& n = ev.net();
      return fmt::format("{} {} {} -> {} = {}", n.syscall(), n.protocol(),
                         SockAddrText(n.local()), SockAddrText(n.remote()),
                         SyscallResultText(n.result(), n.error()));
    }
    case v1::EVENT_TYPE_NET_CLOSE: {
      const auto& n = ev.net();
      return fmt::format("close {} {} -> {} sent={} recv={}", n.protocol(),
                         SockAddrText(n.local()), SockAddrText(n.remote()), n.bytes_sent(),
                         n.bytes_received());
    }
    case v1::EVENT_TYPE_DNS_QUERY: {
      std::string names;
      for (const auto& n : ev.dns().names()) names += (names.empty() ? "" : ",") + n;
      return fmt::format("dns {} via {}", names, SockAddrText(ev.dns().server()));
    }
    case v1::EVENT_TYPE_CAPTURE_EVADED:
      return EvasionText(ev.evasion());
    default:
      return "";
  }
}

void Correlator::SetNextChainId(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (chains_.empty()) next_chain_ = std::max<uint64_t>(id, 1);
}

void Correlator::OnEvent(const v1::Event& ev,
                         const std::vector<uint32_t>& lineage,
                         std::vector<v1::ChainUpdate>* updates, Attribution* who) {
  std::lock_guard<std::mutex> lock(mu_);
  updates_ = updates;
  if (ev.ktime_ns() >= next_expire_) {
    next_expire_ = ev.ktime_ns() + 1000000000ull;
    Expire(ev.ktime_ns());
  }
  switch (ev.type()) {
    case v1::EVENT_TYPE_MCP_MESSAGE:
      if (ev.mcp().kind() == "request" && ev.mcp().direction() == "in")
        OnRequest(ev);
      break;
    case v1::EVENT_TYPE_MCP_CALL:
      OnCall(ev);
      break;
    case v1::EVENT_TYPE_EXIT:
      OnExit(ev.process().pid(), ev.time_unix_ns());
      break;
    default:
      break;
  }
  // One walk up the lineage serves the chain and the attribution.
  Owner owner;
  if (IsEffect(ev.type())) {
    owner = OwnerOf(lineage, ev.process().pid());
    OnEffect(ev, owner);
  } else if (ev.type() == v1::EVENT_TYPE_PAYLOAD && ev.payload().has_remote()) {
    owner = OwnerOf(lineage, ev.process().pid());  // bytes sent outside: whose
  }
  if (who != nullptr) *who = AttributionOf(ev, owner);
  updates_ = nullptr;
}

void Correlator::OnRequest(const v1::Event& ev) {
  // A request a process read: a call to it, in flight until its MCP_CALL.
  // (A process that turns out not to be an MCP server never gets one; its
  // entries expire.)
  Server& s = servers_[ev.process().pid()];
  if (s.inflight.size() >= opts_.max_inflight_per_server) {
    s.inflight.erase(s.inflight.begin());  // the oldest
    ++counters_.inflight_expired;
  }
  s.inflight.emplace(InFlightKey(ev.ktime_ns(), ev.mcp().id()), InFlight());
}

void Correlator::OnCall(const v1::Event& ev) {
  const v1::McpCall& c = ev.call();
  const bool from_client = c.initiator() == "client" && c.server_pid() != 0;
  InFlight f;
  auto s = from_client ? servers_.find(c.server_pid()) : servers_.end();
  if (s != servers_.end()) {
    auto it = s->second.inflight.find(InFlightKey(c.started_ktime_ns(), c.request_id()));
    if (it != s->second.inflight.end()) {
      f = std::move(it->second);
      s->second.inflight.erase(it);
    }
  }
  v1::ChainEntry entry;
  *entry.mutable_call() = c;
  for (auto& x : f.effects) *entry.add_effects() = std::move(x);
  const uint32_t agent =
      from_client && agent_fn_ ? agent_fn_(c.session_id(), c.server_pid()) : 0;
  v1::Chain* chain =
      agent != 0 ? ChainFor(agent, c.started_unix_ns(), c.started_ktime_ns()) : nullptr;
  if (chain == nullptr) {
    // No known client (a remote one, one gone before it was looked up, or
    // the server asking its client): kept, in no chain.
    ++counters_.unchained_calls;
    if (updates_ != nullptr) {
      v1::ChainUpdate& u = updates_->emplace_back();
      *u.mutable_entry() = std::move(entry);
    }
    return;
  }
  chain->set_calls(chain->calls() + 1);
  chain->set_effects(chain->effects() + entry.effects_size());
  chain->set_end_unix_ns(std::max<int64_t>(chain->end_unix_ns(),
                                           c.started_unix_ns() + c.latency_ns()));
  last_ktime_[agent] = c.started_ktime_ns() + c.latency_ns();
  if (chain->entries_size() >= static_cast<int>(opts_.max_entries_per_chain)) {
    // Counted and handed on (the store keeps it), not held in memory.
    counters_.effects_dropped += entry.effects_size();
    Emit(*chain, &entry);
  } else {
    *chain->add_entries() = std::move(entry);
    Emit(*chain, &chain->entries(chain->entries_size() - 1));
  }
  for (const auto& f : c.written_by()) NoteCrossAgentRead(f, c, agent, *chain);
}

v1::Chain* Correlator::WriterChain(const v1::DataFlow& f) {
  // An agent's chains follow each other and its calls end (get their ids)
  // in order: the writing call is in the newest of its chains that began
  // with an earlier call. None when that chain is no longer in memory.
  for (auto it = chains_.rbegin(); it != chains_.rend(); ++it) {
    if (it->agent_pid() != f.from_agent_pid()) continue;
    // A pid reused by another process is another agent (ids end in "-0"
    // when the start time was not known).
    const std::string& id = it->agent_id();
    if (id != f.from_agent_id() && !id.ends_with("-0") && !f.from_agent_id().ends_with("-0"))
      continue;
    for (const auto& e : it->entries()) {
      if (!e.has_call()) continue;
      if (e.call().call_id() <= f.from_call_id()) return &*it;
      break;  // began after the call: an older chain has it
    }
  }
  return nullptr;
}

void Correlator::NoteCrossAgentRead(const v1::DataFlow& f, const v1::McpCall& c,
                                    uint32_t reader, const v1::Chain& reader_chain) {
  if (f.from_agent_pid() == 0 || f.from_agent_pid() == reader) return;
  // Once per writing call and reading agent (an agent polling the shared
  // server reads the same note again and again).
  const auto key = std::make_pair(f.from_call_id(), reader_chain.agent_id());
  if (!reads_seen_.insert(key).second) return;
  reads_order_.push_back(key);
  if (reads_order_.size() > 4096) {
    reads_seen_.erase(reads_order_.front());
    reads_order_.pop_front();
  }
  v1::Chain* chain = WriterChain(f);
  if (chain == nullptr) {
    ++counters_.cross_agent_unchained;
    return;
  }
  v1::ChainEntry entry;
  v1::CrossAgentRead* r = entry.mutable_read_by_agent();
  r->set_from_call_id(f.from_call_id());
  r->set_from_tool(f.from_tool());
  r->set_call_id(c.call_id());
  r->set_tool(c.tool().empty() ? c.method() : c.tool());
  r->set_server_id(c.server_id());
  r->set_agent_pid(reader);
  r->set_agent_id(reader_chain.agent_id());
  r->set_shared_fingerprints(f.shared_fingerprints());
  r->set_time_unix_ns(c.started_unix_ns() + static_cast<int64_t>(c.latency_ns()));
  // The verdict, when the flagged text is the writer's.
  if (f.flagged()) r->set_content_flag(Redact(c.content_flag(), 1024));
  ++counters_.cross_agent_reads;
  if (chain->entries_size() >= static_cast<int>(opts_.max_entries_per_chain)) {
    Emit(*chain, &entry);  // handed on (the store keeps it), not held
    return;
  }
  *chain->add_entries() = std::move(entry);
  Emit(*chain, &chain->entries(chain->entries_size() - 1));
}

void Correlator::Emit(const v1::Chain& chain, const v1::ChainEntry* entry) {
  if (updates_ == nullptr) return;
  v1::ChainUpdate& u = updates_->emplace_back();
  v1::Chain* h = u.mutable_chain();
  h->set_id(chain.id());
  h->set_agent_pid(chain.agent_pid());
  h->set_agent_id(chain.agent_id());
  h->set_agent_exe(chain.agent_exe());
  h->set_start_unix_ns(chain.start_unix_ns());
  h->set_end_unix_ns(chain.end_unix_ns());
  h->set_calls(chain.calls());
  h->set_effects(chain.effects());
  h->set_open(chain.open());
  if (chain.has_agent_kubernetes()) *h->mutable_agent_kubernetes() = chain.agent_kubernetes();
  if (entry != nullptr) *u.mutable_entry() = *entry;
}

Correlator::Owner Correlator::OwnerOf(const std::vector<uint32_t>& lineage,
                                     uint32_t pid) const {
  Owner o;
  for (uint32_t p : lineage) {
    if (servers_.count(p)) {
      o.server = p;
      return o;
    }
    if (p != pid && open_chain_.count(p)) {
      o.agent = p;  // started by an agent, not by one of its servers
      return o;
    }
  }
  return o;
}

v1::Chain* Correlator::Find(uint64_t id) {
  if (chains_.empty() || id < chains_.front().id() || id > chains_.back().id())
    return nullptr;
  return &chains_[id - chains_.front().id()];
}

void Correlator::OnEffect(const v1::Event& ev, const Owner& owner) {
  // Where the effect goes: the calls in flight in the nearest server above
  // it, else an agent that started it. Most events (every exec on the host)
  // go nowhere, so the record is only built once there is a place for it.
  std::vector<InFlight*> cands;
  const uint32_t agent = owner.agent;  // when started by an agent itself
  if (owner.server != 0) {
    for (auto& [k, f] : servers_.at(owner.server).inflight) {
      if (k.first > ev.ktime_ns()) break;  // the rest started after it
      cands.push_back(&f);
    }
    if (cands.empty()) {
      ++counters_.effects_background;
      return;
    }
  }
  if (cands.empty() && agent == 0) return;

  v1::ChainEffect x;
  x.set_seq(ev.seq());
  x.set_ktime_ns(ev.ktime_ns());
  x.set_time_unix_ns(ev.time_unix_ns());
  x.set_pid(ev.process().pid());
  x.set_comm(ev.process().comm());
  x.set_type(ev.type());
  // Command lines and paths can carry secrets too.
  x.set_summary(Redact(EffectSummary(ev), 2048));
  x.set_candidates(cands.empty() ? 1 : cands.size());
  x.set_confidence(1.0 / static_cast<double>(x.candidates()));
  if (!cands.empty()) {
    ++counters_.effects_attributed;
    if (cands.size() > 1) ++counters_.effects_ambiguous;
    for (InFlight* f : cands) {
      if (f->effects.size() >= opts_.max_effects_per_call) {
        ++counters_.effects_dropped;
        continue;
      }
      f->effects.push_back(x);
    }
    return;
  }
  v1::Chain* chain = ChainFor(agent, ev.time_unix_ns(), ev.ktime_ns());
  if (chain == nullptr) return;
  chain->set_effects(chain->effects() + 1);
  chain->set_end_unix_ns(std::max(chain->end_unix_ns(), ev.time_unix_ns()));
  last_ktime_[agent] = ev.ktime_ns();
  ++counters_.effects_agent;
  v1::ChainEntry entry;
  *entry.mutable_agent_effect() = std::move(x);
  if (chain->entries_size() >= static_cast<int>(opts_.max_entries_per_chain)) {
    ++counters_.effects_dropped;  // from memory; handed on all the same
    Emit(*chain, &entry);
    return;
  }
  *chain->add_entries() = std::move(entry);
  Emit(*chain, &chain->entries(chain->entries_size() - 1));
}

v1::Chain* Correlator::ChainFor(uint32_t agent, int64_t time_unix_ns,
                                uint64_t ktime) {
  auto open = open_chain_.find(agent);
  if (open != open_chain_.end()) {
    auto last = last_ktime_.find(agent);
    const bool idle = last != last_ktime_.end() && ktime > last->second &&
                      ktime - last->second > opts_.idle_gap_ns;
    v1::Chain* c = Find(open->second);
    if (!idle && c != nullptr) return c;
    if (c != nullptr) {
      c->set_open(false);
      Emit(*c, nullptr);
    }
  }
  while (chains_.size() >= opts_.max_chains) {
    // Forget the oldest chain; its agent's open chain only if it is this one
    // (then it ends here).
    auto o = open_chain_.find(chains_.front().agent_pid());
    if (o != open_chain_.end() && o->second == chains_.front().id()) {
      open_chain_.erase(o);
      chains_.front().set_open(false);
      Emit(chains_.front(), nullptr);
    }
    chains_.pop_front();
  }
  v1::Chain c;
  c.set_id(next_chain_++);
  c.set_agent_pid(agent);
  c.set_start_unix_ns(time_unix_ns);
  c.set_end_unix_ns(time_unix_ns);
  c.set_open(true);
  std::string exe;
  uint64_t start = 0;
  if (process_fn_ && process_fn_(agent, &exe, &start)) {
    c.set_agent_exe(exe);
    c.set_agent_id(ProcessInstanceId(agent, start));
  } else {
    c.set_agent_id(fmt::format("{}-0", agent));
  }
  v1::Kubernetes k;
  if (kube_fn_ && kube_fn_(agent, &k)) *c.mutable_agent_kubernetes() = std::move(k);
  chains_.push_back(std::move(c));
  open_chain_[agent] = chains_.back().id();
  last_ktime_[agent] = ktime;
  ++counters_.chains;
  return &chains_.back();
}

void Correlator::OnExit(uint32_t pid, int64_t time_unix_ns) {
  auto open = open_chain_.find(pid);
  if (open != open_chain_.end()) {
    if (v1::Chain* c = Find(open->second); c != nullptr) {
      c->set_open(false);
      c->set_end_unix_ns(std::max(c->end_unix_ns(), time_unix_ns));
      Emit(*c, nullptr);
    }
    open_chain_.erase(open);
    last_ktime_.erase(pid);
  }
  servers_.erase(pid);  // its in-flight calls end with their MCP_CALL first
}

void Correlator::Expire(uint64_t ktime) {
  // Requests never answered (or read by a process that is no MCP server).
  // The server entries stay until exit: they tell a server's background
  // activity from its agent's.
  for (auto& [pid, s] : servers_) {
    while (!s.inflight.empty()) {  // oldest first
      const uint64_t start = s.inflight.begin()->first.first;
      if (ktime <= start || ktime - start <= opts_.inflight_max_age_ns) break;
      ++counters_.inflight_expired;
      s.inflight.erase(s.inflight.begin());
    }
  }
}

std::vector<v1::Chain> Correlator::Chains(uint32_t agent_pid,
                                          int64_t since_unix_ns,
                                          size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (limit == 0) limit = 100;
  std::vector<v1::Chain> out;
  for (auto it = chains_.rbegin(); it != chains_.rend() && out.size() < limit; ++it) {
    if (agent_pid != 0 && it->agent_pid() != agent_pid) continue;
    if (it->end_unix_ns() < since_unix_ns) continue;
    v1::Chain c = *it;
    c.clear_entries();
    out.push_back(std::move(c));
  }
  return out;
}

bool Correlator::Chain(uint64_t id, v1::Chain* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (chains_.empty() || id < chains_.front().id() || id > chains_.back().id())
    return false;
  *out = chains_[id - chains_.front().id()];
  return true;
}

Attribution Correlator::AttributionOf(const v1::Event& ev, const Owner& owner) const {
  Attribution a;
  if (ev.type() == v1::EVENT_TYPE_MCP_CALL || ev.type() == v1::EVENT_TYPE_MCP_TOOLS_CHANGED) {
    const uint32_t server = ev.type() == v1::EVENT_TYPE_MCP_CALL ? ev.call().server_pid()
                                                                 : ev.process().pid();
    a.server = server;
    if (agent_fn_)
      a.agent = agent_fn_(ev.type() == v1::EVENT_TYPE_MCP_CALL ? ev.call().session_id() : "",
                          server);
  } else {
    a.server = owner.server;
    a.agent = owner.agent;
    if (owner.server != 0 && agent_fn_) a.agent = agent_fn_("", owner.server);
  }
  if (a.agent != 0) {
    if (auto c = open_chain_.find(a.agent); c != open_chain_.end()) a.chain = c->second;
    uint64_t start = 0;
    if (process_fn_ && process_fn_(a.agent, &a.agent_exe, &start)) {
      a.agent_id = ProcessInstanceId(a.agent, start);
    } else {
      a.agent_id = ProcessInstanceId(a.agent, 0);
    }
  }
  return a;
}

Correlator::Counters Correlator::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace agentwatch
