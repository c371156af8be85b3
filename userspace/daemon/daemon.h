// Wiring of agentwatchd: sensor -> pipeline -> hub/API, signals, status.
#ifndef AGENTWATCH_DAEMON_DAEMON_H_
#define AGENTWATCH_DAEMON_DAEMON_H_

#include <functional>
#include <ostream>
#include <string>

#include "daemon/config.h"

namespace agentwatch {

inline constexpr char kVersion[] = "0.1.0";

// Runs the live daemon until SIGTERM/SIGINT. config_path is re-read on
// SIGHUP (with the same command-line overrides re-applied by reload_fn).
int RunLive(Config cfg, std::function<std::string(Config*)> reload_fn);

// Feeds a trace through the pipeline and writes each output event as one
// JSON line to out. Returns a process exit code.
int RunReplay(const Config& cfg, const std::string& trace, std::ostream& out);

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_DAEMON_H_
