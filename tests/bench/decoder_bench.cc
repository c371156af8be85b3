// Decoder throughput: the payload of a recorded trace of real MCP traffic
// through stream ordering, framing, HTTP/SSE, JSON-RPC and session tracking
// (decoder_and_tracker), and through the whole MCP stage of the pipeline,
// which also builds the published events with their redacted previews
// (mcp_stage); against memcpy of the same bytes in the same run. Then the
// whole replay: every event of the trace through the pipeline (process
// table, MCP stage, correlation into chains), without (pipeline) and with
// the chain updates committed to a fresh SQLite store by the store's own
// thread, as in the daemon (pipeline_store: timed until the last batch is
// committed), and both again with the built-in detection rules on
// (pipeline_detect, pipeline_store_detect). Wall time throughout; bytes are the trace's payload bytes, so
// the rates compare.
//
//   aw-bench-decoder --trace FILE [google benchmark flags]
//
// scripts/bench-decoder.sh records the trace and reports the ratio.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <tuple>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "detect/rules.h"
#include "pipeline/pipeline.h"
#include "pipeline/trace_file.h"
#include "redact/redactor.h"
#include "session/mcp_stage.h"
#include "store/store.h"

namespace {

std::vector<agentwatch::v1::Event> g_payloads;
std::vector<agentwatch::v1::Event> g_all;
uint64_t g_bytes = 0;

void BM_Memcpy(benchmark::State& state) {
  std::vector<char> dst(64 * 1024);
  for (auto _ : state) {
    for (const auto& e : g_payloads) {
      const std::string& d = e.payload().data();
      std::memcpy(dst.data(), d.data(), std::min(d.size(), dst.size()));
      benchmark::DoNotOptimize(dst.data());
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_bytes));
}

// Framing + JSON-RPC + sessions only: a StreamDecoder per stream and the
// tracker, without building the published events and their previews.
void BM_DecoderAndTracker(benchmark::State& state) {
  using Key = std::tuple<uint32_t, int32_t, bool, uint64_t>;
  uint64_t messages = 0;
  for (auto _ : state) {
    std::map<Key, agentwatch::StreamDecoder> streams;
    agentwatch::McpTracker tracker;
    std::vector<agentwatch::DecodedMessage> msgs;
    std::vector<agentwatch::DecodeFailure> failures;
    std::vector<agentwatch::v1::Event> out;
    messages = 0;
    for (const auto& e : g_payloads) {
      const auto& p = e.payload();
      const bool dir_out = p.direction() == "out";
      auto& d = streams[{e.process().pid(), p.fd(), dir_out, p.inode()}];
      msgs.clear();
      failures.clear();
      d.Feed(p.offset(), p.data(), &msgs, &failures);
      agentwatch::McpObservation w;
      w.pid = e.process().pid();
      w.fd = p.fd();
      w.inode = p.inode();
      w.out = dir_out;
      w.ktime_ns = e.ktime_ns();
      for (const auto& m : msgs) tracker.OnMessage(w, m, &out);
      messages += msgs.size();
      out.clear();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_bytes));
  state.counters["messages"] = static_cast<double>(messages);
}

void BM_McpStage(benchmark::State& state) {
  uint64_t messages = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<agentwatch::v1::Event> events = g_payloads;
    auto stage = std::make_unique<agentwatch::McpStage>();
    std::vector<agentwatch::v1::Event> out;
    out.reserve(1024);
    state.ResumeTiming();
    for (auto& e : events) {
      stage->OnPayload(&e, nullptr, &out);
      out.clear();
    }
    messages = stage->counters().messages;
    state.PauseTiming();  // tearing down is not part of the replay
    stage.reset();
    events.clear();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_bytes));
  state.counters["messages"] = static_cast<double>(messages);
}

void ReplayPipeline(benchmark::State& state, bool store, bool detect = false) {
  uint64_t updates = 0, stored = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<agentwatch::v1::Event> events = g_all;
    char dir[] = "/tmp/aw-bench-store-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      state.SkipWithError("mkdtemp");
      break;
    }
    std::unique_ptr<agentwatch::Store> db;
    if (store) {
      agentwatch::Store::Options o;
      o.path = std::string(dir) + "/agentwatch.db";
      // Batches while the replay runs, as in steady state (the daemon's
      // default interval, 1 s, is longer than this whole trace).
      o.flush_interval_ms = 10;
      std::string err;
      db = agentwatch::Store::Open(o, &err);
      if (!db) {
        state.SkipWithError(err.c_str());
        break;
      }
      db->Start(nullptr);
    }
    updates = 0;
    auto pipeline = std::make_unique<agentwatch::Pipeline>(
        agentwatch::Pipeline::Options{}, nullptr,
        [&](const agentwatch::v1::Event& ev, const std::vector<uint32_t>&) {
          if (ev.type() != agentwatch::v1::EVENT_TYPE_CHAIN_UPDATE) return;
          ++updates;
          if (db) db->Put(ev.chain_update());
        });
    if (detect) {
      agentwatch::RuleSet rules;
      if (std::string e = agentwatch::LoadRules("", &rules); !e.empty() ||
          !(e = pipeline->SetDetectionRules(rules)).empty()) {
        state.SkipWithError(e.c_str());
        break;
      }
    }
    state.ResumeTiming();
    for (auto& e : events) pipeline->Process(std::move(e));
    if (db) {
      db->Stop();  // commits what is still queued
      stored = db->counters().updates_written;
      if (db->counters().write_errors > 0) state.SkipWithError("store write failed");
    }
    state.PauseTiming();
    // Tearing down is not part of the replay.
    pipeline.reset();
    events.clear();
    db.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_bytes));
  state.counters["chain_updates"] = static_cast<double>(updates);
  if (store) state.counters["stored"] = static_cast<double>(stored);
}

void BM_Pipeline(benchmark::State& state) { ReplayPipeline(state, false); }
void BM_PipelineStore(benchmark::State& state) { ReplayPipeline(state, true); }
void BM_PipelineDetect(benchmark::State& state) { ReplayPipeline(state, false, true); }
void BM_PipelineStoreDetect(benchmark::State& state) { ReplayPipeline(state, true, true); }

}  // namespace

int main(int argc, char** argv) {
  std::string trace;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--trace" && i + 1 < argc) {
      trace = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (trace.empty()) {
    std::cerr << "usage: aw-bench-decoder --trace FILE [benchmark flags]\n";
    return 2;
  }
  agentwatch::TraceReader r;
  if (std::string e = r.Open(trace); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  agentwatch::v1::Event ev;
  std::string err;
  while (r.Next(&ev, &err) == agentwatch::TraceReader::Result::kOk) {
    g_all.push_back(ev);
    if (ev.type() != agentwatch::v1::EVENT_TYPE_PAYLOAD) continue;
    g_bytes += ev.payload().data().size();
    g_payloads.push_back(ev);
  }
  std::cerr << "trace: " << g_payloads.size() << " payload chunks, " << g_bytes
            << " bytes\n";
  if (g_bytes == 0) return 1;
  spdlog::set_level(spdlog::level::off);  // the pipeline logs to stdout
  // The catalogue compiled before any replay (else the first replay of
  // the first benchmark pays for it).
  agentwatch::DefaultRedactor();
  benchmark::RegisterBenchmark("memcpy", BM_Memcpy);
  benchmark::RegisterBenchmark("decoder_and_tracker", BM_DecoderAndTracker);
  benchmark::RegisterBenchmark("mcp_stage", BM_McpStage)->UseRealTime();
  benchmark::RegisterBenchmark("pipeline", BM_Pipeline)->UseRealTime();
  benchmark::RegisterBenchmark("pipeline_store", BM_PipelineStore)->UseRealTime();
  benchmark::RegisterBenchmark("pipeline_detect", BM_PipelineDetect)->UseRealTime();
  benchmark::RegisterBenchmark("pipeline_store_detect", BM_PipelineStoreDetect)->UseRealTime();
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
