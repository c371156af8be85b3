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

std::string EvasionText(const v1::EvasionInfo& x) {
  const std::string& m = x.mechanism();
  if (m == "io_uring") return fmt::format("io_uring ring fd {}", x.fd());
  if (m == "scm_rights") return fmt::format("scm_rights {} fds on fd {}", x.fds_received(), x.fd());
  if (m == "process_vm_readv")
    return fmt::format("process_vm_readv from pid {}: {} bytes", x.target_pid(), x.bytes());
  if (m == "process_vm_writev")
    return fmt::format("process_vm_writev into pid {}: {} bytes", x.target_pid(), x.bytes());
  if (m == "payload_budget")
    return fmt::format("payload budget spent ({} on fd {}): {} bytes unseen (stream gap)",
                       x.syscall(), x.fd(), x.bytes());
  if (m == "record_budget")
    return fmt::format("record budget spent: {} file, connection or DNS records unseen",
                       x.bytes());
  return fmt::format("{} fd {} -> fd {}: {} bytes unseen{}", m, x.fd(), x.fd2(), x.bytes(),
                     x.stream_gap() ? " (stream gap)" : "");
}

}  // namespace agentwatch
