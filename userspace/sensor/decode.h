// Decoding of the kernel's ring-buffer records (bpf/events.h) into
// agentwatch.v1.Event. Pure functions: the record bytes are untrusted input
// (a mismatched kernel object, a bug, a corrupted trace) and are bounds-checked
// field by field; a bad record is reported, never a crash.
#ifndef AGENTWATCH_SENSOR_DECODE_H_
#define AGENTWATCH_SENSOR_DECODE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "agentwatch/v1/agentwatch.pb.h"

namespace agentwatch {

enum class DecodeStatus {
  kOk,
  kInvalid,  // error says why; the record is counted and skipped
};

// Decodes one record. boot_to_unix_ns converts the kernel's CLOCK_BOOTTIME
// stamps to wall time. Leaves out->seq unset (the pipeline numbers events).
DecodeStatus DecodeRecord(std::span<const uint8_t> rec, int64_t boot_to_unix_ns,
                          v1::Event* out, std::string* error);

// Turns a leaf-first component list ("c\0b\0a\0") into "/a/b/c".
std::string ComponentsToPath(std::string_view components);

// Fills a DnsInfo from the captured datagram.
void DecodeDnsPayload(std::span<const uint8_t> payload, uint32_t orig_len,
                      v1::DnsInfo* out);

}  // namespace agentwatch

#endif  // AGENTWATCH_SENSOR_DECODE_H_
