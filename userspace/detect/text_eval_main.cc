// aw-eval-text: the text detectors (detect/text_score.h) over the labelled
// sets in tests/eval/text (JSON lines: definitions with "def", results
// with "text"; "label" attack or benign; "split" tune or test). Prints
// recall on attacks and false positives on benign items per kind, class
// and form, and exits 1 when a floor given on the command line is not
// met. scripts/eval-text-detectors.sh runs it; the replay tier runs it on
// the test half with floors.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include "detect/rules.h"
#include "detect/text_score.h"
#include "mcp/mcp_json.h"

namespace po = boost::program_options;
using agentwatch::TextScorer;

namespace {

struct Item {
  std::string id, label, cls, form, kind, split;
  std::string text;  // results
  std::string def;   // definitions (JSON)
};

bool ReadItems(const std::string& path, const std::string& label, bool defs,
               std::vector<Item>* out, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open " + path;
    return false;
  }
  simdjson::dom::parser parser;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::element e;
    if (parser.parse(line).get(e) != simdjson::SUCCESS || !e.is_object()) {
      *err = fmt::format("{}:{}: not a JSON object", path, n);
      return false;
    }
    Item it;
    auto str = [&](const char* k) {
      std::string_view v;
      return e[k].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
    };
    it.id = str("id");
    it.label = str("label");
    it.cls = str("class");
    it.form = str("form");
    it.kind = str("kind");
    it.split = str("split");
    it.text = str("text");
    simdjson::dom::element def;
    if (e["def"].get(def) == simdjson::SUCCESS) it.def = simdjson::minify(def);
    if (it.label != label) {
      *err = fmt::format("{}:{}: label '{}' in the {} file", path, n, it.label, label);
      return false;
    }
    if (it.split != "tune" && it.split != "test") {
      *err = fmt::format("{}:{}: split must be tune or test", path, n);
      return false;
    }
    if (defs ? it.def.empty() : it.text.empty()) {
      *err = fmt::format("{}:{}: no {}", path, n, defs ? "def" : "text");
      return false;
    }
    out->push_back(std::move(it));
  }
  return true;
}

struct Tally {
  size_t n = 0, flagged = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir, split, rules_dir;
  double min_def_recall = 0, min_res_recall = 0, max_def_fp = 1, max_res_fp = 1;
  bool show = false;
  po::options_description opts(
      "aw-eval-text: recall and false positives of agentwatch's text detectors on labelled "
      "sets\nOptions");
  opts.add_options()("help,h", "this help")(
      "dir", po::value(&dir)->default_value("tests/eval/text"),
      "folder of attack_definitions.jsonl, benign_definitions.jsonl, attack_results.jsonl, "
      "benign_results.jsonl")("split", po::value(&split)->default_value("test"),
                              "tune, test or all")(
      "rules-dir", po::value(&rules_dir)->default_value(""),
      "rule files (*.yaml) applied after the built-in pack, as the daemon's rules.d")(
      "min-definition-recall", po::value(&min_def_recall), "floor, 0..1")(
      "min-result-recall", po::value(&min_res_recall), "floor, 0..1")(
      "max-definition-fp", po::value(&max_def_fp), "ceiling on the false-positive rate, 0..1")(
      "max-result-fp", po::value(&max_res_fp), "ceiling, 0..1")(
      "show", po::bool_switch(&show), "list every miss and false positive with its verdict");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "aw-eval-text: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  agentwatch::RuleSet rules;
  if (std::string e = agentwatch::LoadRules(rules_dir.empty() ? "/nonexistent" : rules_dir, &rules);
      !e.empty()) {
    std::cerr << "aw-eval-text: " << e << "\n";
    return 2;
  }
  TextScorer scorer;
  if (std::string e = scorer.Compile(rules.text); !e.empty()) {
    std::cerr << "aw-eval-text: " << e << "\n";
    return 2;
  }
  std::map<std::string, Tally> by;  // "kind/label[/class|form]"
  int rc = 0;
  for (const char* set : {"definitions", "results"}) {
    const bool defs = std::string(set) == "definitions";
    std::vector<Item> items;
    for (const char* label : {"attack", "benign"}) {
      std::string err;
      if (!ReadItems(fmt::format("{}/{}_{}.jsonl", dir, label, set), label, defs, &items, &err)) {
        std::cerr << "aw-eval-text: " << err << "\n";
        return 2;
      }
    }
    for (const Item& it : items) {
      if (split != "all" && it.split != split) continue;
      TextScorer::Verdict v;
      if (defs) {
        // As the daemon sees them: a tool from its inventory (canonical
        // JSON, the description and schemas cut to their bounds), the other
        // kinds as items of their listing.
        std::vector<agentwatch::TextField> fields;
        if (it.kind == "tool") {
          const agentwatch::McpResultInfo r =
              agentwatch::ReadResult("tools/list", "{\"tools\":[" + it.def + "]}");
          if (r.tools.size() == 1) {
            agentwatch::v1::McpTool t;
            t.set_name(r.tools[0].name);
            t.set_title(r.tools[0].title);
            t.set_description(r.tools[0].description.substr(0, 4096));
            t.set_input_schema(r.tools[0].input_schema.substr(0, 16384));
            t.set_output_schema(r.tools[0].output_schema.substr(0, 16384));
            t.set_annotations(r.tools[0].annotations.substr(0, 16384));
            agentwatch::ToolFields(t, &fields);
          }
        } else {
          agentwatch::DefinitionFields(it.def, "", &fields);
        }
        v = scorer.ScoreFields(fields);
      } else {
        v = scorer.Score(it.text, TextScorer::Kind::kResult);
      }
      const std::string top = fmt::format("{}/{}", set, it.label);
      for (const std::string& k :
           {top, top + "/class:" + it.cls, top + "/form:" + (it.form.empty() ? it.kind : it.form)}) {
        ++by[k].n;
        by[k].flagged += v.flagged;
      }
      const bool wrong = v.flagged != (it.label == "attack");
      if (show && wrong) {
        std::cout << fmt::format("{} {} [{}] score {:.1f}: {}\n    {}\n",
                                 it.label == "attack" ? "MISS" : "FALSE", it.id, it.cls.empty() ? it.form : it.cls,
                                 v.score, v.Reason(), v.excerpt.substr(0, 200));
      }
    }
  }
  auto rate = [&](const std::string& k) {
    const Tally& t = by[k];
    return t.n == 0 ? 0.0 : static_cast<double>(t.flagged) / static_cast<double>(t.n);
  };
  std::cout << fmt::format("split: {}\n\n| set | items | flagged | rate |\n|---|---:|---:|---:|\n",
                           split);
  for (const auto& [k, t] : by) {
    if (k.find("/class:") != std::string::npos || k.find("/form:") != std::string::npos) continue;
    std::cout << fmt::format("| {} | {} | {} | {:.1f}% |\n", k, t.n, t.flagged, 100 * rate(k));
  }
  std::cout << "\nby class (attacks) and form (benign):\n";
  for (const auto& [k, t] : by) {
    const bool cls = k.find("attack/class:") != std::string::npos;
    const bool form = k.find("benign/form:") != std::string::npos;
    if (!cls && !form) continue;
    std::cout << fmt::format("  {:<52} {:>4} / {:<4} {:5.1f}%\n", k, t.flagged, t.n, 100 * rate(k));
  }
  auto floor = [&](const std::string& k, double v, bool at_least, const char* what) {
    const double r = rate(k);
    if (by[k].n == 0 || (at_least ? r < v : r > v)) {
      std::cout << fmt::format("FAIL: {} {:.1f}% (items {}), {} {:.1f}%\n", what, 100 * r, by[k].n,
                               at_least ? "floor" : "ceiling", 100 * v);
      rc = 1;
    }
  };
  if (vm.count("min-definition-recall"))
    floor("definitions/attack", min_def_recall, true, "definition recall");
  if (vm.count("min-result-recall")) floor("results/attack", min_res_recall, true, "result recall");
  if (vm.count("max-definition-fp"))
    floor("definitions/benign", max_def_fp, false, "definition false positives");
  if (vm.count("max-result-fp")) floor("results/benign", max_res_fp, false, "result false positives");
  return rc;
}
