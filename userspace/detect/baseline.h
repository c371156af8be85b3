// Learned per-server baselines (detection family 10). For each server
// identity (its executable, package and transport: stable across restarts
// and hosts), a profile is learned from what its processes do during a
// learning period: the executables they run, the file areas they open, the
// destinations they connect to, the domains they look up, the tools agents
// call, bytes per call and calls per minute. Afterwards, a value the
// profile has not seen is a `novel_behavior` signal and a call far above
// the learned volume or rate a `volume_outlier` signal, each scored 0..1.
//
// Not locked: the engine (detect/engine.h) owns it under its lock. The
// profiles are v1::Baseline messages, so the store persists them as they
// are and `agentwatch baseline --export` prints them.
#ifndef AGENTWATCH_DETECT_BASELINE_H_
#define AGENTWATCH_DETECT_BASELINE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "detect/signals.h"

namespace agentwatch {

class Baselines {
 public:
  struct Options {
    bool enabled = true;
    int64_t learning_ns = 24ll * 3600 * 1000000000;  // from first seen
    uint64_t min_observations = 50;  // and at least this many events
    size_t max_values = 256;         // per kind while learning; more: saturated
    size_t max_novel = 256;          // novel values kept per kind afterwards
    size_t max_identities = 4096;
    // A call's bytes are an outlier above mean + sigmas * sd, above
    // factor * mean and above min_bytes, once min_calls were learned.
    double volume_sigmas = 4;
    double volume_factor = 4;
    uint64_t volume_min_bytes = 16 * 1024;
    uint64_t volume_min_calls = 10;
    // Calls in one minute above factor * the learned maximum and above the
    // learned maximum + min.
    double rate_factor = 3;
    uint32_t rate_min = 30;
  };

  Baselines() : Baselines(Options{}) {}
  explicit Baselines(Options opts) : opts_(opts) {}
  void SetOptions(Options opts) { opts_ = opts; }

  // An effect of a server's process tree (exec, file open, connect, DNS).
  void Effect(const std::string& identity, const std::string& server_name,
              const v1::Event& ev, std::vector<Signal>* out);
  // A finished tools/call to a server.
  void Call(const std::string& identity, const std::string& server_name,
            const v1::Event& ev, std::vector<Signal>* out);

  // Profiles loaded from the store (replacing those of the same identity).
  void Load(const std::vector<v1::Baseline>& profiles);
  // Profiles updated at or after since (store snapshots).
  void Changed(int64_t since_unix_ns, std::vector<v1::Baseline>* out) const;
  // Matching identity or server name ("" = all).
  std::vector<v1::Baseline> List(const std::string& server) const;
  // Starts matching profiles over (learning again from now). Returns how many.
  uint32_t Reset(const std::string& server, bool all, int64_t now_unix_ns);
  size_t size() const { return profiles_.size(); }

  // The feature an effect shows ("" kind when none). Exposed for tests.
  static void FeatureOf(const v1::Event& ev, std::string* kind, std::string* value);
  // A file's directory area: at most three components, with components
  // that vary from run to run (numbers, temporary names) as "*".
  static std::string Area(std::string_view path);
  // The registrable part of a DNS name (the last two labels, three under a
  // short second-level label such as co.uk).
  static std::string Domain(std::string_view name);

 private:
  struct Profile {
    v1::Baseline pb;
    // kind -> value -> index in pb.features
    std::map<std::string, std::map<std::string, int>> index;
    std::map<std::string, uint64_t> kind_observations;  // while learning
    std::map<std::string, uint64_t> novel;              // afterwards
    int64_t minute = 0;                                 // current bucket
    uint32_t minute_calls = 0;
    bool rate_alerted = false;
  };

  Profile& Get(const std::string& identity, const std::string& server_name, int64_t now);
  void Observe(Profile& p, const std::string& kind, const std::string& value, int64_t now,
               Signal* novelty);
  void MaybeLearned(Profile& p, int64_t now);
  static void Rebuild(Profile* p);

  Options opts_;
  std::map<std::string, Profile> profiles_;
};

}  // namespace agentwatch

#endif  // AGENTWATCH_DETECT_BASELINE_H_
