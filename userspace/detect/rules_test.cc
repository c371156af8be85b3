#include "detect/rules.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(RulesTest, TheBuiltinPackLoads) {
  RuleSet set;
  ASSERT_EQ(ApplyRulesYaml(BuiltinRulesYaml(), "builtin", &set), "");
  EXPECT_GE(set.rules.size(), 8u);
  EXPECT_FALSE(set.lists.at("sensitive_paths").empty());
  for (const auto& r : set.rules) {
    EXPECT_FALSE(r.steps.empty()) << r.id;
    EXPECT_GE(SeverityRank(r.severity), 0) << r.id;
    EXPECT_FALSE(r.output.empty()) << r.id;
  }
}

TEST(RulesTest, LocalFilesOverrideByIdAndExtendLists) {
  RuleSet set;
  ASSERT_EQ(ApplyRulesYaml(BuiltinRulesYaml(), "builtin", &set), "");
  const size_t n = set.rules.size();
  const size_t paths = set.lists.at("sensitive_paths").size();
  ASSERT_EQ(ApplyRulesYaml(R"(
lists:
  sensitive_paths: {append: ["/srv/secrets/*"]}
  egress_allow: ["10.0.0.0/8"]
rules:
  - id: server-spawns-shell
    severity: low
    exceptions:
      - field: argv
        values: ["sh -c 'git *'"]
  - id: runaway-failing-calls
    enabled: false
  - id: my-rule
    description: mine
    severity: critical
    steps:
      - signal: sensitive_read
        where: {path: "/srv/secrets/*", actor: server}
)",
                           "/etc/agentwatch/rules.d/local.yaml", &set),
            "");
  EXPECT_EQ(set.rules.size(), n + 1);
  EXPECT_EQ(set.lists.at("sensitive_paths").size(), paths + 1);
  EXPECT_EQ(set.lists.at("egress_allow"), std::vector<std::string>{"10.0.0.0/8"});
  for (const auto& r : set.rules) {
    if (r.id == "server-spawns-shell") {
      EXPECT_EQ(r.severity, "low");
      EXPECT_EQ(r.steps.size(), 1u) << "steps kept";
      EXPECT_EQ(r.exceptions.size(), 1u);
      EXPECT_EQ(r.source, "builtin + /etc/agentwatch/rules.d/local.yaml");
    }
    if (r.id == "runaway-failing-calls") {
      EXPECT_FALSE(r.enabled);
    }
  }
  EXPECT_EQ(set.files.size(), 2u);
}

TEST(RulesTest, ErrorsNameTheLineAndLeaveTheSetAlone) {
  RuleSet set;
  ASSERT_EQ(ApplyRulesYaml(BuiltinRulesYaml(), "builtin", &set), "");
  const size_t n = set.rules.size();
  struct Case {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"rules:\n  - id: x\n    steps:\n      - signal: telepathy\n", "unknown signal 'telepathy'"},
      {"rules:\n  - id: x\n    severity: severe\n    steps:\n      - signal: egress\n",
       "line 3: rule x: severity: 'severe' is not"},
      {"rules:\n  - id: x\n    steps:\n      - signal: egress\n        where: {pth: /x}\n",
       "unknown field 'pth'"},
      {"rules:\n  - id: x\n    within: soon\n    steps:\n      - signal: egress\n",
       "is not a duration"},
      {"rules:\n  - id: x\n    description: no steps\n", "needs steps"},
      {"rules:\n  - id: x\n    stesp: []\n", "unknown key 'stesp'"},
      {"rulez: []\n", "unknown top-level key 'rulez'"},
      {"rules: [\n", "rules.d/bad.yaml: line"},
      {"rules:\n  - id: x\n    key: nosuch\n    steps:\n      - signal: egress\n",
       "key: unknown field 'nosuch'"},
  };
  for (const auto& c : cases) {
    RuleSet copy = set;
    const std::string e = ApplyRulesYaml(c.yaml, "rules.d/bad.yaml", &copy);
    EXPECT_NE(e.find(c.error), std::string::npos) << c.yaml << " -> " << e;
    EXPECT_EQ(e.rfind("rules.d/bad.yaml", 0), 0u) << e;
    EXPECT_EQ(copy.rules.size(), n);
  }
}

TEST(RulesTest, LoadRulesReadsADirectoryInOrder) {
  char tmpl[] = "/tmp/aw-rules-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  FILE* f = fopen((dir + "/20-b.yaml").c_str(), "w");
  fputs("rules:\n  - id: server-spawns-shell\n    severity: critical\n", f);
  fclose(f);
  f = fopen((dir + "/10-a.yaml").c_str(), "w");
  fputs("rules:\n  - id: server-spawns-shell\n    severity: low\n", f);
  fclose(f);
  f = fopen((dir + "/notes.txt").c_str(), "w");
  fputs("not yaml: [", f);
  fclose(f);
  // *.yml is read too, in the same name order; an editor's backup is not.
  f = fopen((dir + "/30-c.yml").c_str(), "w");
  fputs("rules:\n  - id: server-spawns-shell\n    severity: high\n", f);
  fclose(f);
  f = fopen((dir + "/40-d.yaml~").c_str(), "w");
  fputs("rules:\n  - id: server-spawns-shell\n    severity: info\n", f);
  fclose(f);
  RuleSet set;
  ASSERT_EQ(LoadRules(dir, &set), "");
  for (const auto& r : set.rules) {
    if (r.id == "server-spawns-shell") {
      EXPECT_EQ(r.severity, "high");
    }
  }
  EXPECT_EQ(set.files.size(), 4u);
  RuleSet none;
  EXPECT_EQ(LoadRules(dir + "/missing", &none), "");
  EXPECT_EQ(none.files.size(), 1u);
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(system(cmd.c_str()), 0);
}


TEST(RulesTest, MacrosAndListReferences) {
  RuleSet set;
  ASSERT_EQ(LoadRules("", &set), "");
  ASSERT_EQ(ApplyRulesYaml(R"(
lists:
  our_secrets: ["/srv/app/secrets/*", "/srv/app/*.key"]
macros:
  ours: {path: "@our_secrets"}
rules:
  - id: our-secret-read
    description: d
    steps:
      - signal: sensitive_read
        where: {macro: [by_server, ours]}
    exceptions:
      - field: path
        values: ["!@our_secrets"]
)",
                           "local.yaml", &set),
            "");
  RuleSet r;
  ASSERT_EQ(ResolveRules(set, &r), "");
  const Rule& rule = r.rules.back();
  ASSERT_EQ(rule.steps[0].where.size(), 2u);
  EXPECT_EQ(rule.steps[0].where[0].field, "actor");
  EXPECT_EQ(rule.steps[0].where[1].field, "path");
  EXPECT_EQ(rule.steps[0].where[1].values,
            (std::vector<std::string>{"/srv/app/secrets/*", "/srv/app/*.key"}));
  EXPECT_EQ(rule.exceptions[0].values,
            (std::vector<std::string>{"!/srv/app/secrets/*", "!/srv/app/*.key"}));

  // Unknown names, fields a macro brings that the signal lacks, and cycles
  // are errors naming the file; the set is left as it was.
  const size_t n = set.rules.size();
  auto err = [&](const char* yaml) { return ApplyRulesYaml(yaml, "bad.yaml", &set); };
  EXPECT_NE(err("rules:\n  - id: x\n    description: d\n    steps:\n      - signal: egress\n"
                "        where: {macro: nope}\n")
                .find("bad.yaml: rule x: where: unknown macro 'nope'"),
            std::string::npos);
  EXPECT_NE(err("rules:\n  - id: x\n    description: d\n    steps:\n      - signal: egress\n"
                "        where: {target: \"@nolist\"}\n")
                .find("unknown list 'nolist'"),
            std::string::npos);
  EXPECT_NE(err("macros:\n  p: {path: x}\nrules:\n  - id: x\n    description: d\n    steps:\n"
                "      - signal: egress\n        where: {macro: p}\n")
                .find("unknown field 'path'"),
            std::string::npos);
  EXPECT_NE(err("macros:\n  a: {macro: b}\n  b: {macro: a}\nrules:\n  - id: x\n    description: d\n"
                "    steps:\n      - signal: egress\n        where: {macro: a}\n")
                .find("cycle"),
            std::string::npos);
  EXPECT_EQ(set.rules.size(), n);
}

}  // namespace
}  // namespace agentwatch
