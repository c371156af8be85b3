#include "pipeline/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace agentwatch {

std::string TraceWriter::Open(const std::string& path) {
  // Traces hold captured content as it was: owner-only.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod(fd, 0600) != 0 || (f_ = fdopen(fd, "wb")) == nullptr) {
    std::string err = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return fmt::format("{}: {}", path, err);
  }
  if (std::fwrite(kTraceMagic, 1, kTraceMagicLen, f_) != kTraceMagicLen) {
    std::fclose(f_);
    f_ = nullptr;
    return fmt::format("{}: write failed", path);
  }
  thread_ = std::thread([this] { Run(); });
  return "";
}

void TraceWriter::Write(const v1::Event& ev) {
  if (f_ == nullptr) return;
  uint64_t lost = unreported_.load();
  if (lost > 0) {
    v1::Event loss;
    loss.set_type(v1::EVENT_TYPE_LOSS);
    loss.set_time_unix_ns(ev.time_unix_ns());
    loss.set_ktime_ns(ev.ktime_ns());
    loss.set_lost(lost);
    loss.set_lost_reason("trace writer queue full");
    if (q_.TryPush(std::move(loss))) unreported_ -= lost;
  }
  v1::Event copy = ev;
  if (!q_.TryPush(std::move(copy))) {
    ++dropped_;
    ++unreported_;
  }
}

void TraceWriter::Run() {
  std::string buf;
  v1::Event ev;
  while (true) {
    if (!q_.Pop(&ev, std::chrono::milliseconds(200))) {
      if (q_.closed() && q_.size() == 0) break;
      std::fflush(f_);
      continue;
    }
    buf.clear();
    ev.SerializeToString(&buf);
    uint8_t hdr[10];
    size_t n = 0;
    uint64_t len = buf.size();
    do {
      uint8_t b = len & 0x7f;
      len >>= 7;
      hdr[n++] = b | (len ? 0x80 : 0);
    } while (len);
    std::fwrite(hdr, 1, n, f_);
    std::fwrite(buf.data(), 1, buf.size(), f_);
    ++written_;
  }
  std::fflush(f_);
}

void TraceWriter::Close() {
  if (f_ == nullptr) return;
  q_.Close();
  if (thread_.joinable()) thread_.join();
  std::fclose(f_);
  f_ = nullptr;
}

TraceReader::~TraceReader() {
  if (f_ != nullptr) std::fclose(f_);
}

std::string TraceReader::Open(const std::string& path) {
  f_ = std::fopen(path.c_str(), "rb");
  if (f_ == nullptr) return fmt::format("{}: {}", path, std::strerror(errno));
  char magic[kTraceMagicLen];
  if (std::fread(magic, 1, kTraceMagicLen, f_) != kTraceMagicLen ||
      std::memcmp(magic, kTraceMagic, kTraceMagicLen) != 0) {
    return fmt::format("{}: not an agentwatch trace (bad magic)", path);
  }
  offset_ = kTraceMagicLen;
  return "";
}

TraceReader::Result TraceReader::Next(v1::Event* ev, std::string* error) {
  uint64_t len = 0;
  int shift = 0;
  uint64_t start = offset_;
  while (true) {
    int c = std::fgetc(f_);
    if (c == EOF) {
      if (shift == 0) return Result::kEnd;
      *error = fmt::format("offset {}: file ends inside a record length",
                           start);
      return Result::kCorrupt;
    }
    ++offset_;
    len |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
    shift += 7;
    if (shift > 35) {
      *error = fmt::format("offset {}: record length is not a varint", start);
      return Result::kCorrupt;
    }
  }
  if (len > kTraceMaxRecord) {
    *error = fmt::format("offset {}: record of {} bytes exceeds the {} limit",
                         start, len, kTraceMaxRecord);
    return Result::kCorrupt;
  }
  buf_.resize(len);
  if (std::fread(buf_.data(), 1, len, f_) != len) {
    *error = fmt::format("offset {}: file ends inside a {}-byte record", start,
                         len);
    return Result::kCorrupt;
  }
  offset_ += len;
  if (!ev->ParseFromString(buf_)) {
    *error = fmt::format("offset {}: record does not parse as an Event", start);
    return Result::kCorrupt;
  }
  return Result::kOk;
}

}  // namespace agentwatch
