// libFuzzer target: reading a damaged or hostile trace file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pipeline/trace_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    char p[] = "/tmp/aw-trace-fuzz-XXXXXX";
    close(mkstemp(p));
    return std::string(p);
  }();
  FILE* f = fopen(path.c_str(), "wb");
  fwrite(agentwatch::kTraceMagic, 1, agentwatch::kTraceMagicLen, f);
  fwrite(data, 1, size, f);
  fclose(f);
  agentwatch::TraceReader r;
  if (!r.Open(path).empty()) abort();
  agentwatch::v1::Event ev;
  std::string err;
  for (int i = 0; i < 10000; ++i) {
    auto res = r.Next(&ev, &err);
    if (res == agentwatch::TraceReader::Result::kEnd) break;
    if (res == agentwatch::TraceReader::Result::kCorrupt) {
      if (err.empty()) abort();
      break;
    }
  }
  return 0;
}
