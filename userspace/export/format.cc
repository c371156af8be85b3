#include "export/format.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "common/clock.h"
#include "common/text.h"

namespace agentwatch {
namespace {

// OCSF severity_id: 1 informational, 2 low, 3 medium, 4 high, 5 critical.
int OcsfSeverity(const std::string& s) {
  const int r = SeverityRank(s);  // info 0 ... critical 4
  return r < 0 ? 0 : r + 1;
}

const char* OcsfSeverityName(int id) {
  static const char* const kNames[] = {"Unknown", "Informational", "Low", "Medium", "High",
                                       "Critical"};
  return kNames[std::clamp(id, 0, 5)];
}

// RFC 5424 PARAM-VALUE: '"', '\' and ']' escaped.
std::string SdValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// PRINTUSASCII, at most n characters, "-" when empty.
std::string Token(const std::string& v, size_t n) {
  std::string out;
  for (char c : v) {
    if (c > 32 && c < 127 && out.size() < n) out.push_back(c);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string AlertKey(const v1::Alert& a, const FormatContext& ctx) {
  return fmt::format("{}/{}/{}", ctx.hostname, a.id(), a.count());
}

// A Kubernetes identity as a JSON object (its fields, labels sorted).
std::string KubernetesJson(const v1::Kubernetes& k) {
  std::string j = "{";
  const std::pair<const char*, const std::string*> fields[] = {
      {"pod_uid", &k.pod_uid()},           {"pod_name", &k.pod_name()},
      {"namespace", &k.namespace_()},      {"container_id", &k.container_id()},
      {"container_name", &k.container_name()}, {"workload_kind", &k.workload_kind()},
      {"workload_name", &k.workload_name()}, {"node_name", &k.node_name()},
      {"service_account", &k.service_account()}};
  for (const auto& [name, v] : fields) {
    if (v->empty()) continue;
    if (j.size() > 1) j += ",";
    j += JsonString(name) + ":" + JsonString(*v);
  }
  if (!k.labels().empty()) {
    std::vector<std::pair<std::string, std::string>> labels(k.labels().begin(), k.labels().end());
    std::sort(labels.begin(), labels.end());
    j += std::string(j.size() > 1 ? "," : "") + "\"labels\":{";
    for (size_t i = 0; i < labels.size(); ++i)
      j += (i > 0 ? "," : "") + JsonString(labels[i].first) + ":" + JsonString(labels[i].second);
    j += "}";
  }
  return j + "}";
}

std::string OcsfJson(const v1::Alert& a, const FormatContext& ctx) {
  const int sev = OcsfSeverity(a.severity());
  const int activity = a.count() > 1 ? 2 : 1;  // Create, Update
  const int64_t first_ms = a.time_unix_ns() / 1000000;
  const int64_t last_ms = (a.last_unix_ns() != 0 ? a.last_unix_ns() : a.time_unix_ns()) / 1000000;
  std::string j = "{";
  j += fmt::format(
      "\"class_uid\":2004,\"class_name\":\"Detection Finding\",\"category_uid\":2,"
      "\"category_name\":\"Findings\",\"activity_id\":{},\"activity_name\":\"{}\","
      "\"type_uid\":{},\"time\":{},\"severity_id\":{},\"severity\":\"{}\","
      "\"status_id\":1,\"status\":\"New\",\"count\":{},",
      activity, activity == 1 ? "Create" : "Update", 200400 + activity, last_ms, sev,
      OcsfSeverityName(sev), std::max<uint32_t>(a.count(), 1));
  j += "\"message\":" + JsonString(a.summary()) + ",";
  j += "\"metadata\":{\"version\":\"1.1.0\",\"uid\":" + JsonString(AlertKey(a, ctx)) +
       ",\"product\":{\"name\":\"agentwatch\",\"vendor_name\":\"agentwatch\",\"version\":" +
       JsonString(ctx.version) + "}},";
  j += "\"device\":{\"hostname\":" + JsonString(ctx.hostname) + ",\"type_id\":1},";
  // The agent's container (the OCSF container profile).
  if (const v1::Kubernetes& k = a.agent_kubernetes(); !k.container_id().empty()) {
    j += "\"container\":{\"uid\":" + JsonString(k.container_id());
    if (!k.container_name().empty()) j += ",\"name\":" + JsonString(k.container_name());
    j += ",\"pod_uuid\":" + JsonString(k.pod_uid()) + ",\"orchestrator\":\"Kubernetes\"},";
  }
  j += "\"finding_info\":{\"uid\":" + JsonString(fmt::format("{}/{}", ctx.hostname, a.id())) +
       ",\"title\":" + JsonString(a.summary()) + ",\"desc\":" + JsonString(a.description()) +
       fmt::format(",\"created_time\":{},\"first_seen_time\":{},\"last_seen_time\":{}", first_ms,
                   first_ms, last_ms) +
       ",\"types\":[" + JsonString(a.rule_id()) + "],\"analytic\":{\"uid\":" +
       JsonString(a.rule_id()) + ",\"name\":" + JsonString(a.rule_id()) +
       ",\"type_id\":1,\"type\":\"Rule\"}";
  if (a.attack_size() > 0) {
    j += ",\"attacks\":[";
    for (int i = 0; i < a.attack_size(); ++i) {
      if (i > 0) j += ",";
      j += "{\"technique\":{\"uid\":" + JsonString(a.attack(i)) + "}}";
    }
    j += "]";
  }
  j += "},";
  if (!a.response().empty()) j += "\"remediation\":{\"desc\":" + JsonString(a.response()) + "},";
  j += "\"evidences\":[";
  for (int i = 0; i < a.evidence_size(); ++i) {
    const v1::Evidence& e = a.evidence(i);
    if (i > 0) j += ",";
    j += "{";
    if (e.pid() != 0) {
      auto comm = e.fields().find("comm");
      j += fmt::format("\"process\":{{\"pid\":{}", e.pid());
      if (comm != e.fields().end()) j += ",\"name\":" + JsonString(comm->second);
      j += "},";
    }
    j += fmt::format("\"data\":{{\"step\":{},\"signal\":{},\"seq\":{},\"time\":{},\"call_id\":{},"
                     "\"description\":{},\"fields\":{{",
                     e.step(), JsonString(e.signal()), e.seq(), e.time_unix_ns() / 1000000,
                     e.call_id(), JsonString(e.description()));
    // Sorted, so the same alert always serializes the same.
    std::vector<std::pair<std::string, std::string>> fields(e.fields().begin(), e.fields().end());
    std::sort(fields.begin(), fields.end());
    for (size_t k = 0; k < fields.size(); ++k) {
      if (k > 0) j += ",";
      j += JsonString(fields[k].first) + ":" + JsonString(fields[k].second);
    }
    j += "}}}";
  }
  j += "],";
  j += fmt::format(
      "\"unmapped\":{{\"alert_id\":{},\"rule_id\":{},\"rule_source\":{},\"key\":{},"
      "\"chain_id\":{},\"agent_pid\":{},\"agent_id\":{},\"agent_exe\":{},\"server_pid\":{},"
      "\"server_name\":{},\"score\":{}}}",
      a.id(), JsonString(a.rule_id()), JsonString(a.rule_source()), JsonString(a.key()),
      a.chain_id(), a.agent_pid(), JsonString(a.agent_id()), JsonString(a.agent_exe()),
      a.server_pid(), JsonString(a.server_name()), a.score());
  j.pop_back();  // the unmapped object's "}"
  if (!a.node().empty()) j += ",\"node\":" + JsonString(a.node());
  if (a.has_agent_kubernetes()) j += ",\"agent_kubernetes\":" + KubernetesJson(a.agent_kubernetes());
  if (a.has_server_kubernetes())
    j += ",\"server_kubernetes\":" + KubernetesJson(a.server_kubernetes());
  j += "}}";
  return j;
}

std::string NativeJson(const v1::Alert& a, const FormatContext& ctx) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string body;
  (void)google::protobuf::util::MessageToJsonString(a, &body, o);
  // {"delivery_key":...,"host":..., <the alert's fields>} (the alert's own
  // "key" is its dedup key within the rule).
  std::string j = "{\"delivery_key\":" + JsonString(AlertKey(a, ctx)) +
                  ",\"host\":" + JsonString(ctx.hostname);
  if (body.size() > 2) j += "," + body.substr(1);
  else j += "}";
  return j;
}

std::string ClickHouseTime(int64_t unix_ns) {
  const time_t t = static_cast<time_t>(unix_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}\"", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

namespace {
std::string Workload(const v1::Kubernetes& k) {
  return k.workload_kind().empty() ? "" : k.workload_kind() + "/" + k.workload_name();
}
}  // namespace

std::string ClickHouseAlertRow(const v1::Alert& a, const FormatContext& ctx) {
  std::string attack = "[";
  for (int i = 0; i < a.attack_size(); ++i) attack += (i ? "," : "") + JsonString(a.attack(i));
  attack += "]";
  const int64_t last = a.last_unix_ns() != 0 ? a.last_unix_ns() : a.time_unix_ns();
  return fmt::format(
      "{{\"host\":{},\"alert_id\":{},\"version\":{},\"time\":{},\"time_ns\":{},"
      "\"last_time\":{},\"last_ns\":{},\"rule_id\":{},\"severity\":{},\"severity_rank\":{},"
      "\"summary\":{},\"agent_pid\":{},\"agent_id\":{},\"agent_exe\":{},\"server_pid\":{},"
      "\"server_name\":{},\"chain_id\":{},\"attack\":{},\"score\":{},\"key\":{},"
      "\"record\":{},\"node\":{},\"agent_namespace\":{},\"agent_pod\":{},"
      "\"agent_workload\":{},\"server_namespace\":{},\"server_pod\":{}}}",
      JsonString(ctx.hostname), a.id(), std::max<uint32_t>(a.count(), 1), ClickHouseTime(a.time_unix_ns()),
      a.time_unix_ns(), ClickHouseTime(last), last, JsonString(a.rule_id()), JsonString(a.severity()),
      std::max(0, SeverityRank(a.severity())), JsonString(a.summary()), a.agent_pid(),
      JsonString(a.agent_id()), JsonString(a.agent_exe()), a.server_pid(),
      JsonString(a.server_name()), a.chain_id(), attack, a.score(), JsonString(a.key()),
      JsonString(NativeJson(a, ctx)), JsonString(a.node().empty() ? ctx.hostname : a.node()),
      JsonString(a.agent_kubernetes().namespace_()), JsonString(a.agent_kubernetes().pod_name()),
      JsonString(Workload(a.agent_kubernetes())), JsonString(a.server_kubernetes().namespace_()),
      JsonString(a.server_kubernetes().pod_name()));
}

std::string ClickHouseCallRow(const v1::McpCall& c, uint64_t chain_id, int64_t ord,
                              const FormatContext& ctx) {
  std::string flows = "[";
  for (int i = 0; i < c.flows_size(); ++i) flows += (i ? "," : "") + std::to_string(c.flows(i).from_call_id());
  flows += "]";
  return fmt::format(
      "{{\"host\":{},\"call_id\":{},\"chain_id\":{},\"ord\":{},\"time\":{},\"started_ns\":{},"
      "\"session_id\":{},\"server_id\":{},\"server_identity\":{},\"server_pid\":{},"
      "\"transport\":{},\"method\":{},\"tool\":{},\"status\":{},\"arguments\":{},"
      "\"result_summary\":{},\"latency_ns\":{},\"request_bytes\":{},\"response_bytes\":{},"
      "\"flows_from\":{},\"content_flag\":{}}}",
      JsonString(ctx.hostname), c.call_id(), chain_id, ord, ClickHouseTime(c.started_unix_ns()),
      c.started_unix_ns(), JsonString(c.session_id()), JsonString(c.server_id()),
      JsonString(c.server_identity()), c.server_pid(), JsonString(c.transport()),
      JsonString(c.method()), JsonString(c.tool()), JsonString(c.status()),
      JsonString(c.arguments()), JsonString(c.result_summary()), c.latency_ns(),
      c.request_bytes(), c.response_bytes(), flows, JsonString(c.content_flag()));
}

std::string ClickHouseChainRow(const v1::Chain& c, const FormatContext& ctx) {
  // Newer is larger: the end, then closed over open.
  const uint64_t version = static_cast<uint64_t>(c.end_unix_ns()) * 2 + (c.open() ? 0 : 1);
  return fmt::format(
      "{{\"host\":{},\"chain_id\":{},\"agent_id\":{},\"agent_pid\":{},\"agent_exe\":{},"
      "\"start\":{},\"start_ns\":{},\"end\":{},\"end_ns\":{},\"calls\":{},\"effects\":{},"
      "\"open\":{},\"version\":{},\"agent_namespace\":{},\"agent_pod\":{},"
      "\"agent_workload\":{}}}",
      JsonString(ctx.hostname), c.id(), JsonString(c.agent_id()), c.agent_pid(),
      JsonString(c.agent_exe()), ClickHouseTime(c.start_unix_ns()), c.start_unix_ns(),
      ClickHouseTime(c.end_unix_ns()), c.end_unix_ns(), c.calls(), c.effects(), c.open() ? 1 : 0,
      version, JsonString(c.agent_kubernetes().namespace_()),
      JsonString(c.agent_kubernetes().pod_name()), JsonString(Workload(c.agent_kubernetes())));
}

std::string Rfc5424(const v1::Alert& a, const FormatContext& ctx, int facility,
                    const std::string& json) {
  static const int kSyslogSeverity[] = {6, 5, 4, 3, 2};  // info ... critical
  const int rank = std::clamp(SeverityRank(a.severity()), 0, 4);
  const int pri = std::clamp(facility, 0, 23) * 8 + kSyslogSeverity[rank];
  const int64_t t = a.last_unix_ns() != 0 ? a.last_unix_ns() : a.time_unix_ns();
  std::string m = fmt::format("<{}>1 {} {} agentwatch {} {} ", pri, FormatRfc3339(t),
                              Token(ctx.hostname, 255), ctx.pid, Token(a.rule_id(), 32));
  m += fmt::format(
      "[agentwatch@32473 id=\"{}\" key=\"{}\" rule=\"{}\" severity=\"{}\" count=\"{}\" "
      "chain=\"{}\" agent_pid=\"{}\" agent=\"{}\" server=\"{}\"",
      a.id(), SdValue(AlertKey(a, ctx)), SdValue(a.rule_id()), SdValue(a.severity()), a.count(),
      a.chain_id(), a.agent_pid(), SdValue(Basename(a.agent_exe())), SdValue(a.server_name()));
  if (const v1::Kubernetes& k = a.agent_kubernetes(); !k.pod_uid().empty()) {
    m += fmt::format(" pod_uid=\"{}\"", SdValue(k.pod_uid()));
    if (!k.pod_name().empty())
      m += fmt::format(" pod=\"{}/{}\"", SdValue(k.namespace_()), SdValue(k.pod_name()));
  }
  m += "] ";
  m += json;
  return m;
}

}  // namespace agentwatch
