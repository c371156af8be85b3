// Start-up scan of /proc: processes that already run, as
// EVENT_TYPE_PROCESS_SNAPSHOT events fed through the pipeline (and recorded,
// so a replay starts from the same state).
#ifndef AGENTWATCH_PROC_PROC_SCAN_H_
#define AGENTWATCH_PROC_PROC_SCAN_H_

#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

// One snapshot event for pid, or false if it vanished or is unreadable.
bool SnapshotProcess(const std::string& proc_root, uint32_t pid,
                     v1::Event* out);

// Pids of every process (not threads) under proc_root, in order.
std::vector<uint32_t> ListPids(const std::string& proc_root);

// Snapshots of every process (not threads) under proc_root, in pid order.
std::vector<v1::Event> ScanProc(const std::string& proc_root);

// Parses the fields of /proc/PID/stat after the comm (which may contain
// spaces and parentheses): ppid and starttime (clock ticks since boot).
bool ParseProcStat(const std::string& text, std::string* comm, uint32_t* ppid,
                   uint64_t* start_ticks);

}  // namespace agentwatch

#endif  // AGENTWATCH_PROC_PROC_SCAN_H_
