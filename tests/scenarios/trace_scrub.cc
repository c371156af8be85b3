// Scrubs a recorded trace before it is kept in the repository: the start-up
// /proc snapshot lists every process on the recording host, with command
// lines that may carry anything. Snapshot records of processes that take no
// part in the recording (no event of theirs, or of a child, follows) keep
// their pid, parent, exe and comm, and lose their command line and
// working directory.
//
//   aw-trace-scrub IN OUT
#include <iostream>
#include <set>
#include <string>

#include "pipeline/trace_file.h"

namespace v1 = agentwatch::v1;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: aw-trace-scrub IN OUT\n";
    return 2;
  }
  std::set<uint32_t> active;
  {
    agentwatch::TraceReader r;
    if (std::string e = r.Open(argv[1]); !e.empty()) {
      std::cerr << e << "\n";
      return 1;
    }
    v1::Event ev;
    std::string err;
    while (r.Next(&ev, &err) == agentwatch::TraceReader::Result::kOk) {
      if (ev.type() == v1::EVENT_TYPE_PROCESS_SNAPSHOT) continue;
      active.insert(ev.process().pid());
      active.insert(ev.process().ppid());
    }
  }
  agentwatch::TraceReader r;
  agentwatch::TraceWriter w;
  if (std::string e = r.Open(argv[1]); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  if (std::string e = w.Open(argv[2]); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  v1::Event ev;
  std::string err;
  uint64_t scrubbed = 0;
  while (r.Next(&ev, &err) == agentwatch::TraceReader::Result::kOk) {
    if (ev.type() == v1::EVENT_TYPE_PROCESS_SNAPSHOT && !active.count(ev.process().pid())) {
      ev.mutable_exec()->clear_argv();
      ev.mutable_exec()->clear_cwd();
      ++scrubbed;
    }
    w.Write(ev);
  }
  w.Close();
  if (w.dropped() != 0) {
    std::cerr << "aw-trace-scrub: " << w.dropped() << " events dropped writing " << argv[2] << "\n";
    return 1;
  }
  std::cerr << scrubbed << " snapshot records scrubbed\n";
  return 0;
}
