// Scrubs a recorded trace before it is kept in the repository: the start-up
// /proc snapshot lists every process on the recording host, with command
// lines that may carry anything. Snapshot records of processes that take no
// part in the recording (no event of theirs, or of a child, follows) keep
// their pid, parent, exe and comm, and lose their command line and
// working directory.
//
// With --tree PID, events of processes that do not descend from PID (the
// recorder) are dropped: other work on the recording host that a watch rule
// or the discovery probe picked up (another test's MCP servers, builds)
// takes no part in the scenario. Snapshot records are all kept (scrubbed as
// above), so that the replay knows every process's ancestry.
//
//   aw-trace-scrub [--tree PID] IN OUT
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "pipeline/trace_file.h"

namespace v1 = agentwatch::v1;

namespace {

// Every event of the trace at path, in order; false (said on stderr) if it
// cannot be opened.
bool ForEachEvent(const char* path, const std::function<void(v1::Event&)>& fn) {
  agentwatch::TraceReader r;
  if (std::string e = r.Open(path); !e.empty()) {
    std::cerr << e << "\n";
    return false;
  }
  v1::Event ev;
  std::string err;
  while (r.Next(&ev, &err) == agentwatch::TraceReader::Result::kOk) fn(ev);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t tree = 0;
  if (argc == 5 && std::string(argv[1]) == "--tree") {
    tree = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
    argv += 2;
    argc -= 2;
  }
  if (argc != 3) {
    std::cerr << "usage: aw-trace-scrub [--tree PID] IN OUT\n";
    return 2;
  }
  // Who started whom, over the whole trace (snapshots, forks, the parent
  // every event names).
  std::map<uint32_t, uint32_t> parent;
  if (tree != 0 && !ForEachEvent(argv[1], [&](v1::Event& ev) {
        if (ev.process().pid() != 0 && ev.process().ppid() != 0)
          parent[ev.process().pid()] = ev.process().ppid();
        if (ev.type() == v1::EVENT_TYPE_FORK && !ev.fork().thread() && ev.fork().child_pid() != 0)
          parent[ev.fork().child_pid()] = ev.process().pid();
      }))
    return 1;
  std::map<uint32_t, bool> in_tree_memo;
  auto in_tree = [&](uint32_t pid) {
    if (tree == 0 || pid == 0) return true;
    if (auto it = in_tree_memo.find(pid); it != in_tree_memo.end()) return it->second;
    bool found = false;
    uint32_t p = pid;
    for (int depth = 0; depth < 64 && p > 1; ++depth) {
      if (p == tree) {
        found = true;
        break;
      }
      auto it = parent.find(p);
      if (it == parent.end()) break;
      p = it->second;
    }
    return in_tree_memo[pid] = found;
  };
  std::set<uint32_t> active;
  if (!ForEachEvent(argv[1], [&](v1::Event& ev) {
        if (ev.type() == v1::EVENT_TYPE_PROCESS_SNAPSHOT || !in_tree(ev.process().pid())) return;
        active.insert(ev.process().pid());
        active.insert(ev.process().ppid());
      }))
    return 1;
  agentwatch::TraceWriter w;
  if (std::string e = w.Open(argv[2]); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  uint64_t scrubbed = 0, foreign = 0;
  if (!ForEachEvent(argv[1], [&](v1::Event& ev) {
        if (ev.type() != v1::EVENT_TYPE_PROCESS_SNAPSHOT && !in_tree(ev.process().pid())) {
          ++foreign;
          return;
        }
        if (ev.type() == v1::EVENT_TYPE_PROCESS_SNAPSHOT && !active.count(ev.process().pid())) {
          ev.mutable_exec()->clear_argv();
          ev.mutable_exec()->clear_cwd();
          ++scrubbed;
        }
        w.Write(ev);
      }))
    return 1;
  w.Close();
  if (w.dropped() != 0) {
    std::cerr << "aw-trace-scrub: " << w.dropped() << " events dropped writing " << argv[2] << "\n";
    return 1;
  }
  std::cerr << scrubbed << " snapshot records scrubbed";
  if (tree != 0) std::cerr << ", " << foreign << " events of processes outside pid " << tree << " dropped";
  std::cerr << "\n";
  return 0;
}
