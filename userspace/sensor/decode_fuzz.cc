// libFuzzer target: kernel record decoding over arbitrary bytes. The first
// four bytes pick a record type so the fuzzer reaches every decoder.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "events.h"
#include "sensor/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr uint32_t kTypes[] = {
      AW_EV_EXEC,        AW_EV_FORK,        AW_EV_EXIT,       AW_EV_FILE_OPEN,
      AW_EV_FILE_UNLINK, AW_EV_FILE_RENAME, AW_EV_NET_CONNECT, AW_EV_NET_CLOSE,
      AW_EV_NET_DNS,     9999};
  std::vector<uint8_t> rec(data, data + size);
  if (rec.size() >= sizeof(aw_hdr)) {
    aw_hdr h;
    std::memcpy(&h, rec.data(), sizeof(h));
    h.type = kTypes[h.type % (sizeof(kTypes) / sizeof(kTypes[0]))];
    if (h.size > rec.size() || h.size < sizeof(aw_hdr))
      h.size = static_cast<uint32_t>(rec.size());
    std::memcpy(rec.data(), &h, sizeof(h));
  }
  agentwatch::v1::Event ev;
  std::string err;
  if (agentwatch::DecodeRecord(rec, 0, &ev, &err) !=
          agentwatch::DecodeStatus::kOk &&
      err.empty()) {
    abort();
  }
  return 0;
}
