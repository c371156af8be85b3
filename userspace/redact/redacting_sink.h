// Logs pass the redaction stage too: an spdlog sink that masks every
// formatted message before handing it to the sink behind it.
#ifndef AGENTWATCH_REDACT_REDACTING_SINK_H_
#define AGENTWATCH_REDACT_REDACTING_SINK_H_

#include <memory>
#include <mutex>
#include <string>

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>

#include "redact/redactor.h"

namespace agentwatch {

class RedactingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string text =
        DefaultRedactor()->Redact(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy(msg.time, msg.source, msg.logger_name, msg.level,
                                  spdlog::string_view_t(text.data(), text.size()));
    copy.thread_id = msg.thread_id;
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  spdlog::sink_ptr inner_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_REDACTING_SINK_H_
