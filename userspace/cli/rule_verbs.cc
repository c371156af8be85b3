// rules and baseline: the detection rules in force (linted, reloaded) and
// what each server learned.
#include "cli/verbs.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <grpcpp/grpcpp.h>

#include "cli/connection.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "common/clock.h"
#include "common/text.h"
#include "detect/engine.h"
#include "redact/catalogue.h"
#include "redact/redactor.h"

namespace po = boost::program_options;

namespace agentwatch::cli {

namespace {

// rules --lint PATH: the file over the built-in pack, without the daemon.
int LintRules(const std::string& path) {
  std::string text;
  if (!ReadFileText(path, &text)) {
    std::cerr << "agentwatch rules: cannot read " << path << "\n";
    return 2;
  }
  if (LooksLikeSecretCatalogue(text)) {
    // Credential formats for redaction, over the built-in catalogue.
    SecretCatalogue cat;
    std::string e = ParseSecretCatalogue(BuiltinSecretsYaml(), "builtin", &cat);
    if (e.empty()) e = ParseSecretCatalogue(text, path, &cat);
    if (e.empty()) e = CheckSecretCatalogue(cat);
    if (!e.empty()) {
      std::cerr << e << "\n";
      return 1;
    }
    std::cout << path << ": OK (" << cat.rules.size()
              << " credential formats with the built-in catalogue)\n";
    return 0;
  }
  RuleSet set;
  if (std::string e = Engine::Lint(text, path, &set); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  std::cout << path << ": OK (" << set.rules.size() << " rules with the built-in pack)\n";
  return 0;
}

// rules --reload: the daemon reloads on SIGHUP; find it by its name in /proc.
int ReloadDaemons() {
  int sent = 0;
  for (const auto& d : std::filesystem::directory_iterator("/proc")) {
    const std::string name = d.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(d.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c == "agentwatchd" && kill(std::stoi(name), SIGHUP) == 0) ++sent;
  }
  if (sent == 0) {
    std::cerr << "agentwatch rules: no agentwatchd process to signal (root needed)\n";
    return 1;
  }
  std::cout << "sent SIGHUP to " << sent << " agentwatchd process(es); see its log\n";
  return 0;
}

}  // namespace

int RunRules(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
             const std::vector<std::string>& args) {
  po::options_description desc("agentwatch rules [options]");
  desc.add_options()("help,h", "show this help")(
      "lint", po::value<std::string>(),
      "check a rule file (over the built-in pack) without the daemon; exit 1 if bad")(
      "reload", "make the daemon re-read its configuration and rules (SIGHUP)");
  po::variables_map vm;
  if (int r = ParseArgs("rules", desc, args, &vm)) return r < 0 ? 0 : r;
  if (vm.count("lint")) return LintRules(vm["lint"].as<std::string>());
  if (vm.count("reload")) return ReloadDaemons();
  v1::ListRulesResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListRules(Deadline(&ctx), v1::ListRulesRequest(), &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json) {
    PrintJsonLines(resp.rules());
  } else {
    std::cout << FormatRules({resp.rules().begin(), resp.rules().end()});
    std::cout << "files:";
    for (const auto& f : resp.files()) std::cout << " " << f;
    std::cout << "\n";
    for (const auto& s : resp.suppressions()) {
      std::string rules, where;
      for (const auto& r : s.rules()) rules += (rules.empty() ? "" : ",") + r;
      for (const auto& w : s.where()) where += (where.empty() ? "" : " ") + w;
      std::cout << "suppressed: " << s.id() << " rules=" << (rules.empty() ? "*" : rules)
                << (where.empty() ? "" : " where " + where) << " hits=" << s.hits()
                << (s.until_unix_ns() != 0 ? " until=" + FormatRfc3339(s.until_unix_ns()) : "")
                << " (" << s.source() << ")\n";
    }
  }
  return 0;
}

int RunBaseline(v1::AgentWatch::Stub& stub, const std::string& endpoint, bool json,
                const std::vector<std::string>& args) {
  po::options_description desc("agentwatch baseline [SERVER] [options]");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("server", po::value<std::string>(),
     "server identity or name (see `agentwatch servers`); default all")
    ("export", "print the profiles as JSON lines (what was learned)")
    ("reset", "start learning over for SERVER (or every server with --all)")
    ("all", "with --reset: every server");
  // clang-format on
  po::positional_options_description pos;
  pos.add("server", 1);
  po::variables_map vm;
  if (int r = ParseArgs("baseline", desc, args, &vm, &pos)) return r < 0 ? 0 : r;
  const std::string server = vm.count("server") ? vm["server"].as<std::string>() : "";
  if (vm.count("reset")) {
    if (server.empty() && !vm.count("all")) {
      std::cerr << "agentwatch baseline --reset: name a server, or --all\n";
      return 2;
    }
    v1::ResetBaselineRequest req;
    req.set_server(server);
    req.set_all(vm.count("all") > 0);
    v1::ResetBaselineResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub.ResetBaseline(Deadline(&ctx), req, &resp);
    if (!s.ok()) return Fail(s, endpoint);
    std::cout << resp.reset() << " baseline(s) learning again\n";
    return 0;
  }
  v1::ListBaselinesRequest req;
  req.set_server(server);
  v1::ListBaselinesResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.ListBaselines(Deadline(&ctx), req, &resp);
  if (!s.ok()) return Fail(s, endpoint);
  if (json || vm.count("export")) {
    PrintJsonLines(resp.baselines());
  } else {
    std::cout << FormatBaselines({resp.baselines().begin(), resp.baselines().end()},
                                 !server.empty());
  }
  return 0;
}

}  // namespace agentwatch::cli
