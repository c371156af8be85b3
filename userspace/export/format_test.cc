#include "export/format.h"

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace agentwatch {
namespace {

v1::Alert Sample() {
  v1::Alert a;
  a.set_id(17);
  a.set_time_unix_ns(1795536958335984310);
  a.set_last_unix_ns(1795536958335984310);
  a.set_rule_id("sensitive-read-then-egress");
  a.set_severity("high");
  a.set_summary("node (pid 10) read /home/u/.aws/credentials, then connected to \"x\"]");
  a.set_description("d");
  a.set_response("rotate");
  a.add_attack("T1552.001");
  a.add_attack("T1041");
  a.set_agent_pid(10);
  a.set_agent_exe("/usr/bin/node");
  a.set_server_name("files");
  a.set_chain_id(3);
  a.set_count(1);
  v1::Evidence* e = a.add_evidence();
  e->set_step(1);
  e->set_signal("sensitive_read");
  e->set_pid(20);
  e->set_call_id(5);
  (*e->mutable_fields())["path"] = "/home/u/.aws/credentials";
  (*e->mutable_fields())["comm"] = "node";
  return a;
}

google::protobuf::Struct Parse(const std::string& json) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

const FormatContext kCtx{"node-a", "0.1.0", 4242};

TEST(FormatTest, OcsfDetectionFinding) {
  auto s = Parse(OcsfJson(Sample(), kCtx));
  const auto& f = s.fields();
  EXPECT_EQ(f.at("class_uid").number_value(), 2004);
  EXPECT_EQ(f.at("category_uid").number_value(), 2);
  EXPECT_EQ(f.at("activity_id").number_value(), 1);
  EXPECT_EQ(f.at("type_uid").number_value(), 200401);
  EXPECT_EQ(f.at("severity_id").number_value(), 4);
  EXPECT_EQ(f.at("severity").string_value(), "High");
  EXPECT_EQ(f.at("time").number_value(), 1795536958335);
  EXPECT_EQ(f.at("metadata").struct_value().fields().at("uid").string_value(), "node-a/17/1");
  const auto& info = f.at("finding_info").struct_value().fields();
  EXPECT_EQ(info.at("uid").string_value(), "node-a/17");
  EXPECT_EQ(info.at("analytic").struct_value().fields().at("uid").string_value(),
            "sensitive-read-then-egress");
  ASSERT_EQ(info.at("attacks").list_value().values_size(), 2);
  EXPECT_EQ(info.at("attacks").list_value().values(1).struct_value().fields().at("technique")
                .struct_value().fields().at("uid").string_value(),
            "T1041");
  const auto& ev = f.at("evidences").list_value().values(0).struct_value().fields();
  EXPECT_EQ(ev.at("process").struct_value().fields().at("pid").number_value(), 20);
  EXPECT_EQ(ev.at("data").struct_value().fields().at("fields").struct_value().fields()
                .at("path").string_value(),
            "/home/u/.aws/credentials");
  const auto& un = f.at("unmapped").struct_value().fields();
  EXPECT_EQ(un.at("chain_id").number_value(), 3);
  EXPECT_EQ(un.at("server_name").string_value(), "files");
  // A folded repeat is an update with its own key.
  v1::Alert again = Sample();
  again.set_count(4);
  auto u = Parse(OcsfJson(again, kCtx));
  EXPECT_EQ(u.fields().at("activity_id").number_value(), 2);
  EXPECT_EQ(u.fields().at("count").number_value(), 4);
  EXPECT_EQ(AlertKey(again, kCtx), "node-a/17/4");
  EXPECT_EQ(f.count("container"), 0u);  // not in a pod
}

TEST(FormatTest, KubernetesIdentity) {
  v1::Alert a = Sample();
  a.set_node("node-a");
  v1::Kubernetes* k = a.mutable_agent_kubernetes();
  k->set_pod_uid("3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  k->set_container_id(std::string(64, 'a'));
  k->set_container_name("agent");
  k->set_pod_name("research-agent-0");
  k->set_namespace_("agents");
  k->set_workload_kind("StatefulSet");
  (*k->mutable_labels())["team"] = "ml";
  a.mutable_server_kubernetes()->set_pod_uid("01234567-89ab-cdef-0123-456789abcdef");
  auto s = Parse(OcsfJson(a, kCtx));
  const auto& c = s.fields().at("container").struct_value().fields();
  EXPECT_EQ(c.at("uid").string_value(), std::string(64, 'a'));
  EXPECT_EQ(c.at("name").string_value(), "agent");
  EXPECT_EQ(c.at("pod_uuid").string_value(), "3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  const auto& un = s.fields().at("unmapped").struct_value().fields();
  EXPECT_EQ(un.at("node").string_value(), "node-a");
  const auto& ak = un.at("agent_kubernetes").struct_value().fields();
  EXPECT_EQ(ak.at("namespace").string_value(), "agents");
  EXPECT_EQ(ak.at("workload_kind").string_value(), "StatefulSet");
  EXPECT_EQ(ak.at("labels").struct_value().fields().at("team").string_value(), "ml");
  EXPECT_EQ(un.at("server_kubernetes").struct_value().fields().at("pod_uid").string_value(),
            "01234567-89ab-cdef-0123-456789abcdef");
  // Native JSON is the alert itself, identity included.
  auto n = Parse(NativeJson(a, kCtx));
  EXPECT_EQ(n.fields().at("agent_kubernetes").struct_value().fields().at("pod_name").string_value(),
            "research-agent-0");
  const std::string m = Rfc5424(a, kCtx, 16, "{}");
  EXPECT_NE(m.find("pod_uid=\"3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c\" pod=\"agents/research-agent-0\"] {}"),
            std::string::npos)
      << m;
}

TEST(FormatTest, NativeJsonIsTheAlertWithItsKey) {
  auto s = Parse(NativeJson(Sample(), kCtx));
  EXPECT_EQ(s.fields().at("delivery_key").string_value(), "node-a/17/1");
  EXPECT_EQ(s.fields().at("rule_id").string_value(), "sensitive-read-then-egress");
  EXPECT_EQ(s.fields().at("host").string_value(), "node-a");
}

TEST(FormatTest, Rfc5424) {
  const std::string m = Rfc5424(Sample(), kCtx, 16, "{}");
  // local0 (16) * 8 + err (3) for high.
  EXPECT_EQ(m.rfind("<131>1 2026-", 0), 0u) << m;
  EXPECT_NE(m.find("Z node-a agentwatch 4242 sensitive-read-then-egress [agentwatch@32473 id=\"17\""),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("key=\"node-a/17/1\""), std::string::npos);
  EXPECT_NE(m.find("agent=\"node\" server=\"files\"] {}"), std::string::npos) << m;
  v1::Alert odd = Sample();
  odd.set_server_name("a\"b]c\\d");
  EXPECT_NE(Rfc5424(odd, kCtx, 16, "{}").find("server=\"a\\\"b\\]c\\\\d\""), std::string::npos);
  odd.set_severity("critical");
  EXPECT_EQ(Rfc5424(odd, kCtx, 4, "{}").rfind("<34>1 ", 0), 0u);  // auth (4) * 8 + crit (2)
}

// The columns of one table in deploy/clickhouse/schema.sql.
std::set<std::string> SchemaColumns(const std::string& table) {
  std::ifstream f(AW_CLICKHOUSE_SCHEMA);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  std::set<std::string> cols;
  size_t at = text.find("CREATE TABLE IF NOT EXISTS agentwatch." + table + " (");
  if (at == std::string::npos) return cols;
  std::istringstream body(text.substr(at, text.find(") ENGINE", at) - at));
  std::string line;
  std::getline(body, line);  // the CREATE line
  while (std::getline(body, line)) {
    std::istringstream w(line);
    std::string name;
    if (w >> name && name.rfind("--", 0) != 0) cols.insert(name);
  }
  return cols;
}

// Every key of a row is a column of its table (JSONEachRow refuses others),
// and the Kubernetes columns carry the pods.
TEST(FormatTest, ClickHouseRowsMatchTheSchema) {
  v1::Alert a = Sample();
  a.mutable_agent_kubernetes()->set_pod_uid("u");
  a.mutable_agent_kubernetes()->set_pod_name("research-agent-0");
  a.mutable_agent_kubernetes()->set_namespace_("agents");
  a.mutable_agent_kubernetes()->set_workload_kind("StatefulSet");
  a.mutable_agent_kubernetes()->set_workload_name("research-agent");
  v1::Chain c;
  c.set_id(3);
  *c.mutable_agent_kubernetes() = a.agent_kubernetes();
  v1::McpCall call;
  call.set_call_id(9);
  const std::pair<std::string, std::string> rows[] = {
      {"alerts", ClickHouseAlertRow(a, kCtx)},
      {"chains", ClickHouseChainRow(c, kCtx)},
      {"calls", ClickHouseCallRow(call, 3, 1, kCtx)}};
  for (const auto& [table, row] : rows) {
    const std::set<std::string> cols = SchemaColumns(table);
    ASSERT_GT(cols.size(), 5u) << table;
    auto s = Parse(row);
    for (const auto& [key, v] : s.fields()) EXPECT_EQ(cols.count(key), 1u) << table << "." << key;
  }
  auto alert = Parse(rows[0].second).fields();
  EXPECT_EQ(alert.at("agent_namespace").string_value(), "agents");
  EXPECT_EQ(alert.at("agent_pod").string_value(), "research-agent-0");
  EXPECT_EQ(alert.at("agent_workload").string_value(), "StatefulSet/research-agent");
  EXPECT_EQ(alert.at("node").string_value(), "node-a");  // no node: the host
  auto chain = Parse(rows[1].second).fields();
  EXPECT_EQ(chain.at("agent_pod").string_value(), "research-agent-0");
}

TEST(FormatTest, JsonStringEscapes) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace agentwatch
