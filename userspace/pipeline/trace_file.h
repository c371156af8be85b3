// Trace files: every event the sensor decoded (and the start-up /proc
// snapshot), in order, so the same pipeline can run again offline.
//
// Format (version 1): the 8 bytes "AWTRACE1", then records, each a base-128
// varint byte length followed by a serialized agentwatch.v1.Event (see
// proto/agentwatch/v1/agentwatch.proto). A file cut short (crash, disk full)
// loses only its last, partial record.
#ifndef AGENTWATCH_PIPELINE_TRACE_FILE_H_
#define AGENTWATCH_PIPELINE_TRACE_FILE_H_

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "agentwatch/v1/agentwatch.pb.h"
#include "pipeline/bounded_queue.h"

namespace agentwatch {

inline constexpr char kTraceMagic[] = "AWTRACE1";
inline constexpr size_t kTraceMagicLen = 8;
inline constexpr uint32_t kTraceMaxRecord = 16u << 20;

// Writes on its own thread behind a bounded queue; a full queue drops the
// event and counts it (the trace then carries a LOSS event at that point).
class TraceWriter {
 public:
  TraceWriter() : q_(65536) {}
  ~TraceWriter() { Close(); }

  // Opens (truncating) path. Returns "" or an error.
  std::string Open(const std::string& path);
  void Write(const v1::Event& ev);
  // Drains the queue, flushes and closes.
  void Close();

  uint64_t written() const { return written_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void Run();

  FILE* f_ = nullptr;
  BoundedQueue<v1::Event> q_;
  std::thread thread_;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> unreported_{0};
};

class TraceReader {
 public:
  enum class Result { kOk, kEnd, kCorrupt };

  ~TraceReader();
  // Opens path and checks the magic. Returns "" or an error.
  std::string Open(const std::string& path);
  // kCorrupt sets error (offset and reason); the reader stops there.
  Result Next(v1::Event* ev, std::string* error);

 private:
  FILE* f_ = nullptr;
  uint64_t offset_ = 0;
  std::string buf_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_PIPELINE_TRACE_FILE_H_
