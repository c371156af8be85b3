#include "daemon/settings.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "common/text.h"

namespace agentwatch {
namespace {

// ---- Readers: a YAML value into a typed field, or an error naming key.

template <typename T>
std::string ReadUint(const YAML::Node& n, const std::string& key, T* out) {
  try {
    if (!n.IsScalar()) return fmt::format("{}: expected a number", key);
    const std::string& s = n.Scalar();
    size_t pos = 0;
    unsigned long long v = std::stoull(s, &pos, 0);
    if (pos != s.size() || s[0] == '-') {
      return fmt::format("{}: '{}' is not a non-negative integer", key, s);
    }
    if (v > std::numeric_limits<T>::max()) {
      return fmt::format("{}: {} is too large", key, s);
    }
    *out = static_cast<T>(v);
    return "";
  } catch (const std::exception&) {
    return fmt::format("{}: '{}' is not a number", key, n.Scalar());
  }
}

std::string ReadString(const YAML::Node& n, const std::string& key, std::string* out) {
  if (!n.IsScalar()) return fmt::format("{}: expected a string", key);
  *out = n.Scalar();
  return "";
}

std::string ReadBool(const YAML::Node& n, const std::string& key, bool* out) {
  if (!n.IsScalar()) return fmt::format("{}: expected true or false", key);
  const std::string& s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    *out = false;
  } else {
    return fmt::format("{}: '{}' is not a boolean", key, s);
  }
  return "";
}

std::string ReadDurationMs(const YAML::Node& n, const std::string& key, uint64_t* ms) {
  if (!n.IsScalar()) return fmt::format("{}: expected a duration like 30s or 7d", key);
  std::string err = ParseDurationMs(n.Scalar(), ms);
  return err.empty() ? "" : fmt::format("{}: {}", key, err);
}

std::string ReadSize(const YAML::Node& n, const std::string& key, uint64_t* bytes) {
  if (!n.IsScalar()) return fmt::format("{}: expected a size like 512MiB", key);
  std::string err = ParseSize(n.Scalar(), bytes);
  return err.empty() ? "" : fmt::format("{}: {}", key, err);
}

// A string or a list of strings, appended.
std::string ReadStrings(const YAML::Node& v, const std::string& key,
                        std::vector<std::string>* out) {
  if (v.IsScalar()) {
    out->push_back(v.as<std::string>());
  } else if (v.IsSequence()) {
    for (const auto& x : v) out->push_back(x.as<std::string>());
  } else {
    return key + ": expected a string or a list";
  }
  return "";
}

// watch.pids, watch.exe and watch.rules add to what is there.
std::string ReadPids(const YAML::Node& v, const std::string& key, std::vector<uint32_t>* pids) {
  if (!v.IsSequence()) return key + ": expected a list";
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t pid = 0;
    if (auto e = ReadUint(v[i], fmt::format("{}[{}]", key, i), &pid); !e.empty()) return e;
    pids->push_back(pid);
  }
  return "";
}

std::string ReadExeGlobs(const YAML::Node& v, const std::string& key,
                         std::vector<WatchRule>* rules) {
  if (!v.IsSequence()) return key + ": expected a list of globs";
  for (size_t i = 0; i < v.size(); ++i) {
    WatchRule r;
    if (auto e = ReadString(v[i], fmt::format("{}[{}]", key, i), &r.exe); !e.empty()) return e;
    r.name = "exe:" + r.exe;
    rules->push_back(r);
  }
  return "";
}

std::string ReadWatchRule(const YAML::Node& rn, const std::string& where, WatchRule* r) {
  if (!rn.IsMap()) return where + ": expected a mapping";
  for (const auto& f : rn) {
    const std::string fk = f.first.as<std::string>();
    std::string* dst = fk == "name"            ? &r->name
                       : fk == "exe"           ? &r->exe
                       : fk == "argv_contains" ? &r->argv_contains
                       : fk == "comm"          ? &r->comm
                                               : nullptr;
    if (dst == nullptr) {
      return fmt::format("{}: unknown key '{}' (name, exe, argv_contains, comm)", where, fk);
    }
    if (auto e = ReadString(f.second, where + "." + fk, dst); !e.empty()) return e;
  }
  if (r->exe.empty() && r->argv_contains.empty() && r->comm.empty()) {
    return where + ": a rule needs at least one of exe, argv_contains, comm";
  }
  if (r->name.empty()) r->name = where;
  return "";
}

std::string ReadWatchRules(const YAML::Node& v, const std::string& key,
                           std::vector<WatchRule>* rules) {
  if (!v.IsSequence()) return key + ": expected a list";
  for (size_t i = 0; i < v.size(); ++i) {
    WatchRule r;
    if (auto e = ReadWatchRule(v[i], fmt::format("{}[{}]", key, i), &r); !e.empty()) return e;
    rules->push_back(r);
  }
  return "";
}

// ---- Sinks: each a mapping of SinkFields, checked by ValidateSink.

std::string ReadSecretFile(const YAML::Node& v, const std::string& name, std::string* secret) {
  std::string path;
  if (std::string err = ReadString(v, name, &path); !err.empty()) return err;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    return name + ": cannot read a secret from " + path;
  }
  *secret = line;
  return "";
}

// Secrets kept out of the config file: these keys name a file whose first
// line is the value.
std::string* SecretFileTarget(const std::string& key, SinkConfig* c) {
  if (key == "token_file") return &c->token;
  if (key == "hmac_secret_file") return &c->hmac_secret;
  if (key == "password_file") return &c->password;
  return nullptr;
}

const SinkField* FindSinkField(const std::string& key) {
  for (const SinkField& f : SinkFields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

std::string ReadSink(const YAML::Node& s, size_t i, SinkConfig* c) {
  if (!s.IsMap()) return fmt::format("sinks[{}]: expected a map", i);
  for (const auto& kv : s) {
    const std::string key = kv.first.as<std::string>();
    const std::string name = fmt::format("sinks[{}].{}", i, key);
    std::string err;
    if (const SinkField* f = FindSinkField(key); f != nullptr) {
      err = f->parse(kv.second, name, c);
    } else if (std::string* secret = SecretFileTarget(key, c); secret != nullptr) {
      err = ReadSecretFile(kv.second, name, secret);
    } else {
      err = fmt::format("sinks[{}]: unknown key '{}'", i, key);
    }
    if (!err.empty()) return err;
  }
  return ValidateSink(*c);
}

// The list replaces the sinks there were.
std::string ReadSinks(const YAML::Node& n, const std::string& key,
                      std::vector<SinkConfig>* out) {
  if (!n.IsSequence()) return key + ": expected a list";
  std::vector<SinkConfig> sinks;
  for (size_t i = 0; i < n.size(); ++i) {
    SinkConfig c;
    if (std::string e = ReadSink(n[i], i, &c); !e.empty()) return e;
    for (const auto& other : sinks) {
      if (other.name == c.name) return fmt::format("sinks: two sinks named '{}'", c.name);
    }
    sinks.push_back(std::move(c));
  }
  *out = std::move(sinks);
  return "";
}

template <typename T>
using SinkReader = std::function<std::string(const YAML::Node&, const std::string&, T*)>;

template <typename T>
SinkField SinkMember(const char* key, const char* field, T SinkConfig::*m, SinkReader<T> read) {
  SinkField f;
  f.key = key;
  f.field = field;
  f.parse = [m, read](const YAML::Node& v, const std::string& name, SinkConfig* s) {
    return read(v, name, &(s->*m));
  };
  f.same = [m](const SinkConfig& a, const SinkConfig& b) { return a.*m == b.*m; };
  return f;
}

std::string ReadFacility(const YAML::Node& v, const std::string& name, int* facility) {
  uint32_t f = 0;
  std::string err = ReadUint(v, name, &f);
  *facility = static_cast<int>(f);
  return err;
}

// Capped at 10 minutes.
std::string ReadTimeout(const YAML::Node& v, const std::string& name, uint32_t* timeout_ms) {
  uint64_t ms = 0;
  std::string err = ReadDurationMs(v, name, &ms);
  *timeout_ms = static_cast<uint32_t>(std::min<uint64_t>(ms, 600000));
  return err;
}

#define AW_SINK(member) #member, &SinkConfig::member

std::vector<SinkField> MakeSinkFields() {
  return {
      SinkMember<std::string>("name", AW_SINK(name), ReadString),
      SinkMember<std::string>("type", AW_SINK(type), ReadString),
      SinkMember<std::string>("min_severity", AW_SINK(min_severity), ReadString),
      SinkMember<std::vector<std::string>>("rules", AW_SINK(rules), ReadStrings),
      SinkMember<std::vector<std::string>>("agents", AW_SINK(agents), ReadStrings),
      SinkMember<std::string>("format", AW_SINK(format), ReadString),
      SinkMember<std::string>("path", AW_SINK(path), ReadString),
      SinkMember<uint64_t>("max_size", AW_SINK(max_size), ReadSize),
      SinkMember<uint32_t>("backups", AW_SINK(backups), ReadUint<uint32_t>),
      SinkMember<bool>("compress", AW_SINK(compress), ReadBool),
      SinkMember<std::string>("address", AW_SINK(address), ReadString),
      SinkMember<std::string>("protocol", AW_SINK(protocol), ReadString),
      SinkMember<int>("facility", AW_SINK(facility), ReadFacility),
      SinkMember<std::string>("ca", AW_SINK(ca_file), ReadString),
      SinkMember<std::string>("cert", AW_SINK(cert_file), ReadString),
      SinkMember<std::string>("key", AW_SINK(key_file), ReadString),
      SinkMember<std::string>("server_name", AW_SINK(server_name), ReadString),
      SinkMember<std::string>("url", AW_SINK(url), ReadString),
      SinkMember<std::string>("flavor", AW_SINK(flavor), ReadString),
      SinkMember<std::string>("token", AW_SINK(token), ReadString),
      SinkMember<std::string>("index", AW_SINK(index), ReadString),
      SinkMember<std::string>("sourcetype", AW_SINK(sourcetype), ReadString),
      SinkMember<std::string>("hmac_secret", AW_SINK(hmac_secret), ReadString),
      SinkMember<std::vector<std::string>>("headers", AW_SINK(headers), ReadStrings),
      SinkMember<bool>("gzip", AW_SINK(gzip), ReadBool),
      SinkMember<uint32_t>("timeout", AW_SINK(timeout_ms), ReadTimeout),
      SinkMember<std::string>("database", AW_SINK(database), ReadString),
      SinkMember<std::string>("user", AW_SINK(user), ReadString),
      SinkMember<std::string>("password", AW_SINK(password), ReadString),
      SinkMember<bool>("allow_insecure", AW_SINK(allow_insecure), ReadBool),
  };
}

#undef AW_SINK

// ---- Setting builders: one entry from a Config member, its reader and
// its check.

template <typename T>
using Reader = std::function<std::string(const YAML::Node&, const std::string& key, T*)>;
template <typename T>
using Check = std::function<std::string(const std::string& key, const T& value, const Config&)>;

template <typename T>
using Equal = std::function<bool(const T&, const T&)>;

// Check and Equal are not deduced: T comes from the member.
template <typename T>
Setting FieldWithEqual(const char* key, const char* field, T Config::*m, std::string kind,
                       const char* help, std::type_identity_t<Reader<T>> read,
                       std::type_identity_t<Check<T>> check,
                       std::type_identity_t<Equal<T>> equal) {
  Setting s;
  s.key = key;
  s.field = field;
  s.kind = std::move(kind);
  s.help = help;
  s.parse = [k = s.key, m, read](const YAML::Node& n, Config* c) { return read(n, k, &(c->*m)); };
  if (check) {
    s.validate = [k = s.key, m, check](const Config& c) { return check(k, c.*m, c); };
  }
  s.same = [m, equal](const Config& a, const Config& b) { return equal(a.*m, b.*m); };
  s.copy = [m](const Config& from, Config* to) { to->*m = from.*m; };
  return s;
}

template <typename T>
Setting Field(const char* key, const char* field, T Config::*m, std::string kind,
              const char* help, std::type_identity_t<Reader<T>> read,
              std::type_identity_t<Check<T>> check = {}) {
  return FieldWithEqual<T>(key, field, m, std::move(kind), help, std::move(read),
                           std::move(check), [](const T& a, const T& b) { return a == b; });
}

Setting Reloadable(Setting s) {
  s.reloadable = true;
  return s;
}

template <typename T>
Setting Uint(const char* key, const char* field, T Config::*m, const char* help,
             std::type_identity_t<Check<T>> check = {}) {
  return Field<T>(key, field, m, "uint", help, ReadUint<T>, std::move(check));
}

Setting String(const char* key, const char* field, std::string Config::*m, const char* help,
               Check<std::string> check = {}) {
  return Field<std::string>(key, field, m, "string", help, ReadString, std::move(check));
}

Setting Bool(const char* key, const char* field, bool Config::*m, const char* help) {
  return Field<bool>(key, field, m, "bool", help, ReadBool);
}

Setting Size(const char* key, const char* field, uint64_t Config::*m, const char* help,
             Check<uint64_t> check = {}) {
  return Field<uint64_t>(key, field, m, "size", help, ReadSize, std::move(check));
}

// Bounds checked as the value is read ("<key>: at least 1s"), and the unit
// the member counts in.
struct DurationRule {
  uint64_t unit_ms = 1;
  uint64_t min_ms = 0;
  const char* min_text = nullptr;  // null: no lower bound
  uint64_t max_ms = 0;
  const char* max_text = nullptr;  // null: no upper bound
};

template <typename T>
Setting Duration(const char* key, const char* field, T Config::*m, const char* help,
                 DurationRule rule = {}, std::type_identity_t<Check<T>> check = {}) {
  Reader<T> read = [rule](const YAML::Node& n, const std::string& k, T* out) -> std::string {
    uint64_t ms = 0;
    if (std::string e = ReadDurationMs(n, k, &ms); !e.empty()) return e;
    if (rule.min_text != nullptr && ms < rule.min_ms) return k + ": at least " + rule.min_text;
    if (rule.max_text != nullptr && ms > rule.max_ms) return k + ": at most " + rule.max_text;
    *out = static_cast<T>(ms / rule.unit_ms);
    return "";
  };
  return Field<T>(key, field, m, "duration", help, read, std::move(check));
}

// One of `values` (after `aliases`), else "<key>: '<value>' <what>".
Setting Enum(const char* key, const char* field, std::string Config::*m, const char* help,
             std::vector<std::string> values, const char* what,
             std::vector<std::pair<std::string, std::string>> aliases = {}) {
  std::string kind = "enum (";
  for (size_t i = 0; i < values.size(); ++i) kind += (i ? ", " : "") + values[i];
  kind += ")";
  Reader<std::string> read = [aliases](const YAML::Node& n, const std::string& k,
                                       std::string* out) {
    std::string err = ReadString(n, k, out);
    for (const auto& [from, to] : aliases) {
      if (*out == from) *out = to;
    }
    return err;
  };
  Check<std::string> check = [values, what](const std::string& k, const std::string& v,
                                            const Config&) -> std::string {
    for (const auto& x : values) {
      if (v == x) return "";
    }
    return fmt::format("{}: '{}' {}", k, v, what);
  };
  return Field<std::string>(key, field, m, std::move(kind), help, read, check);
}

// ---- Checks.

template <typename T>
Check<T> Between(T lo, T hi) {
  return [lo, hi](const std::string& k, const T& v, const Config&) -> std::string {
    if (v >= lo && v <= hi) return "";
    return fmt::format("{}: {} must be between {} and {}", k, v, lo, hi);
  };
}

template <typename T>
Check<T> AtLeast(T lo) {
  return [lo](const std::string& k, const T& v, const Config&) -> std::string {
    return v >= lo ? "" : fmt::format("{}: {} must be at least {}", k, v, lo);
  };
}

// store.* is checked only when the store is on.
template <typename T>
Check<T> WithStore(Check<T> check) {
  return [check](const std::string& k, const T& v, const Config& c) -> std::string {
    return c.store_enabled ? check(k, v, c) : "";
  };
}

std::string CheckRingbuf(const std::string& k, const uint32_t& rb, const Config&) {
  // One record carries up to AW_DATA_MAX (16 KiB) of data: a ring under
  // four of them drops most payload.
  if (rb >= 65536 && (rb & (rb - 1)) == 0 && rb <= (1u << 30)) return "";
  return fmt::format("{}: {} must be a power of two between 65536 and 1073741824 bytes "
                     "(a record carries up to 16 KiB; a smaller ring loses most of them)",
                     k, rb);
}

std::string CheckAbsolute(const std::string& k, const std::string& path, const Config&) {
  if (!path.empty() && path[0] == '/') return "";
  return fmt::format("{}: '{}' must be an absolute path (a relative one depends on the "
                     "directory the daemon was started in)",
                     k, path);
}

// 0 once meant no bound at all; an outbox must shed at some size.
std::string CheckOutboxMax(const std::string& k, const uint64_t& v, const Config&) {
  if (v >= 1000 && v <= 100000000) return "";
  return fmt::format("{}: {} must be between 1000 and 100000000 alert versions", k, v);
}

std::string CheckPayloadMax(const std::string& k, const uint32_t& v, const Config&) {
  if (v == 0 || (v >= 64 && v <= 256 * 1024)) return "";
  return fmt::format("{}: {} must be 0 (off) or between 64 and 262144 bytes", k, v);
}

std::string CheckPayloadRate(const std::string& k, const uint32_t& v, const Config&) {
  if (v <= (1u << 30)) return "";
  return fmt::format("{}: {} is over 1073741824 bytes a second", k, v);
}

std::string CheckPayloadBurst(const std::string& k, const uint32_t& v, const Config& c) {
  const uint64_t least = std::max<uint64_t>(65536, uint64_t{c.payload_max} + 1024);
  if (c.payload_rate == 0) return "";
  if (v >= least && v < c.payload_rate / 1000)
    return fmt::format("{}: {} is below payload_rate / 1000 ({}): the rate could not be reached "
                       "(the kernel refills at most once a millisecond)",
                       k, v, c.payload_rate / 1000);
  if (v >= least) return "";
  return fmt::format("{}: {} is below {} bytes (a burst must hold the largest capture, "
                     "payload_max + 1024)",
                     k, v, least);
}

std::string CheckRecordRate(const std::string& k, const uint32_t& v, const Config&) {
  if (v <= 10'000'000) return "";
  return fmt::format("{}: {} is over 10000000 records a second", k, v);
}

// The kernel refills a bucket at most once a millisecond, up to its burst:
// a burst under a millisecond's worth of the rate would cap the rate.
std::string CheckRecordBurst(const std::string& k, const uint32_t& v, const Config& c) {
  if (c.record_rate == 0) return "";
  if (v < 1000 || v > 100'000'000)
    return fmt::format("{}: {} must be between 1000 and 100000000 records", k, v);
  if (v < c.record_rate / 1000)
    return fmt::format("{}: {} is below record_rate / 1000 ({}): the rate could not be reached",
                       k, v, c.record_rate / 1000);
  return "";
}

std::string CheckPort(const std::string& k, const uint32_t& v, const Config&) {
  return v == 0 || v > 65535 ? fmt::format("{}: {} is not a port", k, v) : "";
}

std::string CheckEndpoint(const std::string& k, const std::string& e, const Config&) {
  if (e.rfind("unix://", 0) != 0) {
    return fmt::format("{}: '{}' must be unix:///path (TCP needs mTLS, which this build does "
                       "not offer yet)",
                       k, e);
  }
  if (e.size() <= 7 || e[7] != '/') {
    return fmt::format("{}: '{}' needs an absolute socket path", k, e);
  }
  return "";
}

std::string CheckPids(const std::string& k, const std::vector<uint32_t>& pids, const Config&) {
  for (uint32_t pid : pids) {
    if (pid == 0) return k + ": 0 is not a process id";
  }
  return "";
}

std::string CheckSinksHaveStore(const std::string& k, const std::vector<SinkConfig>& sinks,
                                const Config& c) {
  if (sinks.empty() || c.store_enabled) return "";
  return k + ": delivery needs the store (its outbox); enable store";
}

// Plain HTTP only on loopback; anything else on TCP is TLS with client
// certificates (TlsListen).
std::string CheckLoopbackListen(const std::string& k, const std::string& addr, const Config&) {
  if (addr.empty()) return "";
  std::string host, port;
  if (!SplitHostPort(addr, &host, &port)) return fmt::format("{}: '{}' is not host:port", k, addr);
  if (!IsLoopbackHost(host)) {
    return fmt::format("{}: '{}' is not a loopback address; serve other addresses with "
                       "metrics.tls_listen (TLS with client certificates)",
                       k, addr);
  }
  return "";
}

std::string CheckTlsListen(const std::string& k, const std::string& addr, const Config& c) {
  if (addr.empty()) return "";
  std::string host, port;
  if (!SplitHostPort(addr, &host, &port)) return fmt::format("{}: '{}' is not host:port", k, addr);
  if (c.tls_cert_file.empty() || c.tls_key_file.empty() || c.tls_client_ca_file.empty()) {
    return fmt::format("{}: needs tls.cert, tls.key and tls.client_ca (clients must present a "
                       "certificate)",
                       k);
  }
  return "";
}

// The console: loopback in plain HTTP, anything else with mTLS.
std::string CheckConsoleListen(const std::string& k, const std::string& addr, const Config& c) {
  if (addr.empty()) return "";
  std::string host, port;
  if (!SplitHostPort(addr, &host, &port)) return fmt::format("{}: '{}' is not host:port", k, addr);
  if (IsLoopbackHost(host)) return "";
  if (std::string e = CheckTlsListen(k, addr, c); !e.empty())
    return fmt::format("{} to serve the non-loopback address '{}'", e, addr);
  return "";
}

// The service account token goes with every request: never in clear text
// off this host.
std::string CheckKubeApiServer(const std::string& k, const std::string& url, const Config&) {
  if (url.empty()) return "";
  const bool https = url.rfind("https://", 0) == 0;
  const bool http = url.rfind("http://", 0) == 0;
  if (!https && !http) return fmt::format("{}: '{}' is not an https:// URL", k, url);
  std::string rest = url.substr(https ? 8 : 7);
  rest = rest.substr(0, rest.find('/'));
  std::string host, port;
  if (http && (!SplitHostPort(rest, &host, &port) || !IsLoopbackHost(host))) {
    return fmt::format("{}: '{}': plain http only to a loopback address (the token would "
                       "travel in clear text)",
                       k, url);
  }
  return "";
}

// ---- The table, by group. The order is the order ValidateConfig checks
// in (so the first error of several is the one it always was).

#define AW_FIELD(member) #member, &Config::member

void AddDaemonSettings(std::vector<Setting>* t) {
  t->push_back(Reloadable(Enum("log_level", AW_FIELD(log_level), "the daemon's log level",
                               {"trace", "debug", "info", "warn", "error", "off"},
                               "is not one of trace, debug, info, warn, error, off")));
  t->push_back(Reloadable(String("rules_dir", AW_FIELD(rules_dir),
                                 "local detection rules (*.yaml and *.yml), over the built-in pack")));
  t->push_back(Reloadable(String("secrets_dir", AW_FIELD(secrets_dir),
                                 "local credential formats for redaction (*.yaml and *.yml), over the "
                                 "built-in catalogue")));
}

void AddSensorSettings(std::vector<Setting>* t) {
  t->push_back(Uint("ringbuf_size", AW_FIELD(ringbuf_bytes),
                    "kernel ring buffer bytes, a power of two (65536..1073741824)",
                    CheckRingbuf));
  t->push_back(Enum("hooks", AW_FIELD(hooks),
                    "auto: the preferred hook per capability, fallback when refused; "
                    "fallback: always the fallback variants",
                    {"auto", "fallback"}, "is not auto or fallback"));
  t->push_back(Uint("argv_max", AW_FIELD(argv_max), "argv bytes captured per exec (64..4096)",
                    Between<uint32_t>(64, 4096)));
  t->push_back(Bool("discovery.stdio", AW_FIELD(discover_stdio),
                    "probe execs whose stdin and stdout are pipes or sockets for MCP"));
  t->push_back(Bool("discovery.http", AW_FIELD(discover_http),
                    "probe accepted TCP connections for MCP"));
  t->push_back(Uint("discovery.probe_bytes", AW_FIELD(probe_bytes),
                    "bytes captured per probed fd and direction (256..65536)",
                    Between<uint32_t>(256, 65536)));
  t->push_back(Uint("payload_max", AW_FIELD(payload_max),
                    "bytes captured per read/write on a watched pipe or socket "
                    "(64..262144; 0 = no payload capture)",
                    CheckPayloadMax));
  t->push_back(Uint("payload_rate", AW_FIELD(payload_rate),
                    "payload bytes a second captured per watched process at most; a "
                    "process past it loses its own payload (stream gaps), not others' "
                    "(0 = no budget; at most 1073741824); a user's watched processes "
                    "in one cgroup together get four times it",
                    CheckPayloadRate));
  t->push_back(Uint("payload_burst", AW_FIELD(payload_burst),
                    "payload bytes a watched process may send in a burst above "
                    "payload_rate (at least 65536 and payload_max + 1024)",
                    CheckPayloadBurst));
  t->push_back(Uint("record_rate", AW_FIELD(record_rate),
                    "file, connection and DNS records a second kept per watched process at "
                    "most; a process past it loses its own records (counted, and a "
                    "capture-evaded alert), not the room kept for others' exec and exit "
                    "(0 = no budget; at most 10000000); a user's watched processes in one "
                    "cgroup together get four times it",
                    CheckRecordRate));
  t->push_back(Uint("record_burst", AW_FIELD(record_burst),
                    "records a watched process may have in a burst above record_rate "
                    "(1000..100000000)",
                    CheckRecordBurst));
  t->push_back(Uint("dns_port", AW_FIELD(dns_port),
                    "UDP datagrams to this port are decoded as DNS queries",
                    CheckPort));
}

void AddPipelineSettings(std::vector<Setting>* t) {
  t->push_back(Uint("queue_size", AW_FIELD(queue_size),
                    "sensor -> pipeline queue, in events (at least 16)", AtLeast<uint32_t>(16)));
  t->push_back(Uint("process_table_max", AW_FIELD(process_table_max),
                    "LRU bound of the process table (at least 128)", AtLeast<uint32_t>(128)));
  t->push_back(Uint("backlog_events", AW_FIELD(backlog_events),
                    "recent events kept for new `agentwatch events` clients"));
  t->push_back(String("endpoint", AW_FIELD(endpoint), "the gRPC API's unix socket (unix:///path)",
                      CheckEndpoint));
  t->push_back(String("state_dir", AW_FIELD(state_dir),
                      "state directory (the store's default), an absolute path", CheckAbsolute));
  t->push_back(String("record", AW_FIELD(record_file),
                      "trace file every decoded event is written to (\"\" = none)"));
  t->push_back(String("cgroup_root", AW_FIELD(cgroup_root),
                      "the host's cgroup v2 mount (\"\" = /sys/fs/cgroup)"));
}

void AddWatchSettings(std::vector<Setting>* t) {
  t->push_back(Reloadable(Bool("watch.builtin_rules", AW_FIELD(builtin_watch_rules),
                               "apply the built-in MCP server watch rules")));
  t->push_back(Reloadable(Field<std::vector<uint32_t>>(
      "watch.pids", AW_FIELD(watch_pids), "list of pids",
      "processes watched, with their future children", ReadPids,
      CheckPids)));
  t->push_back(Reloadable(Field<std::vector<WatchRule>>(
      "watch.exe", AW_FIELD(watch_rules), "list of globs",
      "executable globs, each a watch rule named exe:<glob>", ReadExeGlobs)));
  t->push_back(Reloadable(Field<std::vector<WatchRule>>(
      "watch.rules", AW_FIELD(watch_rules), "list of rules",
      "watch rules {name, exe, argv_contains, comm}: every field set must match",
      ReadWatchRules)));
}

void AddStoreSettings(std::vector<Setting>* t) {
  t->push_back(FieldWithEqual<std::vector<SinkConfig>>(
      "sinks", AW_FIELD(sinks), "list of sinks",
      "where alerts go: file, syslog, http, clickhouse (needs the store)", ReadSinks,
      CheckSinksHaveStore, SameSinks));
  t->push_back(Bool("store.enabled", AW_FIELD(store_enabled),
                    "the embedded SQLite store (false: chains in memory only)"));
  t->push_back(Duration<uint32_t>(
      "store.flush_interval", AW_FIELD(store_flush_ms),
      "one transaction per interval (10ms..60s)", {.max_ms = 60000, .max_text = "60s"},
      WithStore<uint32_t>([](const std::string& k, const uint32_t& v, const Config&) {
        return v < 10 ? fmt::format("{}: {}ms must be at least 10ms", k, v) : "";
      })));
  t->push_back(Duration<uint32_t>(
      "store.retention_interval", AW_FIELD(store_retention_ms),
      "how often retention runs (100ms..1d)", {.max_ms = 86400000, .max_text = "1d"},
      WithStore<uint32_t>([](const std::string& k, const uint32_t& v, const Config&) {
        return v < 100 ? fmt::format("{}: {}ms must be at least 100ms", k, v) : "";
      })));
  t->push_back(Size(
      "store.max_size", AW_FIELD(store_max_bytes),
      "retention by size, oldest chains first (0 = no limit, else at least 1MiB)",
      WithStore<uint64_t>([](const std::string& k, const uint64_t& v, const Config&) {
        if (v == 0 || v >= (1u << 20)) return std::string();
        return fmt::format("{}: {} bytes must be 0 (no limit) or at least 1MiB", k, v);
      })));
  t->push_back(String(
      "store.path", AW_FIELD(store_path), "the store's file (\"\" = <state_dir>/agentwatch.db)",
      WithStore<std::string>([](const std::string& k, const std::string& v, const Config&) {
        return !v.empty() && v[0] != '/' ? fmt::format("{}: '{}' must be absolute", k, v) : "";
      })));
  t->push_back(Duration<uint64_t>("store.max_age", AW_FIELD(store_max_age_s),
                                  "retention by age (0 = no age limit)", {.unit_ms = 1000}));
  t->push_back(Uint("store.outbox_max", AW_FIELD(outbox_max),
                    "alert versions waiting for sinks (then shed), 1000..100000000",
                    CheckOutboxMax));
  t->push_back(Uint("store.held_max", AW_FIELD(held_max),
                    "alert versions held in memory while the store cannot write (then shed)"));
  t->push_back(Bool("store.full_content", AW_FIELD(full_content),
                    "keep whole redacted arguments and results (up to 1 MiB each)"));
}

void AddDetectionSettings(std::vector<Setting>* t) {
  t->push_back(Duration<uint64_t>("chains.idle_gap", AW_FIELD(chain_idle_gap_ms),
                                  "a chain ends after this long without activity of its agent",
                                  {.min_ms = 1000, .min_text = "1s"}));
  t->push_back(Bool("baseline.enabled", AW_FIELD(baseline_enabled),
                    "learned per-server baselines (detection family 10)"));
  t->push_back(Duration<uint64_t>("baseline.learning_period", AW_FIELD(baseline_learning_ms),
                                  "learning lasts this long from a server's first sighting"));
  t->push_back(Uint("baseline.min_observations", AW_FIELD(baseline_min_observations),
                    "and at least this many of its effects and calls"));
}

void AddListenSettings(std::vector<Setting>* t) {
  t->push_back(String("metrics.listen", AW_FIELD(metrics_listen),
                      "/metrics, /healthz, /readyz over plain HTTP, loopback host:port only "
                      "(\"\" = off)",
                      CheckLoopbackListen));
  t->push_back(String("metrics.tls_listen", AW_FIELD(metrics_tls_listen),
                      "the same on any host:port, TLS with client certificates (needs tls.*)",
                      CheckTlsListen));
  t->push_back(String("console.listen", AW_FIELD(console_listen),
                      "the read-only web console: plain HTTP on a loopback host:port, any "
                      "other address with TLS and client certificates (needs tls.*); \"\" = off",
                      CheckConsoleListen));
  t->push_back(String("api.tcp_listen", AW_FIELD(api_tcp_listen),
                      "the gRPC API on TCP as well, TLS with client certificates (needs tls.*)",
                      CheckTlsListen));
  t->push_back(String("tls.cert", AW_FIELD(tls_cert_file), "the daemon's certificate chain (PEM)"));
  t->push_back(String("tls.key", AW_FIELD(tls_key_file), "its private key (PEM)"));
  t->push_back(String("tls.client_ca", AW_FIELD(tls_client_ca_file),
                      "the CA client certificates must chain to"));
}

void AddKubernetesSettings(std::vector<Setting>* t) {
  t->push_back(String("kubernetes.api_server", AW_FIELD(kube_api_server),
                      "\"\" = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT; "
                      "http only to loopback",
                      CheckKubeApiServer));
  t->push_back(Enum("kubernetes.enabled", AW_FIELD(kubernetes),
                    "pod metadata from the API server; auto: in a pod with a token "
                    "(true/yes = on, false/no = off)",
                    {"auto", "on", "off"}, "is not auto, true or false",
                    {{"true", "on"}, {"yes", "on"}, {"false", "off"}, {"no", "off"}}));
  t->push_back(String("kubernetes.token_file", AW_FIELD(kube_token_file),
                      "the service account token"));
  t->push_back(String("kubernetes.ca_file", AW_FIELD(kube_ca_file),
                      "the CA the API server's certificate chains to"));
  t->push_back(String("kubernetes.node_name", AW_FIELD(kube_node_name),
                      "this node (\"\" = $NODE_NAME, else the host name)"));
  t->push_back(Duration<uint64_t>("kubernetes.resync", AW_FIELD(kube_resync_ms),
                                  "how often the pod list is read again (at least 1s)",
                                  {.min_ms = 1000, .min_text = "1s"}));
}

#undef AW_FIELD

std::vector<Setting> MakeSettings() {
  std::vector<Setting> t;
  AddDaemonSettings(&t);
  AddSensorSettings(&t);
  AddPipelineSettings(&t);
  AddWatchSettings(&t);
  AddStoreSettings(&t);
  AddDetectionSettings(&t);
  AddListenSettings(&t);
  AddKubernetesSettings(&t);
  return t;
}

}  // namespace

const std::vector<Setting>& Settings() {
  static const auto* table = new std::vector<Setting>(MakeSettings());
  return *table;
}

const Setting* FindSetting(const std::string& key) {
  for (const Setting& s : Settings()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string SectionNotAMap(const std::string& section) {
  return section == "watch" ? "watch: expected a mapping" : section + ": expected a map";
}

std::string SectionUnknownKey(const std::string& section, const std::string& key) {
  std::string err = fmt::format("{}: unknown key '{}'", section, key);
  if (section != "watch") return err;
  // watch names the keys it knows.
  const std::string prefix = section + ".";
  std::string known;
  for (const Setting& s : Settings()) {
    if (s.key.rfind(prefix, 0) != 0) continue;
    known += (known.empty() ? "" : ", ") + s.key.substr(prefix.size());
  }
  return err + " (" + known + ")";
}

const std::vector<SinkField>& SinkFields() {
  static const auto* fields = new std::vector<SinkField>(MakeSinkFields());
  return *fields;
}

bool SameSinks(const std::vector<SinkConfig>& a, const std::vector<SinkConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    for (const SinkField& f : SinkFields()) {
      if (!f.same(a[i], b[i])) return false;
    }
  }
  return true;
}

}  // namespace agentwatch
