#include "daemon/status.h"

#include <cctype>

#include <fmt/format.h>

#include "events.h"

namespace agentwatch {
namespace {

void AddCounter(v1::Status* s, const std::string& name, uint64_t v) {
  auto* c = s->add_counters();
  c->set_name(name);
  c->set_value(v);
}

const char* CategoryName(int c) {
  switch (c) {
    case AW_CAT_PROC: return "proc";
    case AW_CAT_FILE: return "file";
    case AW_CAT_NET: return "net";
    case AW_CAT_DNS: return "dns";
    case AW_CAT_PAYLOAD: return "payload";
    default: return "other";
  }
}

void AddStore(const StatusInputs& in, v1::Status* s) {
  if (!in.store_open) {
    if (!in.store_error.empty()) s->mutable_store()->set_last_error(in.store_error);
    return;
  }
  *s->mutable_store() = in.store;
  const Store::Counters& sc = in.store_counters;
  AddCounter(s, "store_batches", sc.batches);
  AddCounter(s, "store_updates_written", sc.updates_written);
  AddCounter(s, "store_queue_drops", sc.queue_drops);
  AddCounter(s, "store_write_errors", sc.write_errors);
  AddCounter(s, "store_updates_lost", sc.updates_lost);
  AddCounter(s, "store_retention_chains_deleted", sc.chains_deleted);
  AddCounter(s, "store_retention_calls_deleted", sc.calls_deleted);
  AddCounter(s, "store_outbox_shed", sc.outbox_shed);
  AddCounter(s, "store_alerts_committed", sc.alerts_committed);
  AddCounter(s, "store_alerts_held", sc.alerts_held);
  AddCounter(s, "store_alerts_shed", sc.alerts_shed);
  AddCounter(s, "store_open_retries", sc.open_retries);
  AddCounter(s, "store_updates_unavailable", sc.updates_unavailable);
  for (size_t i = 0; i < in.sinks.size(); ++i) {
    const Delivery::SinkStats& st = in.sinks[i];
    v1::SinkStatus* ss = s->add_sinks();
    ss->set_name(st.name);
    if (i < in.sink_types.size()) ss->set_type(in.sink_types[i]);
    ss->set_sent(st.sent);
    ss->set_skipped(st.skipped);
    ss->set_failed(st.failed);
    ss->set_retried(st.retried);
    ss->set_queued(st.queued);
    ss->set_rows(st.rows);
    ss->set_last_error(st.last_error);
  }
}

void AddKernel(const StatusInputs& in, v1::Status* s) {
  auto k = [&in](size_t i) { return i < in.kernel_counters.size() ? in.kernel_counters[i] : 0; };
  for (int c = 0; c < AW_CAT_MAX; ++c)
    AddCounter(s, fmt::format("kernel_events_{}", CategoryName(c)), k(AW_CTR_EMITTED + c));
  for (int c = 0; c < AW_CAT_MAX; ++c)
    AddCounter(s, fmt::format("kernel_ringbuf_drops_{}", CategoryName(c)), k(AW_CTR_DROPPED + c));
  AddCounter(s, "kernel_syscall_exit_without_enter", k(AW_CTR_PENDING_MISS));
  AddCounter(s, "kernel_socket_map_full", k(AW_CTR_SOCK_MAP_FULL));
  AddCounter(s, "kernel_scratch_busy", k(AW_CTR_SCRATCH_BUSY));
  AddCounter(s, "kernel_payload_throttled", k(AW_CTR_PAYLOAD_THROTTLED));
  AddCounter(s, "kernel_payload_shed", k(AW_CTR_PAYLOAD_SHED));
  AddCounter(s, "kernel_records_throttled", k(AW_CTR_RECORDS_THROTTLED));
  AddCounter(s, "records_received", in.records_received);
  AddCounter(s, "records_undecodable", in.records_undecodable);
}

void AddPipeline(const StatusInputs& in, v1::Status* s) {
  AddCounter(s, "pipeline_queue_drops", in.pipeline_queue_drops);
  AddCounter(s, "pipeline_payload_drops", in.pipeline_payload_drops);
  AddCounter(s, "events_processed", in.events_processed);
  AddCounter(s, "process_table_evictions", in.process_table_evictions);
  AddCounter(s, "subscriber_drops", in.subscriber_drops);
  AddCounter(s, "mcp_messages", in.mcp_messages);
  AddCounter(s, "mcp_stream_gaps", in.stream_gaps);
  AddCounter(s, "mcp_stream_gap_bytes", in.stream_gap_bytes);
  AddCounter(s, "processes_swept", in.processes_swept);
  AddCounter(s, "mcp_streams_evicted_for_memory", in.streams_evicted_for_memory);
  AddCounter(s, "mcp_frames_invalid", in.mcp_frames_invalid);
  const McpTracker::Counters& tc = in.tracker;
  AddCounter(s, "mcp_calls", tc.calls);
  AddCounter(s, "mcp_responses_unmatched", tc.unmatched_responses);
  AddCounter(s, "mcp_request_ids_reused", tc.duplicate_ids);
  AddCounter(s, "mcp_pending_evicted", tc.pending_evicted);
  AddCounter(s, "mcp_sessions_evicted", tc.sessions_evicted);
  AddCounter(s, "mcp_tool_changes", tc.tool_changes);
  AddCounter(s, "mcp_data_flows", tc.data_flows);
  AddCounter(s, "mcp_cross_agent_flows", tc.cross_agent_flows);
  AddCounter(s, "mcp_responses_lost", tc.responses_lost);
  const Correlator::Counters& cc = in.correlator;
  AddCounter(s, "chain_effects_attributed", cc.effects_attributed);
  AddCounter(s, "chain_effects_ambiguous", cc.effects_ambiguous);
  AddCounter(s, "chain_effects_background", cc.effects_background);
  AddCounter(s, "chain_effects_agent", cc.effects_agent);
  AddCounter(s, "chain_effects_dropped", cc.effects_dropped);
  AddCounter(s, "chains", cc.chains);
  AddCounter(s, "chain_calls_unchained", cc.unchained_calls);
  AddCounter(s, "chain_cross_agent_reads", cc.cross_agent_reads);
  AddCounter(s, "chain_cross_agent_unchained", cc.cross_agent_unchained);
  AddCounter(s, "chain_inflight_expired", cc.inflight_expired);
  const Engine::Counters& ec = in.engine;
  AddCounter(s, "detect_signals", ec.signals);
  AddCounter(s, "detect_alerts", ec.alerts);
  AddCounter(s, "detect_alerts_folded", ec.alerts_folded);
  AddCounter(s, "detect_alerts_excepted", ec.alerts_excepted);
  AddCounter(s, "detect_alerts_suppressed", ec.alerts_suppressed);
  AddCounter(s, "detect_alerts_rate_limited", ec.alerts_rate_limited);
  AddCounter(s, "detect_states_evicted", ec.states_evicted);
  AddCounter(s, "detect_rule_loads", ec.rule_loads);
  AddCounter(s, "mcp_servers_discovered", in.servers_discovered);
  AddCounter(s, "mcp_probes_not_mcp", in.probes_not_mcp);
  AddCounter(s, "cgroup_lookup_misses", in.cgroup_lookup_misses);
}

}  // namespace

bool Readiness(const ReadinessInputs& in, std::string* why) {
  if (!in.probes_attached) {
    *why = in.probes_detail;
    return false;
  }
  if (in.now_unix_ns - in.last_poll_unix_ns > kMaxPollGapNs) {
    *why = "the ring buffer has not been read for over 5 s";
    return false;
  }
  // Not open, or not taking writes (a full disk): alerts are only held in
  // memory meanwhile.
  if (in.store_enabled && (!in.store_open || !in.store_error.empty())) {
    *why = in.store_open ? in.store_error : "store unavailable: " + in.store_error;
    return false;
  }
  return true;
}

v1::Status BuildStatus(const StatusInputs& in) {
  v1::Status s;
  s.set_ready(in.ready);
  s.set_not_ready_reason(in.not_ready_reason);
  s.set_node(in.node);
  for (const auto& c : in.missing_capabilities) s.add_missing_capabilities(c);
  if (in.kubernetes) *s.mutable_kubernetes() = *in.kubernetes;
  s.set_version(in.version);
  s.set_kernel(in.kernel);
  s.set_started_unix_ns(in.started_unix_ns);
  s.set_mode(in.mode);
  for (const auto& h : in.hook_types) *s.add_hook_types() = h;
  for (const auto& p : in.probes) *s.add_probes() = p;
  s.set_watched_processes(static_cast<uint32_t>(in.watched_processes));
  s.set_process_table_size(static_cast<uint32_t>(in.process_table_size));
  s.set_ringbuf_bytes(in.ringbuf_bytes);
  s.set_record_file(in.record_file);
  for (const auto& t : in.tls) *s.add_tls() = t;
  AddStore(in, &s);
  AddKernel(in, &s);
  AddPipeline(in, &s);
  if (!in.record_file.empty()) {
    AddCounter(&s, "trace_events_written", in.trace_events_written);
    AddCounter(&s, "trace_events_dropped", in.trace_events_dropped);
  }
  return s;
}

std::string EventTypeLabel(v1::EventType t) {
  std::string n = v1::EventType_Name(t);
  if (n.rfind("EVENT_TYPE_", 0) == 0) n = n.substr(11);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

}  // namespace agentwatch
