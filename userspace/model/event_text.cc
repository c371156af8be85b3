#include "model/event_text.h"

#include <fmt/format.h>

namespace agentwatch {

std::string SockAddrText(const v1::SockAddr& a) {
  if (a.family() == "unix") return a.address().empty() ? "(unnamed)" : a.address();
  if (a.family() == "inet6") return fmt::format("[{}]:{}", a.address(), a.port());
  if (a.family().empty()) return "-";
  return fmt::format("{}:{}", a.address(), a.port());
}

std::string SyscallResultText(int64_t result, const std::string& error) {
  if (result < 0 && !error.empty()) return error;
  return std::to_string(result);
}

}  // namespace agentwatch
