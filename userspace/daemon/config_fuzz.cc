// libFuzzer target: the YAML config loader must turn any text into either a
// config or an error string, never an exception or a crash.
#include <cstdint>
#include <string>

#include "daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agentwatch::Config cfg;
  std::string text(reinterpret_cast<const char*>(data), size);
  if (agentwatch::ApplyConfigYaml(text, &cfg).empty()) {
    agentwatch::ValidateConfig(cfg);
  }
  return 0;
}
