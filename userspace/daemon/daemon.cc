#include "daemon/daemon.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include "daemon/live_daemon.h"
#include "daemon/wiring.h"
#include "pipeline/pipeline.h"
#include "pipeline/trace_file.h"

namespace agentwatch {

int RunLive(Config cfg, std::function<std::string(Config*)> reload_fn) {
  LiveDaemon daemon(std::move(cfg), std::move(reload_fn));
  return daemon.Run();
}

int RunReplay(const Config& cfg, const std::string& trace, std::ostream& out) {
  TraceReader reader;
  if (std::string e = reader.Open(trace); !e.empty()) {
    spdlog::error("msg=\"cannot replay\" error=\"{}\"", e);
    return 1;
  }
  if (std::string e = InstallRedactor(cfg, false, nullptr); !e.empty()) {
    spdlog::error("msg=\"cannot set up redaction\" error=\"{}\"", e);
    return 1;
  }
  google::protobuf::util::JsonPrintOptions jopts;
  jopts.preserve_proto_field_names = true;
  std::string line;
  Pipeline pipeline(PipelineOptions(cfg), nullptr,
                    [&](const v1::Event& ev, const std::vector<uint32_t>&) {
                      line.clear();
                      google::protobuf::util::MessageToJsonString(ev, &line, jopts);
                      out << line << '\n';
                    });
  pipeline.SetWatchRules(cfg.EffectiveWatchRules(), cfg.watch_pids);
  if (std::string e = LoadDetectionRules(cfg.rules_dir, &pipeline, nullptr); !e.empty()) {
    spdlog::error("msg=\"cannot load detection rules\" error=\"{}\"", e);
    return 1;
  }
  v1::Event ev;
  std::string err;
  uint64_t n = 0;
  while (true) {
    TraceReader::Result r = reader.Next(&ev, &err);
    if (r == TraceReader::Result::kEnd) break;
    if (r == TraceReader::Result::kCorrupt) {
      spdlog::warn("msg=\"trace damaged; replayed what came before\" error=\"{}\" events={}", err,
                   n);
      break;
    }
    pipeline.Process(std::move(ev));
    ++n;
  }
  out.flush();
  spdlog::info("msg=\"replay done\" events={}", n);
  return 0;
}

}  // namespace agentwatch
