// Text of the decoded event model's pieces, shared by the CLI's event lines
// and the daemon's chain entries.
#ifndef AGENTWATCH_MODEL_EVENT_TEXT_H_
#define AGENTWATCH_MODEL_EVENT_TEXT_H_

#include <cstdint>
#include <string>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

// "10.0.0.1:443", "[::1]:80", a unix path ("(unnamed)"), "-" when unset.
std::string SockAddrText(const v1::SockAddr& a);

// A syscall result: the value, or the errno name when negative.
std::string SyscallResultText(int64_t result, const std::string& error);

// What payload capture could not see: "splice fd 0 -> fd 5: 4096 bytes
// unseen (stream gap)", "io_uring ring fd 7", "scm_rights 2 fds on fd 3",
// "process_vm_writev into pid 812: 64 bytes".
std::string EvasionText(const v1::EvasionInfo& x);

}  // namespace agentwatch

#endif  // AGENTWATCH_MODEL_EVENT_TEXT_H_
