// Action chains: every kernel effect of an MCP server (or of a process it
// started) is tied to the tool calls in flight in that server when it
// happened; an agent's own activity (processes it starts that are not MCP
// servers) is tied to the agent. A chain is an agent's calls and effects in
// time order, until an idle gap or the agent's exit.
//
// Fed with the pipeline's published events in order (so seq and lineage are
// set); deterministic, so a replay rebuilds the same chains. Written by the
// pipeline thread, read by API threads (internally locked). In memory and
// bounded; every step is also handed out as a ChainUpdate, which the
// pipeline publishes (StreamChainUpdates) and the store persists.
#ifndef AGENTWATCH_CHAIN_CORRELATOR_H_
#define AGENTWATCH_CHAIN_CORRELATOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "model/attribution.h"

namespace agentwatch {

// "open /etc/hosts O_RDONLY = 3", "connect tcp 10.0.0.1:443 = 0", ...
std::string EffectSummary(const v1::Event& ev);

class Correlator {
 public:
  struct Options {
    uint64_t idle_gap_ns = 10ull * 60 * 1000000000;  // a new chain after this
    uint64_t inflight_max_age_ns = 30ull * 60 * 1000000000;
    size_t max_effects_per_call = 512;
    size_t max_entries_per_chain = 10000;
    size_t max_chains = 1000;  // kept, oldest dropped first
    size_t max_inflight_per_server = 4096;  // oldest evicted first
  };
  struct Counters {
    uint64_t effects_attributed = 0;   // to one or more calls
    uint64_t effects_ambiguous = 0;    // to more than one call
    uint64_t effects_background = 0;   // of a server, outside any call
    uint64_t effects_agent = 0;        // an agent's own activity
    uint64_t effects_dropped = 0;      // over a bound
    uint64_t inflight_expired = 0;     // by age or count
    uint64_t unchained_calls = 0;      // calls with no known agent
    uint64_t chains = 0;
    uint64_t cross_agent_reads = 0;      // put in the writer's chain
    uint64_t cross_agent_unchained = 0;  // the writer's chain is gone
  };
  // The agent (client process) of a session, 0 if unknown.
  using AgentFn = std::function<uint32_t(const std::string& session_id,
                                         uint32_t server_pid)>;
  // Describes an agent process: exe, start time; false if unknown.
  using ProcessFn =
      std::function<bool(uint32_t pid, std::string* exe, uint64_t* start_ns)>;

  Correlator() : Correlator(Options{}) {}
  explicit Correlator(Options opts) : opts_(opts) {}
  void SetLookups(AgentFn agent, ProcessFn process) {
    agent_fn_ = std::move(agent);
    process_fn_ = std::move(process);
  }

  // The pod an agent runs in (false: none), put on its chains.
  using KubeFn = std::function<bool(uint32_t pid, v1::Kubernetes* out)>;
  void SetKubernetesLookup(KubeFn fn) { kube_fn_ = std::move(fn); }

  // Chain ids go on from here (after a restart, past the stored ones).
  void SetNextChainId(uint64_t id);

  // lineage: the event's pid, then its ancestors (parent first). What the
  // event added to or ended is appended to updates (may be null). who (may
  // be null) gets whom the event belongs to: for a kernel effect, the
  // nearest MCP server above its process (and that server's client) or the
  // agent that started it; for a call or a tool change, its server and the
  // session's client; with the agent's open chain.
  void OnEvent(const v1::Event& ev, const std::vector<uint32_t>& lineage,
               std::vector<v1::ChainUpdate>* updates = nullptr, Attribution* who = nullptr);

  // Most recent first, without entries.
  std::vector<v1::Chain> Chains(uint32_t agent_pid, int64_t since_unix_ns,
                                size_t limit) const;
  bool Chain(uint64_t id, v1::Chain* out) const;
  Counters counters() const;

 private:
  // The nearest MCP server in the lineage, or else the agent (with an open
  // chain) that started pid; both 0 when neither.
  struct Owner {
    uint32_t server = 0;
    uint32_t agent = 0;
  };
  struct InFlight {
    std::vector<v1::ChainEffect> effects;
  };
  // A request in flight: when it was read, then its JSON-RPC id.
  using InFlightKey = std::pair<uint64_t, std::string>;
  struct Server {
    // Oldest first: eviction, expiry and the calls an effect may belong to
    // (those started before it) never walk the whole table.
    std::map<InFlightKey, InFlight> inflight;
  };

  void OnRequest(const v1::Event& ev);
  void OnCall(const v1::Event& ev);
  void OnEffect(const v1::Event& ev, const Owner& owner);
  // The writer's side of a cross-agent flow (c.written_by), added to the
  // writer's chain that holds the writing call.
  void NoteCrossAgentRead(const v1::DataFlow& f, const v1::McpCall& c, uint32_t reader,
                          const v1::Chain& reader_chain);
  v1::Chain* WriterChain(const v1::DataFlow& f);
  void OnExit(uint32_t pid, int64_t time_unix_ns);
  Owner OwnerOf(const std::vector<uint32_t>& lineage, uint32_t pid) const;
  Attribution AttributionOf(const v1::Event& ev, const Owner& owner) const;
  v1::Chain* ChainFor(uint32_t agent, int64_t time_unix_ns, uint64_t ktime);
  v1::Chain* Find(uint64_t id);
  // An update for the entry just appended to chain (null entry: it ended).
  void Emit(const v1::Chain& chain, const v1::ChainEntry* entry);
  void Expire(uint64_t ktime);

  const Options opts_;
  AgentFn agent_fn_;
  ProcessFn process_fn_;
  KubeFn kube_fn_;
  mutable std::mutex mu_;
  std::map<uint32_t, Server> servers_;       // by server pid
  std::map<uint32_t, uint64_t> open_chain_;  // agent pid -> chain id
  std::map<uint32_t, uint64_t> last_ktime_;  // agent pid -> last entry
  std::deque<v1::Chain> chains_;             // oldest first
  uint64_t next_chain_ = 1;
  uint64_t next_expire_ = 0;
  Counters counters_;
  std::vector<v1::ChainUpdate>* updates_ = nullptr;  // during OnEvent
  // Cross-agent reads already noted: (writing call, reading agent id).
  std::set<std::pair<uint64_t, std::string>> reads_seen_;
  std::deque<std::pair<uint64_t, std::string>> reads_order_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_CHAIN_CORRELATOR_H_
