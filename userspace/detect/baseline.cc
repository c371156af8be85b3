#include "detect/baseline.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "model/event_text.h"

namespace agentwatch {
namespace {

constexpr int64_t kMinuteNs = 60ll * 1000000000;
constexpr char kActive[] = "active";
constexpr char kLearning[] = "learning";

// How much a novel value of a kind says on its own: a server running a
// program it never ran matters more than one opening a new directory.
double KindWeight(const std::string& kind) {
  if (kind == "exe") return 1.0;
  if (kind == "destination") return 0.9;
  if (kind == "dns") return 0.8;
  return 0.6;  // file_area, tool
}

bool ReachesOut(const std::string& kind) {
  return kind == "exe" || kind == "destination" || kind == "dns";
}

// A path component that differs from run to run: it holds a digit (pids,
// versions, dates, random suffixes), or ends in a mixed-case run of six or
// more after a separator (mkdtemp's XXXXXX).
bool Variable(std::string_view c) {
  if (std::any_of(c.begin(), c.end(), [](unsigned char ch) { return std::isdigit(ch); }))
    return true;
  const size_t sep = c.find_last_of("-_.");
  if (sep == std::string_view::npos) return false;
  const std::string_view tail = c.substr(sep + 1);
  const bool upper = std::any_of(tail.begin(), tail.end(),
                                 [](unsigned char ch) { return std::isupper(ch); });
  const bool lower = std::any_of(tail.begin(), tail.end(),
                                 [](unsigned char ch) { return std::islower(ch); });
  return tail.size() >= 6 && upper && lower;
}

std::string Score(double s) { return fmt::format("{:.2f}", s); }

}  // namespace

std::string Baselines::Area(std::string_view path) {
  if (path.empty() || path[0] != '/') return "";
  const size_t last = path.find_last_of('/');
  std::string_view dir = path.substr(0, last);
  std::string out;
  int depth = 0;
  size_t i = 0;
  while (i < dir.size() && depth < 3) {
    while (i < dir.size() && dir[i] == '/') ++i;
    if (i >= dir.size()) break;
    const size_t end = std::min(dir.find('/', i), dir.size());
    const std::string_view c = dir.substr(i, end - i);
    out += '/';
    out += Variable(c) ? std::string_view("*") : c;
    ++depth;
    i = end;
  }
  return out.empty() ? "/" : out;
}

std::string Baselines::Domain(std::string_view name) {
  std::string n(name);
  while (!n.empty() && n.back() == '.') n.pop_back();
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::vector<size_t> dots;
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] == '.') dots.push_back(i);
  if (dots.size() < 2) return n;
  // example.co.uk: a two-letter top label under a short second one.
  const size_t top = n.size() - dots.back() - 1;
  const size_t second = dots.back() - dots[dots.size() - 2] - 1;
  const size_t keep = (top == 2 && second <= 3) ? 3 : 2;
  if (dots.size() < keep) return n;
  return n.substr(dots[dots.size() - keep] + 1);
}

void Baselines::FeatureOf(const v1::Event& ev, std::string* kind, std::string* value) {
  kind->clear();
  value->clear();
  switch (ev.type()) {
    case v1::EVENT_TYPE_EXEC:
      if (!ev.exec().filename().empty()) {
        *kind = "exe";
        *value = ev.exec().filename();
      }
      return;
    case v1::EVENT_TYPE_FILE_OPEN:
      if (ev.file().result() >= 0) {
        *value = Area(ev.file().path());
        if (!value->empty()) *kind = "file_area";
      }
      return;
    case v1::EVENT_TYPE_NET_CONNECT: {
      const auto& r = ev.net().remote();
      if (r.family() != "inet" && r.family() != "inet6") return;
      if (ev.net().protocol() == "udp" && r.port() == 53) return;  // the query is seen
      *kind = "destination";
      *value = SockAddrText(r);
      return;
    }
    case v1::EVENT_TYPE_DNS_QUERY:
      if (ev.dns().names_size() > 0) {
        *value = Domain(ev.dns().names(0));
        if (!value->empty()) *kind = "dns";
      }
      return;
    default:
      return;
  }
}

Baselines::Profile& Baselines::Get(const std::string& identity, const std::string& server_name,
                                   int64_t now) {
  auto it = profiles_.find(identity);
  if (it == profiles_.end()) {
    if (profiles_.size() >= opts_.max_identities) {
      auto oldest = std::min_element(profiles_.begin(), profiles_.end(),
                                     [](const auto& a, const auto& b) {
                                       return a.second.pb.updated_unix_ns() <
                                              b.second.pb.updated_unix_ns();
                                     });
      profiles_.erase(oldest);
    }
    it = profiles_.emplace(identity, Profile{}).first;
    v1::Baseline& pb = it->second.pb;
    pb.set_identity(identity);
    pb.set_state(kLearning);
    pb.set_started_unix_ns(now);
    pb.set_updated_unix_ns(now);
  }
  Profile& p = it->second;
  if (!server_name.empty() && p.pb.server_name() != server_name) {
    p.pb.set_server_name(server_name);
    p.pb.set_updated_unix_ns(now);
  }
  return p;
}

void Baselines::MaybeLearned(Profile& p, int64_t now) {
  if (p.pb.state() == kActive) return;
  if (now - p.pb.started_unix_ns() < opts_.learning_ns) return;
  if (p.pb.observations() < opts_.min_observations) return;
  // The minute in progress counts towards the learned rate.
  p.pb.set_max_calls_per_minute(std::max(p.pb.max_calls_per_minute(), p.minute_calls));
  p.pb.set_state(kActive);
  p.pb.set_learned_unix_ns(now);
  p.pb.set_updated_unix_ns(now);
}

void Baselines::Observe(Profile& p, const std::string& kind, const std::string& value,
                        int64_t now, Signal* novelty) {
  const bool learning = p.pb.state() != kActive;
  if (learning) p.pb.set_observations(p.pb.observations() + 1);
  auto& idx = p.index[kind];
  if (auto it = idx.find(value); it != idx.end()) {
    v1::BaselineFeature* f = p.pb.mutable_features(it->second);
    f->set_count(f->count() + 1);
    f->set_last_unix_ns(now);
    // Counts are persisted about once a minute, not on every event.
    if (now - p.pb.updated_unix_ns() >= kMinuteNs) p.pb.set_updated_unix_ns(now);
    if (learning) MaybeLearned(p, now);
    return;
  }
  const auto& sat = p.pb.saturated();
  const bool saturated = std::find(sat.begin(), sat.end(), kind) != sat.end();
  auto add = [&](bool novel) {
    idx[value] = p.pb.features_size();
    v1::BaselineFeature* f = p.pb.add_features();
    f->set_kind(kind);
    f->set_value(value);
    f->set_count(1);
    f->set_first_unix_ns(now);
    f->set_last_unix_ns(now);
    f->set_novel(novel);
    p.pb.set_updated_unix_ns(now);
  };
  if (learning) {
    if (!saturated) {
      if (idx.size() >= opts_.max_values) {
        p.pb.add_saturated(kind);
        p.pb.set_updated_unix_ns(now);
      } else {
        add(false);
      }
    }
    MaybeLearned(p, now);
    return;
  }
  if (saturated) return;
  // How settled the kind was: few distinct values over many observations
  // make a new one stand out.
  uint64_t values = 0, seen = 0;
  for (const auto& f : p.pb.features()) {
    if (f.kind() != kind || f.novel()) continue;
    ++values;
    seen += f.count();
  }
  const double stability = 1.0 - static_cast<double>(values) / static_cast<double>(seen + 1);
  const double score = KindWeight(kind) * stability;
  if (p.novel[kind] < opts_.max_novel) {
    add(true);
    ++p.novel[kind];
  }
  p.pb.set_novelties(p.pb.novelties() + 1);
  p.pb.set_updated_unix_ns(now);
  novelty->name = "novel_behavior";
  const std::string server = p.pb.server_name().empty() ? p.pb.identity() : p.pb.server_name();
  novelty->description = fmt::format("{} {} is new for {} (learned {} {} value(s))", kind,
                                     value, server, values, kind);
  novelty->fields["kind"] = kind;
  novelty->fields["value"] = value;
  novelty->fields["score"] = Score(score);
  novelty->fields["confident"] = ReachesOut(kind) && score >= 0.5 ? "true" : "false";
  novelty->fields["identity"] = p.pb.identity();
  novelty->fields["learned"] = std::to_string(values);
}

void Baselines::Effect(const std::string& identity, const std::string& server_name,
                       const v1::Event& ev, std::vector<Signal>* out) {
  if (!opts_.enabled || identity.empty()) return;
  std::string kind, value;
  FeatureOf(ev, &kind, &value);
  if (kind.empty()) return;
  Profile& p = Get(identity, server_name, ev.time_unix_ns());
  Signal s;
  Observe(p, kind, value, ev.time_unix_ns(), &s);
  if (s.name.empty()) return;
  s.seq = ev.seq();
  s.time_unix_ns = ev.time_unix_ns();
  s.pid = ev.process().pid();
  out->push_back(std::move(s));
}

void Baselines::Call(const std::string& identity, const std::string& server_name,
                     const v1::Event& ev, std::vector<Signal>* out) {
  const v1::McpCall& c = ev.call();
  if (!opts_.enabled || identity.empty() || c.method() != "tools/call" || c.tool().empty())
    return;
  const int64_t now = ev.time_unix_ns();
  Profile& p = Get(identity, server_name, now);
  v1::Baseline& pb = p.pb;
  auto make = [&](const char* name) -> Signal& {
    Signal& s = out->emplace_back();
    s.name = name;
    s.seq = ev.seq();
    s.time_unix_ns = now;
    s.call_id = c.call_id();
    s.pid = c.server_pid();
    s.fields["tool"] = c.tool();
    s.fields["identity"] = identity;
    return s;
  };
  const bool learning = pb.state() != kActive;

  // Calls per minute.
  const int64_t minute = now / kMinuteNs;
  if (minute != p.minute) {
    if (learning) pb.set_max_calls_per_minute(std::max(pb.max_calls_per_minute(), p.minute_calls));
    p.minute = minute;
    p.minute_calls = 0;
    p.rate_alerted = false;
  }
  ++p.minute_calls;
  if (!learning && !p.rate_alerted) {
    const double learned = pb.max_calls_per_minute();
    const double limit = std::max(opts_.rate_factor * learned, learned + opts_.rate_min);
    if (p.minute_calls > limit) {
      p.rate_alerted = true;
      pb.set_outliers(pb.outliers() + 1);
      pb.set_updated_unix_ns(now);
      Signal& s = make("volume_outlier");
      s.description = fmt::format("{} calls to {} within a minute (learned at most {})",
                                  p.minute_calls, c.tool(), pb.max_calls_per_minute());
      s.fields["kind"] = "call_rate";
      s.fields["value"] = std::to_string(p.minute_calls);
      s.fields["learned"] = std::to_string(pb.max_calls_per_minute());
      s.fields["score"] = Score(1.0 - learned / p.minute_calls);
    }
  }

  // Bytes per call.
  const double bytes = static_cast<double>(c.request_bytes() + c.response_bytes());
  if (learning) {
    pb.set_calls(pb.calls() + 1);
    const double delta = bytes - pb.bytes_mean();
    pb.set_bytes_mean(pb.bytes_mean() + delta / static_cast<double>(pb.calls()));
    pb.set_bytes_m2(pb.bytes_m2() + delta * (bytes - pb.bytes_mean()));
  } else if (pb.calls() >= opts_.volume_min_calls) {
    const double sd = std::sqrt(pb.bytes_m2() / static_cast<double>(pb.calls() - 1));
    const double mean = pb.bytes_mean();
    if (bytes > static_cast<double>(opts_.volume_min_bytes) &&
        bytes > mean + opts_.volume_sigmas * sd && bytes > opts_.volume_factor * mean) {
      pb.set_outliers(pb.outliers() + 1);
      pb.set_updated_unix_ns(now);
      Signal& s = make("volume_outlier");
      s.description = fmt::format("call to {} moved {} bytes (learned mean {:.0f}, sd {:.0f})",
                                  c.tool(), static_cast<uint64_t>(bytes), mean, sd);
      s.fields["kind"] = "bytes_per_call";
      s.fields["value"] = std::to_string(static_cast<uint64_t>(bytes));
      s.fields["learned"] = fmt::format("{:.0f}", mean);
      s.fields["score"] = Score(std::clamp(1.0 - (mean + sd) / bytes, 0.0, 1.0));
    }
  }

  // The tool itself.
  Signal novelty;
  Observe(p, "tool", c.tool(), now, &novelty);
  if (!novelty.name.empty()) {
    novelty.seq = ev.seq();
    novelty.time_unix_ns = now;
    novelty.call_id = c.call_id();
    novelty.pid = c.server_pid();
    novelty.fields["tool"] = c.tool();
    out->push_back(std::move(novelty));
  }
}

void Baselines::Rebuild(Profile* p) {
  p->index.clear();
  p->novel.clear();
  for (int i = 0; i < p->pb.features_size(); ++i) {
    const auto& f = p->pb.features(i);
    p->index[f.kind()][f.value()] = i;
    if (f.novel()) ++p->novel[f.kind()];
  }
}

void Baselines::Load(const std::vector<v1::Baseline>& profiles) {
  for (const auto& pb : profiles) {
    if (pb.identity().empty()) continue;
    Profile p;
    p.pb = pb;
    if (p.pb.state() != kActive) p.pb.set_state(kLearning);
    Rebuild(&p);
    profiles_[pb.identity()] = std::move(p);
  }
}

void Baselines::Changed(int64_t since_unix_ns, std::vector<v1::Baseline>* out) const {
  for (const auto& [id, p] : profiles_)
    if (p.pb.updated_unix_ns() >= since_unix_ns) out->push_back(p.pb);
}

std::vector<v1::Baseline> Baselines::List(const std::string& server) const {
  std::vector<v1::Baseline> out;
  for (const auto& [id, p] : profiles_)
    if (server.empty() || id == server || p.pb.server_name() == server) out.push_back(p.pb);
  return out;
}

uint32_t Baselines::Reset(const std::string& server, bool all, int64_t now_unix_ns) {
  uint32_t n = 0;
  for (auto& [id, p] : profiles_) {
    if (!all && (server.empty() || (id != server && p.pb.server_name() != server))) continue;
    v1::Baseline fresh;
    fresh.set_identity(id);
    fresh.set_server_name(p.pb.server_name());
    fresh.set_state(kLearning);
    fresh.set_started_unix_ns(now_unix_ns);
    fresh.set_updated_unix_ns(now_unix_ns);
    p = Profile{};
    p.pb = std::move(fresh);
    ++n;
  }
  return n;
}

}  // namespace agentwatch
