// What the verbs share: parsing a command's own options, --since, and
// printing records as JSON lines.
#ifndef AGENTWATCH_CLI_FLAGS_H_
#define AGENTWATCH_CLI_FLAGS_H_

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/format.h"

namespace agentwatch::cli {

// Parses a command's own options (cmd names it in errors); prints desc on
// --help. Returns 0 to go on, -1 after the help (exit 0), else the exit code
// of a bad option (2).
int ParseArgs(const char* cmd, boost::program_options::options_description& desc,
              const std::vector<std::string>& args, boost::program_options::variables_map* vm,
              boost::program_options::positional_options_description* pos = nullptr);

// --since SPAN (30m, 1h, 7d) as the unix time that long ago (0 without
// it); false, with the error printed, when SPAN is no duration.
bool SinceOption(const boost::program_options::variables_map& vm, const char* verb,
                 int64_t* since_unix_ns);

// Each message of a repeated field as one JSON line on standard output.
template <typename Repeated>
void PrintJsonLines(const Repeated& messages) {
  for (const auto& m : messages) std::cout << ProtoJson(m) << "\n";
}

}  // namespace agentwatch::cli

#endif  // AGENTWATCH_CLI_FLAGS_H_
