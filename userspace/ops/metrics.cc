#include "ops/metrics.h"

#include <cctype>
#include <set>
#include <string_view>

#include <fmt/format.h>

namespace agentwatch {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  void Sample(std::string_view name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        fmt::format_to(std::back_inserter(out_), "{}=\"{}\"", labels[i].first,
                       EscapeLabelValue(labels[i].second));
      }
      out_ += '}';
    }
    fmt::format_to(std::back_inserter(out_), " {}\n", value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Counters that leave events behind, by where and why.
struct DropSource {
  const char* counter;
  const char* stage;
  const char* reason;
};
constexpr DropSource kDrops[] = {
    {"pipeline_queue_drops", "pipeline_queue", "queue_full"},
    {"pipeline_payload_drops", "pipeline_queue", "payload_share_full"},
    {"kernel_payload_throttled", "kernel", "process_payload_budget"},
    {"kernel_payload_shed", "ringbuf", "kept_for_lifecycle"},
    {"kernel_records_throttled", "kernel", "process_record_budget"},
    {"store_queue_drops", "store_queue", "queue_full"},
    {"subscriber_drops", "subscriber", "client_too_slow"},
    {"records_undecodable", "decode", "undecodable"},
    {"trace_events_dropped", "trace_file", "write_failed"},
};

// Identity and readiness of the daemon.
void WriteDaemon(const v1::Status& st, Writer* w) {
  w->Family("agentwatch_build_info", "gauge", "Version of agentwatchd and the kernel it runs on.");
  w->Sample("agentwatch_build_info", {{"version", st.version()}, {"kernel", st.kernel()}}, 1);
  w->Family("agentwatch_start_time_seconds", "gauge", "When the daemon started (unix time).");
  w->Sample("agentwatch_start_time_seconds", {}, static_cast<double>(st.started_unix_ns()) / 1e9);
  w->Family("agentwatch_ready", "gauge",
            "1 when every probe that attached at start is attached and the store is open.");
  w->Sample("agentwatch_ready", {}, st.ready() ? 1 : 0);
}

void WriteProbes(const v1::Status& st, Writer* w) {
  w->Family("agentwatch_probe_attached", "gauge",
            "1 per attached kernel probe, 0 if not attached.");
  for (const auto& p : st.probes()) {
    if (!p.attached() && !p.detached()) continue;  // never in use (fallback, refused)
    w->Sample("agentwatch_probe_attached",
              {{"capability", p.capability()}, {"program", p.program()}, {"hook", p.hook_type()}},
              p.attached() ? 1 : 0);
  }
}

// Events published, written by the probes and lost; the counters shown
// here are added to used.
void WriteEvents(const MetricsSnapshot& m, Writer* w, std::set<std::string>* used) {
  const v1::Status& st = m.status;
  w->Family("agentwatch_events_total", "counter", "Events published by the pipeline, by type.");
  for (const auto& [type, n] : m.events_by_type)
    w->Sample("agentwatch_events_total", {{"type", type}}, static_cast<double>(n));

  w->Family("agentwatch_kernel_events_total", "counter",
            "Records the probes wrote into the ring buffer, by category.");
  for (const auto& c : st.counters()) {
    if (StartsWith(c.name(), "kernel_events_")) {
      w->Sample("agentwatch_kernel_events_total",
                {{"category", c.name().substr(sizeof("kernel_events_") - 1)}},
                static_cast<double>(c.value()));
      used->insert(c.name());
    }
  }
  w->Family("agentwatch_events_dropped_total", "counter",
            "Events lost, by the stage that dropped them and why.");
  for (const auto& c : st.counters()) {
    if (StartsWith(c.name(), "kernel_ringbuf_drops_")) {
      w->Sample("agentwatch_events_dropped_total",
                {{"stage", "ringbuf"},
                 {"reason", "ringbuf_full"},
                 {"category", c.name().substr(sizeof("kernel_ringbuf_drops_") - 1)}},
                static_cast<double>(c.value()));
      used->insert(c.name());
    }
    for (const auto& d : kDrops) {
      if (c.name() != d.counter) continue;
      w->Sample("agentwatch_events_dropped_total", {{"stage", d.stage}, {"reason", d.reason}},
                static_cast<double>(c.value()));
      used->insert(c.name());
    }
  }
}

void WriteProcessTable(const v1::Status& st, Writer* w, std::set<std::string>* used) {
  w->Family("agentwatch_process_table_size", "gauge", "Processes in the process table.");
  w->Sample("agentwatch_process_table_size", {}, st.process_table_size());
  w->Family("agentwatch_watched_processes", "gauge", "Live processes the probes watch.");
  w->Sample("agentwatch_watched_processes", {}, st.watched_processes());
  w->Family("agentwatch_process_table_evictions_total", "counter",
            "Processes evicted from a full process table.");
  for (const auto& c : st.counters()) {
    if (c.name() == "process_table_evictions") {
      w->Sample("agentwatch_process_table_evictions_total", {}, static_cast<double>(c.value()));
      used->insert(c.name());
    }
  }
}

// Live MCP servers, sessions and agents, and the rules they matched.
void WriteMcp(const MetricsSnapshot& m, Writer* w) {
  w->Family("agentwatch_mcp_servers", "gauge", "Live MCP servers.");
  w->Sample("agentwatch_mcp_servers", {}, static_cast<double>(m.servers_live));
  w->Family("agentwatch_mcp_sessions", "gauge", "Open MCP sessions.");
  w->Sample("agentwatch_mcp_sessions", {}, static_cast<double>(m.sessions_open));
  w->Family("agentwatch_mcp_agents", "gauge", "Live agents (MCP clients).");
  w->Sample("agentwatch_mcp_agents", {}, static_cast<double>(m.agents_live));

  w->Family("agentwatch_rule_matches_total", "counter",
            "Detection rule matches that raised or repeated an alert, by rule and severity.");
  for (const auto& [k, n] : m.rule_matches)
    w->Sample("agentwatch_rule_matches_total", {{"rule", k.first}, {"severity", k.second}},
              static_cast<double>(n));
}

void WriteSinks(const v1::Status& st, Writer* w) {
  struct SinkField {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (v1::SinkStatus::*get)() const;
  };
  const SinkField sink_fields[] = {
      {"agentwatch_sink_sent_total", "counter", "Alert versions a sink accepted.",
       &v1::SinkStatus::sent},
      {"agentwatch_sink_skipped_total", "counter", "Alert versions a sink's filters passed over.",
       &v1::SinkStatus::skipped},
      {"agentwatch_sink_failed_total", "counter", "Batches a sink failed to take.",
       &v1::SinkStatus::failed},
      {"agentwatch_sink_retried_total", "counter", "Batches that went through after a failure.",
       &v1::SinkStatus::retried},
      {"agentwatch_sink_rows_total", "counter",
       "Chains, calls and effects a sink took (clickhouse).", &v1::SinkStatus::rows},
      {"agentwatch_sink_queued", "gauge", "Alert versions waiting for a sink.",
       &v1::SinkStatus::queued},
  };
  for (const auto& f : sink_fields) {
    w->Family(f.name, f.type, f.help);
    for (const auto& s : st.sinks())
      w->Sample(f.name, {{"sink", s.name()}, {"type", s.type()}},
                static_cast<double>((s.*f.get)()));
  }
  w->Family("agentwatch_sink_up", "gauge", "0 while a sink's last attempt failed.");
  for (const auto& s : st.sinks())
    w->Sample("agentwatch_sink_up", {{"sink", s.name()}, {"type", s.type()}},
              s.last_error().empty() ? 1 : 0);
}

// The store, and the Kubernetes pod directory: only when in use.
void WriteStoreAndKubernetes(const v1::Status& st, Writer* w) {
  if (!st.store().path().empty()) {
    w->Family("agentwatch_store_size_bytes", "gauge", "The store's database and write-ahead log.");
    w->Sample("agentwatch_store_size_bytes", {}, static_cast<double>(st.store().size_bytes()));
    w->Family("agentwatch_store_last_flush_time_seconds", "gauge",
              "When the store last committed a batch (unix time).");
    w->Sample("agentwatch_store_last_flush_time_seconds", {},
              static_cast<double>(st.store().last_flush_unix_ns()) / 1e9);
  }

  if (st.has_kubernetes()) {
    const auto& k = st.kubernetes();
    w->Family("agentwatch_kubernetes_pods", "gauge", "Pods of this node with known metadata.");
    w->Sample("agentwatch_kubernetes_pods", {}, static_cast<double>(k.pods_known()));
    w->Family("agentwatch_kubernetes_unresolved_pods_total", "counter",
              "Pods seen in cgroups whose metadata was not known when asked for.");
    w->Sample("agentwatch_kubernetes_unresolved_pods_total", {},
              static_cast<double>(k.unresolved()));
    w->Family("agentwatch_kubernetes_last_sync_time_seconds", "gauge",
              "When the pod list was last read (unix time).");
    w->Sample("agentwatch_kubernetes_last_sync_time_seconds", {},
              static_cast<double>(k.last_sync_unix_ns()) / 1e9);
    w->Family("agentwatch_kubernetes_up", "gauge", "0 while the last pod list failed.");
    w->Sample("agentwatch_kubernetes_up", {}, k.last_error().empty() ? 1 : 0);
  }
}

void WriteLatency(const LatencyHistogram::Snapshot& latency, Writer* w) {
  constexpr std::string_view kLatency = "agentwatch_pipeline_latency_seconds";
  w->Family(kLatency, "histogram",
            "From the kernel's timestamp of an event to the end of its processing.");
  uint64_t cum = 0;
  for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    cum += latency.buckets[i];
    w->Sample(fmt::format("{}_bucket", kLatency),
              {{"le", fmt::format("{}", LatencyHistogram::kBounds[i])}}, static_cast<double>(cum));
  }
  cum += latency.buckets.back();
  w->Sample(fmt::format("{}_bucket", kLatency), {{"le", "+Inf"}}, static_cast<double>(cum));
  w->Sample(fmt::format("{}_sum", kLatency), {}, static_cast<double>(latency.sum_ns) / 1e9);
  w->Sample(fmt::format("{}_count", kLatency), {}, static_cast<double>(latency.count));
}

// Every counter not in used under its own name.
void WriteOtherCounters(const v1::Status& st, const std::set<std::string>& used, Writer* w) {
  for (const auto& c : st.counters()) {
    if (used.count(c.name()) > 0) continue;
    std::string name = "agentwatch_" + c.name();
    for (char& ch : name) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
    }
    name += "_total";
    w->Family(name, "counter", fmt::format("The status counter {}.", c.name()));
    w->Sample(name, {}, static_cast<double>(c.value()));
  }
}

}  // namespace

std::string RenderPrometheus(const MetricsSnapshot& m) {
  const v1::Status& st = m.status;
  Writer w;
  std::set<std::string> used;  // counters shown in a family of their own
  WriteDaemon(st, &w);
  WriteProbes(st, &w);
  WriteEvents(m, &w, &used);
  WriteProcessTable(st, &w, &used);
  WriteMcp(m, &w);
  WriteSinks(st, &w);
  WriteStoreAndKubernetes(st, &w);
  WriteLatency(m.latency, &w);
  WriteOtherCounters(st, used, &w);
  return w.Take();
}

}  // namespace agentwatch
