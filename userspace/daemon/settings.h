// The table of agentwatchd's settings: one entry per YAML key, saying which
// Config member it sets, how its value is read and checked, and whether a
// SIGHUP applies it. ApplyConfigYaml, ValidateConfig, RestartOnlyChanges,
// ApplyReloadable and SettingsTable (config.h) are driven by it.
#ifndef AGENTWATCH_DAEMON_SETTINGS_H_
#define AGENTWATCH_DAEMON_SETTINGS_H_

#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "daemon/config.h"
#include "export/sinks.h"

namespace agentwatch {

struct Setting {
  // The YAML key: "log_level", "store.flush_interval" (a key of the store
  // section), "watch.rules", "sinks".
  std::string key;
  // The Config member it sets (several keys may share one: watch.exe and
  // watch.rules both add to watch_rules).
  std::string field;
  // uint, bool, string, duration, size, enum (values), or a list.
  std::string kind;
  // Applied by SIGHUP (ApplyReloadable); else a change needs a restart.
  bool reloadable = false;
  std::string help;
  // Reads the YAML value into cfg. "" or the error, which names key.
  std::function<std::string(const YAML::Node& value, Config* cfg)> parse;
  // "" or what is wrong with cfg's value (which may depend on other
  // fields: store.* only with the store, api.tcp_listen needs tls.*).
  // Empty when any value goes.
  std::function<std::string(const Config& cfg)> validate;
  // Whether a and b hold the same value of this member.
  std::function<bool(const Config& a, const Config& b)> same;
  // Copies this member from `from` into *to.
  std::function<void(const Config& from, Config* to)> copy;
};

// Every setting, in the order errors are checked and the docs list them.
const std::vector<Setting>& Settings();

// The entry for a YAML key, or null.
const Setting* FindSetting(const std::string& key);

// The text of a section's shape and unknown-key errors (they differ by
// section: watch says "mapping" and lists its keys).
std::string SectionNotAMap(const std::string& section);
std::string SectionUnknownKey(const std::string& section, const std::string& key);

// One SinkConfig member: its key in a sinks[i] mapping, how it is read,
// and its equality (SinkConfig has no operator==).
struct SinkField {
  std::string key;    // "path", "ca" (ca_file), "timeout" (timeout_ms)
  std::string field;  // the SinkConfig member
  std::function<std::string(const YAML::Node& value, const std::string& name,
                            SinkConfig* sink)>
      parse;
  std::function<bool(const SinkConfig& a, const SinkConfig& b)> same;
};

// Every SinkConfig member. (token_file, hmac_secret_file and
// password_file are read into token, hmac_secret and password.)
const std::vector<SinkField>& SinkFields();

// Same count, and every member of every sink the same.
bool SameSinks(const std::vector<SinkConfig>& a, const std::vector<SinkConfig>& b);

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_SETTINGS_H_
