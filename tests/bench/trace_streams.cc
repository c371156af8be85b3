// Writes each captured byte stream of a trace file (one per process, fd,
// direction and inode; payload chunks in offset order, gaps left out) to
// DIR/<pid>-<fd>-<in|out>.bin: seeds for the parser fuzz targets, taken
// from real traffic.
//
//   aw-trace-streams TRACE DIR
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <tuple>

#include "pipeline/trace_file.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: aw-trace-streams TRACE DIR\n";
    return 2;
  }
  agentwatch::TraceReader r;
  if (std::string e = r.Open(argv[1]); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  using Key = std::tuple<uint32_t, int32_t, std::string, uint64_t>;
  std::map<Key, std::map<uint64_t, std::string>> streams;
  agentwatch::v1::Event ev;
  std::string err;
  while (r.Next(&ev, &err) == agentwatch::TraceReader::Result::kOk) {
    if (ev.type() != agentwatch::v1::EVENT_TYPE_PAYLOAD) continue;
    const auto& p = ev.payload();
    streams[{ev.process().pid(), p.fd(), p.direction(), p.inode()}][p.offset()] =
        p.data();
  }
  int n = 0;
  for (const auto& [k, chunks] : streams) {
    std::string path = std::string(argv[2]) + "/" +
                       std::to_string(std::get<0>(k)) + "-" +
                       std::to_string(std::get<1>(k)) + "-" + std::get<2>(k) +
                       "-" + std::to_string(std::get<3>(k)) + ".bin";
    std::ofstream out(path, std::ios::binary);
    for (const auto& [off, data] : chunks) out << data;
    ++n;
  }
  std::cerr << n << " streams written to " << argv[2] << "\n";
  return 0;
}
