#include "export/delivery.h"

#include <algorithm>
#include <chrono>
#include <random>

#include <spdlog/spdlog.h>

#include "common/text.h"

namespace agentwatch {

Delivery::Delivery(Store* store, std::vector<SinkConfig> sinks, FormatContext ctx, Options opts)
    : store_(store), ctx_(std::move(ctx)), opts_(opts) {
  for (auto& c : sinks) {
    auto w = std::make_unique<Worker>();
    w->stats.name = c.name;
    w->config = std::move(c);
    workers_.push_back(std::move(w));
  }
}

Delivery::~Delivery() { Stop(); }

std::string Delivery::Start() {
  for (auto& w : workers_) {
    std::string err;
    w->sink = MakeSink(w->config, &err);
    if (!w->sink) return err;
    // A store that is not open yet has no cursors: the sink starts with
    // what it holds in memory, and reads its cursor once it opens.
    w->generation = store_->generation();
    if (store_->available()) {
      std::string cerr;
      w->cursor = store_->Cursor(w->config.name, &cerr);
      if (!cerr.empty()) return "sinks: " + w->config.name + ": " + cerr;
    }
  }
  for (auto& w : workers_) w->thread = std::thread([this, p = w.get()] { Run(p); });
  return "";
}

void Delivery::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

bool Delivery::Wanted(const SinkConfig& c, const v1::Alert& a) const {
  if (SeverityRank(a.severity()) < SeverityRank(c.min_severity)) return false;
  if (!c.rules.empty() && std::none_of(c.rules.begin(), c.rules.end(), [&](const auto& g) {
        return GlobMatch(g, a.rule_id());
      }))
    return false;
  if (!c.agents.empty() && std::none_of(c.agents.begin(), c.agents.end(), [&](const auto& g) {
        return GlobMatch(g, a.agent_exe()) || GlobMatch(g, Basename(a.agent_exe()));
      }))
    return false;
  return true;
}

void Delivery::Run(Worker* w) {
  std::mt19937_64 rng(std::random_device{}());
  uint32_t backoff = 0;  // ms; 0 = not failing
  bool retrying = false;
  auto last_trim = std::chrono::steady_clock::now();
  while (true) {
    std::string err;
    // The store (re)opened: its cursor for this sink is where delivery
    // goes on (back, if it was behind: a repeat, never a gap).
    if (const uint64_t g = store_->generation(); g != w->generation) {
      std::string cerr;
      const int64_t c = store_->Cursor(w->config.name, &cerr);
      if (cerr.empty()) {
        std::lock_guard<std::mutex> lock(w->mu);
        w->cursor = c;
        w->generation = g;
      }
    }
    auto batch = store_->OutboxAfter(w->cursor, opts_.batch, &err);
    std::vector<std::string> messages;
    uint64_t skipped = 0;
    for (const auto& e : batch) {
      if (Wanted(w->config, e.alert)) {
        messages.push_back(FormatFor(w->config, e.alert, ctx_));
      } else {
        ++skipped;
      }
    }
    if (err.empty() && !messages.empty()) err = w->sink->Send(messages);
    // The sink took them: delivery goes on past them whether or not the
    // cursor can be kept (a store that cannot write repeats them after a
    // restart, never loses them).
    if (err.empty() && !batch.empty()) {
      if (std::string cerr = store_->SetCursor(w->config.name, batch.back().seq);
          !cerr.empty() && store_->available())
        spdlog::warn("msg=\"cannot keep a sink's cursor\" sink={} error=\"{}\"", w->config.name,
                     cerr);
    }
    uint64_t rows = 0;
    if (err.empty() && store_->available()) err = w->sink->Tail(store_, w->config.name, ctx_, &rows);
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (err.empty()) {
        if (!batch.empty()) w->cursor = batch.back().seq;
        w->stats.sent += messages.size();
        w->stats.skipped += skipped;
        w->stats.rows += rows;
        if (retrying && !messages.empty()) ++w->stats.retried;
        retrying = false;
        backoff = 0;
      } else {
        ++w->stats.failed;
        w->stats.last_error = err;
        retrying = true;
        backoff = backoff == 0 ? opts_.backoff_min_ms
                               : std::min(backoff * 2, opts_.backoff_max_ms);
      }
      const int64_t end = store_->OutboxEnd();
      w->stats.queued = end > w->cursor ? static_cast<uint64_t>(end - w->cursor) : 0;
    }
    if (!err.empty()) {
      spdlog::warn("msg=\"sink failed; will retry\" sink={} error=\"{}\" retry_ms={}",
                   w->config.name, err, backoff);
    }
    if (std::chrono::steady_clock::now() - last_trim > std::chrono::seconds(10)) {
      last_trim = std::chrono::steady_clock::now();
      Trim();
    }
    // More waiting: go on at once; otherwise sleep (with jitter when failing).
    uint32_t wait_ms = opts_.poll_ms;
    if (backoff != 0) {
      std::uniform_int_distribution<uint32_t> jitter(backoff * 4 / 5, backoff * 6 / 5);
      wait_ms = jitter(rng);
    } else if (batch.size() == opts_.batch) {
      wait_ms = 0;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) break;
    if (wait_ms == 0) continue;
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stop_; });
    if (stop_) break;
  }
}

void Delivery::Trim() {
  int64_t low = INT64_MAX;
  const uint64_t generation = store_->generation();
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    // A cursor not yet read again from a store that (re)opened says
    // nothing about what that store's sinks have passed.
    if (w->generation != generation) return;
    low = std::min(low, w->cursor);
  }
  // The newest kDurableWindow versions stay for durable StreamAlerts
  // clients to resume from, delivered or not.
  constexpr int64_t kDurableWindow = 10000;
  low = std::min(low, store_->OutboxEnd() - kDurableWindow);
  if (low != INT64_MAX && low > 0 && store_->available()) {
    if (std::string e = store_->TrimOutbox(low); !e.empty())
      spdlog::warn("msg=\"outbox trim failed\" error=\"{}\"", e);
  }
}

std::vector<Delivery::SinkStats> Delivery::Stats() const {
  std::vector<SinkStats> out;
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    out.push_back(w->stats);
  }
  return out;
}

}  // namespace agentwatch
