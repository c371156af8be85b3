#include "cli/flags.h"

#include <chrono>

#include "common/text.h"

namespace po = boost::program_options;

namespace agentwatch::cli {

int ParseArgs(const char* cmd, po::options_description& desc,
              const std::vector<std::string>& args, po::variables_map* vm,
              po::positional_options_description* pos) {
  try {
    auto p = po::command_line_parser(args).options(desc);
    if (pos != nullptr) p.positional(*pos);
    po::store(p.run(), *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    std::cerr << "agentwatch " << cmd << ": " << e.what() << "\n";
    return 2;
  }
  if (vm->count("help")) {
    std::cout << desc << "\n";
    return -1;
  }
  return 0;
}

bool SinceOption(const po::variables_map& vm, const char* verb, int64_t* since_unix_ns) {
  *since_unix_ns = 0;
  if (!vm.count("since")) return true;
  uint64_t ms = 0;
  if (std::string e = ParseDurationMs(vm["since"].as<std::string>(), &ms); !e.empty()) {
    std::cerr << "agentwatch " << verb << ": --since " << e << "\n";
    return false;
  }
  *since_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() -
                   static_cast<int64_t>(ms) * 1000000;
  return true;
}

}  // namespace agentwatch::cli
