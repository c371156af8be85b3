// The redaction stage, end to end, generated from the catalogue's samples:
// every positive sample of redact/testdata/samples.yaml (both halves) is
// carried, in each of twelve places a real MCP session carries text,
// through the real Pipeline, and nothing that leaves may hold its secret.
//
// The secret of a sample is what its rule's regex (from the loaded
// catalogue) captures in the sample line: group 1, else the whole match,
// at or above the rule's entropy floor. Each form embeds the sample line
// in one message (or one process) of an MCP session built as the sensor
// reports one: the client's and the server's process events (the server a
// child of the client), payload events on the server's stdin ("in", fd 0)
// and stdout ("out", fd 1) pipes, or on its accepted socket for Streamable
// HTTP, with a stream inode, contiguous offsets, syscall lengths and 4 KiB
// chunks, carrying NDJSON (or HTTP) JSON-RPC: initialize and its response,
// tools/list and its result, then per sample a tools/call (resources/read,
// tools/list) and its result; a session per sample (tool definitions: two
// samples, the second redefining the tool). One pipeline per form, with
// the built-in detection rules and redactor, a Store in a temporary
// directory written by its own thread as the daemon does, and logs
// through the daemon's RedactingSink.
//
// Outputs searched: every published event (MessageToJsonString, bytes
// fields left out, and every string and bytes field raw, payload previews
// included), the log, the AgentWatchService answers (servers, sessions,
// calls, tool inventories, agents, chains and each chain, alerts and each
// alert, baselines) over the pipeline's tracker, correlator and engine and
// the store, the web console's JSON answers over that service (the same
// lists, each chain in the windows the page asks for, each alert), the store's own reads (what a restart, durable alert streams
// and the ClickHouse tail read), every row of every table, the database
// file and its -wal as bytes, and the TrackerSnapshot records the store
// was given. Each as it is, JSON-unescaped (up to three levels) and
// percent-decoded, for any 12-character window of any sample's secret (the
// whole secret when shorter), except windows that also occur in text that
// is not secret (the rest of the sample lines, the sessions' own text, the
// armour lines of key blocks). Expected: none. A failure prints, per
// leaking sample, each place its secret was found and an excerpt
// (AW_REDACTION_REPLAY_DUMP=1: the whole output too).
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api/service.h"
#include "console/console_api.h"
#include "common/clock.h"
#include "common/text.h"
#include "daemon/wiring.h"
#include "pipeline/pipeline.h"
#include "redact/catalogue.h"
#include "redact/redacting_sink.h"
#include "redact/redactor.h"
#include "store/store.h"
#include "testing/events.h"

namespace agentwatch {
namespace {

constexpr char kDir[] = AW_REDACT_DIR;
constexpr size_t kWindow = 12;
constexpr size_t kChunk = 4096;  // the kernel's payload chunk

// ---------------------------------------------------------------- samples

struct Sample {
  std::string rule, half, line;
  std::vector<std::pair<size_t, size_t>> spans;  // the secrets in line
  std::vector<std::string> secrets;
};

struct Corpus {
  std::string error;
  SecretCatalogue catalogue;
  std::vector<Sample> samples;
  size_t positives = 0;
  std::vector<std::string> without_secret;  // positives the rule captures nothing in
};

// Every match of the rule in text: group 1 (else the whole match), at or
// above the rule's entropy floor, as the catalogue's own test takes it.
std::vector<std::pair<size_t, size_t>> SecretSpans(const SecretRule& rule, const RE2& re,
                                                   std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  if (!re.ok() || re.NumberOfCapturingGroups() > 1) return out;
  const int groups = re.NumberOfCapturingGroups();
  const re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece sub[2];
  size_t pos = 0;
  // The match by the DFA, then its group on the match alone (the same
  // answer, without running the NFA over the whole line).
  while (pos <= text.size() && re.Match(whole, pos, text.size(), RE2::UNANCHORED, sub, 1)) {
    const size_t mb = static_cast<size_t>(sub[0].data() - text.data());
    if (groups == 1 &&
        !re.Match(whole, mb, mb + sub[0].size(), RE2::ANCHOR_BOTH, sub, groups + 1)) {
      sub[1] = re2::StringPiece();
    }
    const re2::StringPiece s = (groups == 1 && sub[1].data() != nullptr) ? sub[1] : sub[0];
    const std::string_view secret(s.data(), s.size());
    if (!secret.empty() && (rule.entropy <= 0 || Entropy(secret) >= rule.entropy)) {
      const size_t b = static_cast<size_t>(s.data() - text.data());
      out.emplace_back(b, b + s.size());
    }
    const size_t end = static_cast<size_t>(sub[0].data() - text.data()) + sub[0].size();
    pos = end > pos ? end : pos + 1;
  }
  return out;
}

const Corpus& LoadCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    if (std::string e = LoadSecretCatalogue(std::string(kDir) + "/no-such-dir", &c->catalogue);
        !e.empty()) {
      c->error = "catalogue: " + e;
      return c;
    }
    std::map<std::string, std::unique_ptr<RE2>> re;
    std::map<std::string, const SecretRule*> rules;
    RE2::Options o;
    o.set_log_errors(false);
    // Room for the DFA of the long counted repetitions (the same answers,
    // sooner than the NFA RE2 falls back to when its DFA runs out).
    o.set_max_mem(int64_t{64} << 20);
    for (const auto& r : c->catalogue.rules) {
      rules[r.id] = &r;
      re[r.id] = std::make_unique<RE2>(r.regex, o);
    }
    YAML::Node root;
    try {
      root = YAML::LoadFile(std::string(kDir) + "/testdata/samples.yaml");
    } catch (const std::exception& e) {
      c->error = std::string("samples.yaml: ") + e.what();
      return c;
    }
    for (const char* half : {"eval", "tune"}) {
      for (const auto& kv : root[half]) {
        const std::string id = kv.first.as<std::string>();
        for (const auto& p : kv.second["positive"]) {
          ++c->positives;
          Sample s;
          s.rule = id;
          s.half = half;
          s.line = p.as<std::string>();
          auto it = rules.find(id);
          if (it != rules.end()) s.spans = SecretSpans(*it->second, *re[id], s.line);
          if (s.spans.empty()) {
            c->without_secret.push_back(id + " (" + half + "): " + s.line);
            continue;
          }
          for (auto [b, e] : s.spans) s.secrets.push_back(s.line.substr(b, e - b));
          c->samples.push_back(std::move(s));
        }
      }
    }
    // The daemon's redaction stage: the built-in catalogue, a key.
    std::string err;
    auto r = Redactor::Compile(c->catalogue, "redaction-replay-test-key", &err);
    if (r == nullptr) {
      c->error = "redactor: " + err;
      return c;
    }
    SetDefaultRedactor(std::move(r));
    return c;
  }();
  return *corpus;
}

// ---------------------------------------------------------------- text helpers

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

// encodeURIComponent.
std::string Pct(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (isalnum(ch) || strchr("-_.!~*'()", ch) != nullptr) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Hex4(std::string_view s, size_t at, uint32_t* v) {
  if (at + 4 > s.size()) return false;
  *v = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = HexVal(s[at + k]);
    if (h < 0) return false;
    *v = *v * 16 + static_cast<uint32_t>(h);
  }
  return true;
}

// JSON string escapes undone wherever they occur (the text need not be
// JSON): what a reader of the output sees once it is decoded.
std::string JsonUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char n = s[i + 1];
    uint32_t cp = 0;
    switch (n) {
      case 'n':
        out += '\n';
        ++i;
        break;
      case 't':
        out += '\t';
        ++i;
        break;
      case 'r':
        out += '\r';
        ++i;
        break;
      case 'b':
        out += '\b';
        ++i;
        break;
      case 'f':
        out += '\f';
        ++i;
        break;
      case '/':
        out += '/';
        ++i;
        break;
      case '\\':
        out += '\\';
        ++i;
        break;
      case '"':
        out += '"';
        ++i;
        break;
      case 'u':
        if (Hex4(s, i + 2, &cp)) {
          i += 5;
          uint32_t lo = 0;
          if (cp >= 0xD800 && cp < 0xDC00 && i + 2 < s.size() && s[i + 1] == '\\' &&
              s[i + 2] == 'u' && Hex4(s, i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
          AppendUtf8(cp, &out);
        } else {
          out += s[i];
        }
        break;
      default:
        out += s[i];
    }
  }
  return out;
}

std::string PctDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int h, l;
    if (s[i] == '%' && i + 2 < s.size() && (h = HexVal(s[i + 1])) >= 0 &&
        (l = HexVal(s[i + 2])) >= 0) {
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Printable(std::string_view s, size_t max = 110) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += '.';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// ---------------------------------------------------------------- the searcher

// Finds any window of any registered secret in a text: windows of 12
// bytes (the whole secret when shorter) in a hash map, one pass per window
// length over the text.
class Searcher {
 public:
  struct Found {
    const std::vector<int>* owners;
    size_t pos, len;
  };

  // Text that is not secret (the samples' lines around their secrets, the
  // sessions' own text): a window that occurs there shows nothing when it
  // is found in an output, so it is not searched for. Before Add.
  void AddPublic(std::string_view text, const std::set<size_t>& lengths) {
    for (size_t n : lengths)
      for (size_t i = 0; i + n <= text.size(); ++i) public_.insert(KeyOf(text.substr(i, n)));
  }

  void Add(int owner, std::string_view secret) {
    if (secret.empty()) return;
    const size_t n = std::min(secret.size(), kWindow);
    auto& map = maps_[n];
    if (bloom_[n].empty()) bloom_[n].assign(kBloomBits, false);
    for (size_t i = 0; i + n <= secret.size(); ++i) {
      const Key k = KeyOf(secret.substr(i, n));
      if (public_.count(k)) {
        ++public_skipped_;
        continue;
      }
      ++own_[owner];
      auto& owners = map[k];
      if (owners.empty() || owners.back() != owner) owners.push_back(owner);
      bloom_[n][Bloom(k)] = true;
    }
  }

  // f(found) for every position where a window starts.
  void Search(std::string_view text, const std::function<void(const Found&)>& f) const {
    for (const auto& [n, map] : maps_) {
      if (text.size() < n) continue;
      const std::vector<bool>& bloom = bloom_.at(n);
      for (size_t i = 0; i + n <= text.size(); ++i) {
        const Key k = KeyOf(text.substr(i, n));
        if (!bloom[Bloom(k)]) continue;
        auto it = map.find(k);
        if (it != map.end()) f(Found{&it->second, i, n});
      }
    }
  }

  size_t public_skipped() const { return public_skipped_; }
  // Windows of owner's secrets that are searched for.
  size_t windows_of(int owner) const {
    auto it = own_.find(owner);
    return it == own_.end() ? 0 : it->second;
  }

  size_t windows() const {
    size_t n = 0;
    for (const auto& [len, map] : maps_) n += map.size();
    return n;
  }

 private:
  struct Key {
    uint64_t a = 0;
    uint32_t b = 0;
    uint32_t n = 0;
    bool operator==(const Key& o) const { return a == o.a && b == o.b && n == o.n; }
  };
  struct Hash {
    size_t operator()(const Key& k) const {
      uint64_t h = k.a * 0x9E3779B97F4A7C15ull;
      h ^= (static_cast<uint64_t>(k.b) << 8 | k.n) * 0xC2B2AE3D27D4EB4Full;
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  static constexpr size_t kBloomBits = size_t{1} << 22;
  static Key KeyOf(std::string_view w) {
    Key k;
    k.n = static_cast<uint32_t>(w.size());
    memcpy(&k.a, w.data(), std::min<size_t>(8, w.size()));
    if (w.size() > 8) memcpy(&k.b, w.data() + 8, w.size() - 8);
    return k;
  }
  static size_t Bloom(const Key& k) { return Hash()(k) & (kBloomBits - 1); }

  std::map<size_t, std::unordered_map<Key, std::vector<int>, Hash>> maps_;
  std::map<size_t, std::vector<bool>> bloom_;  // by window length
  std::unordered_set<Key, Hash> public_;
  size_t public_skipped_ = 0;
  std::map<int, size_t> own_;
};

// ---------------------------------------------------------------- outputs and hits

enum class Form {
  kArgument,
  kResultText,
  kNestedJson,
  kUnicodeEscapes,
  kHttp,
  kResourceUri,
  kServerArgv,
  kShellArgv,
  kSentOutside,
  kToolDefinition,
  kChunkBoundary,
  kSplitWrites,
};

const char* FormName(Form f) {
  switch (f) {
    case Form::kArgument:
      return "tool_argument";
    case Form::kResultText:
      return "result_text";
    case Form::kNestedJson:
      return "nested_json_in_result";
    case Form::kUnicodeEscapes:
      return "unicode_escapes_in_result";
    case Form::kHttp:
      return "streamable_http_post";
    case Form::kResourceUri:
      return "resources_read_uri";
    case Form::kServerArgv:
      return "server_argv";
    case Form::kShellArgv:
      return "shell_argv";
    case Form::kSentOutside:
      return "bytes_sent_outside";
    case Form::kToolDefinition:
      return "tool_definition";
    case Form::kChunkBoundary:
      return "chunk_boundary";
    case Form::kSplitWrites:
      return "split_writes";
  }
  return "?";
}

// gtest names the parameter with this (ctest's test names too).
void PrintTo(Form f, std::ostream* os) { *os << FormName(f); }

const Form kForms[] = {Form::kArgument,       Form::kResultText,    Form::kNestedJson,
                       Form::kUnicodeEscapes, Form::kHttp,          Form::kResourceUri,
                       Form::kServerArgv,     Form::kShellArgv,     Form::kSentOutside,
                       Form::kToolDefinition, Form::kChunkBoundary, Form::kSplitWrites};

struct Hit {
  int sample = -1;
  std::string where;    // the output (indexes folded: see Fold)
  std::string variant;  // raw, json-unescaped, ...
  std::string excerpt;
  int session_sample = -1;  // found in the output of another sample's session: that one
  bool shared = false;      // only by windows other samples' secrets share
  std::string dump;         // the whole output, with AW_REDACTION_REPLAY_DUMP=1
};

// "calls[12].arguments" -> "calls[].arguments": one row per place.
std::string Fold(std::string_view where) {
  std::string out;
  for (size_t i = 0; i < where.size(); ++i) {
    if (where[i] == '[') {
      size_t j = i + 1;
      while (j < where.size() && isdigit(static_cast<unsigned char>(where[j]))) ++j;
      if (j < where.size() && where[j] == ']' && j > i + 1) {
        out += "[]";
        i = j;
        continue;
      }
    }
    if (where[i] == '#') {  // "#123": an instance number
      size_t j = i + 1;
      while (j < where.size() && isdigit(static_cast<unsigned char>(where[j]))) ++j;
      if (j > i + 1) {
        i = j - 1;
        continue;
      }
    }
    out += where[i];
  }
  return out;
}

class Collector {
 public:
  explicit Collector(const Searcher* s) : searcher_(s) {}

  int current = -1;  // the sample whose session is being fed, -1 after

  // One output text; tag: the sample whose session made it (-1: none).
  void Text(const std::string& where, std::string_view text, int tag) {
    ++outputs_;
    bytes_ += text.size();
    std::set<int> seen;  // one hit per (output, sample)
    auto record = [&](int sample, std::string_view t, size_t pos, size_t len, const char* variant,
                      bool shared) {
      if (!seen.insert(sample).second) return;
      Hit h;
      h.sample = sample;
      h.where = Fold(where);
      h.variant = variant;
      const size_t from = pos > 40 ? pos - 40 : 0;
      h.excerpt = Printable(t.substr(from, len + 80));
      h.session_sample = tag >= 0 && tag != sample ? tag : -1;
      h.shared = shared;
      if (dump_) h.dump = Printable(t, 4000);
      hits.push_back(std::move(h));
    };
    // A window several samples' secrets share names the sample whose
    // session made the output; else, in an output of no session, the
    // samples that have a window of their own there; else all of them.
    struct Shared {
      const std::vector<int>* owners;
      std::string excerpt_text;
      size_t pos, len;
      const char* variant;
    };
    std::vector<Shared> shared;
    auto scan = [&](std::string_view t, const char* variant) {
      searcher_->Search(t, [&](const Searcher::Found& f) {
        const std::vector<int>& owners = *f.owners;
        if (tag >= 0 && std::find(owners.begin(), owners.end(), tag) != owners.end()) {
          record(tag, t, f.pos, f.len, variant, false);
        } else if (owners.size() == 1) {
          record(owners[0], t, f.pos, f.len, variant, false);
        } else if (shared.size() < 64) {
          const size_t from = f.pos > 40 ? f.pos - 40 : 0;
          shared.push_back(
              {f.owners, std::string(t.substr(from, f.len + 80)), f.pos - from, f.len, variant});
        }
      });
    };
    scan(text, "raw");
    if (text.find('\\') != std::string_view::npos) {
      const std::string once = JsonUnescape(text);
      scan(once, "json-unescaped");
      if (once.find('\\') != std::string::npos) {
        const std::string twice = JsonUnescape(once);
        scan(twice, "json-unescaped x2");
        if (twice.find('\\') != std::string::npos) scan(JsonUnescape(twice), "json-unescaped x3");
      }
      if (once.find('%') != std::string::npos) scan(PctDecode(once), "json-unescaped+pct-decoded");
    }
    if (text.find('%') != std::string_view::npos) scan(PctDecode(text), "pct-decoded");
    for (const Shared& sh : shared) {
      bool named = false;
      for (int o : *sh.owners) named |= seen.count(o) > 0;
      if (named) continue;
      for (int o : *sh.owners) record(o, sh.excerpt_text, sh.pos, sh.len, sh.variant, true);
    }
  }

  // A message: as JSON (MessageToJsonString) and every string and bytes
  // field as it is.
  void Message(const std::string& where, const google::protobuf::Message& m, int tag) {
    // Bytes fields are base64 in JSON, which shows nothing a search could
    // read (and base64 of redacted text can contain any run by chance):
    // they are searched raw, below, and left out of the JSON.
    std::unique_ptr<google::protobuf::Message> copy(m.New());
    copy->CopyFrom(m);
    ClearBytes(copy.get());
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(*copy, &json, o).ok()) json = "<json failed>";
    Text(where + " (json)", json, tag);
    Fields(where, m, tag);
  }

  size_t outputs() const { return outputs_; }
  uint64_t bytes() const { return bytes_; }
  std::vector<Hit> hits;

 private:
  static void ClearBytes(google::protobuf::Message* m) {
    using google::protobuf::FieldDescriptor;
    const auto* r = m->GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(*m, &fields);
    for (const FieldDescriptor* fd : fields) {
      if (fd->type() == FieldDescriptor::TYPE_BYTES) {
        r->ClearField(m, fd);
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (fd->is_repeated()) {
          for (int i = 0; i < r->FieldSize(*m, fd); ++i)
            ClearBytes(r->MutableRepeatedMessage(m, fd, i));
        } else {
          ClearBytes(r->MutableMessage(m, fd));
        }
      }
    }
  }

  void Fields(const std::string& path, const google::protobuf::Message& m, int tag) {
    using google::protobuf::FieldDescriptor;
    const auto* r = m.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(m, &fields);
    for (const FieldDescriptor* fd : fields) {
      const std::string p = path + "." + fd->name();
      if (fd->is_repeated()) {
        const int n = r->FieldSize(m, fd);
        for (int i = 0; i < n; ++i) {
          const std::string pi = p + "[" + std::to_string(i) + "]";
          if (fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
            Text(pi, r->GetRepeatedString(m, fd, i), tag);
          } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            Fields(pi, r->GetRepeatedMessage(m, fd, i), tag);
          }
        }
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        Text(p, r->GetString(m, fd), tag);
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        Fields(p, r->GetMessage(m, fd), tag);
      }
    }
  }

  const Searcher* searcher_;
  const bool dump_ = getenv("AW_REDACTION_REPLAY_DUMP") != nullptr;
  size_t outputs_ = 0;
  uint64_t bytes_ = 0;
};

// ---------------------------------------------------------------- sessions

// Feeds one form's sessions into a pipeline as the sensor reports them.
class Feeder {
 public:
  struct Stream {
    int32_t fd;
    std::string direction, file_type;
    uint64_t inode;
    uint64_t offset = 0;
  };

  explicit Feeder(Pipeline* p) : p_(p) {}

  v1::Event Stamp(events::EventBuilder b, uint32_t pid) {
    t_ += 1000000;  // 1 ms
    return b.At(t_, base_unix_ + static_cast<int64_t>(t_)).Pid(pid).Tid(pid);
  }
  void Feed(v1::Event e) { p_->Process(std::move(e)); }
  void Idle(uint64_t ns) { t_ += ns; }

  // One syscall moving data on the stream, cut into 4 KiB chunks as the
  // kernel captures it (each chunk: its offset, the syscall's length).
  void Syscall(uint32_t pid, Stream* s, std::string_view data, bool discovery = false) {
    uint32_t chunk = 0;
    for (size_t at = 0; at < data.size() || (at == 0 && data.empty()); at += kChunk, ++chunk) {
      const std::string part(data.substr(at, kChunk));
      events::EventBuilder b = events::Payload(s->direction, s->fd, part);
      b.Stream(s->file_type, s->inode, s->offset + at);
      b->mutable_payload()->set_syscall_length(data.size());
      b->mutable_payload()->set_chunk(chunk);
      if (s->file_type == "socket")
        b->mutable_payload()->set_syscall(s->direction == "in" ? "recvfrom" : "sendto");
      if (discovery) {
        b->mutable_payload()->set_discovery(true);
      } else {
        b.Watched();
      }
      Feed(Stamp(b, pid));
      if (data.empty()) break;
    }
    s->offset += data.size();
  }

 private:
  Pipeline* p_;
  uint64_t t_ = 5000000000ull;
  const int64_t base_unix_ = NowUnixNs() - 3600ll * 1000000000;  // an hour ago
};

std::string Rpc(int id, const std::string& method, const std::string& params) {
  std::string s =
      R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" + method + "\"";
  if (!params.empty()) s += R"(,"params":)" + params;
  return s + "}";
}
std::string Result(int id, const std::string& result) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":)" + result + "}";
}

const char kInitParams[] =
    R"({"protocolVersion":"2025-06-18","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"replay-agent","version":"1.4.0"}})";
const char kInitResult[] =
    R"({"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true},"resources":{}},"serverInfo":{"name":"workspace-tools","version":"0.9.2"}})";
const char kInitialized[] = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

std::string ToolsResult(Form form, const std::string& line) {
  if (form != Form::kToolDefinition) {
    return R"({"tools":[{"name":"run_task","description":"Runs a task in the workspace and returns its output.","inputSchema":{"type":"object","properties":{"input":{"type":"string","description":"What to run"}},"required":["input"]}}]})";
  }
  return R"({"tools":[{"name":"run_task","description":)" +
         Quote("Runs a task in the workspace. It is configured with:\n" + line) +
         R"(,"inputSchema":{"type":"object","properties":{"input":{"type":"string","description":)" +
         Quote(line) + R"(,"default":)" + Quote(line) + R"(}},"required":["input"]}}]})";
}

// The result text with each character of every secret as a \uXXXX escape.
std::string UnicodeEscaped(const Sample& s) {
  std::string out;
  size_t span = 0;
  for (size_t i = 0; i < s.line.size(); ++i) {
    while (span < s.spans.size() && i >= s.spans[span].second) ++span;
    const bool in = span < s.spans.size() && i >= s.spans[span].first;
    const unsigned char ch = static_cast<unsigned char>(s.line[i]);
    if (in && ch < 0x80) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04X", ch);
      out += buf;
    } else {
      out += JsonEscape(std::string_view(&s.line[i], 1));
    }
  }
  return out;
}

std::string ContentResult(const std::string& quoted_text) {
  return R"({"content":[{"type":"text","text":)" + quoted_text + R"(}],"isError":false})";
}

struct FormStats {
  size_t sessions = 0;
  size_t header_omitted = 0;  // HTTP: a multi-line sample cannot be a header
  size_t not_straddling = 0;  // chunk boundary / split point not inside the secret
};

// A filler of n bytes that needs no JSON escaping.
std::string Filler(size_t n) {
  static const std::string kText = "step ok: compiled module, tests passed; ";
  std::string out;
  while (out.size() < n) out += kText;
  out.resize(n);
  return out;
}

// How many samples one session carries, one message each. One: each
// sample then has an agent, a chain and alerts of its own (alerts of one
// agent and rule fold into one, which would show only the first sample's
// text). Tool definitions: two, so the second redefines the tool (a
// changed definition, announced with list_changed).
size_t BatchSize(Form form) { return form == Form::kToolDefinition ? 2 : 1; }

// The tools/call result text of sample s (a JSON string literal), and how
// its message is written: where the first write ends (npos: one write).
std::string CallResultText(Form form, const Sample& s, FormStats* stats) {
  const std::string& line = s.line;
  switch (form) {
    case Form::kResultText:
    case Form::kSplitWrites:
      return Quote(line);
    case Form::kNestedJson:
      return Quote(R"({"path":"/home/dev/project/.env","settings":{"value":)" + Quote(line) +
                   R"(,"source":"dotenv"}})");
    case Form::kUnicodeEscapes:
      return "\"" + UnicodeEscaped(s) + "\"";
    default:
      return Quote("done: exit status 0");
  }
}

// One client and its stdio (or Streamable HTTP) server, driving a batch
// of samples (usually one): the session's messages, then per sample one
// tools/call (or resources/read, or tools/list) carrying it and what the
// server does.
// col->current names the sample whose messages are being fed.
void RunSession(Feeder& f, Collector* col, Form form, int session, int first, int count,
                FormStats* stats) {
  const Corpus& corpus = LoadCorpus();
  const uint32_t client = 10000 + 20 * static_cast<uint32_t>(session);
  const uint32_t server = client + 1;
  const uint64_t ino = 5000000 + 100 * static_cast<uint64_t>(session);
  const bool http = form == Form::kHttp;
  ++stats->sessions;
  col->current = -1;

  {
    v1::Event c = f.Stamp(events::Snapshot("/usr/bin/node").Ppid(1).Comm("node"), client);
    c.mutable_exec()->add_argv("node");
    c.mutable_exec()->add_argv("/home/dev/agent/dist/index.js");
    c.mutable_exec()->set_cwd("/home/dev/project");
    f.Feed(std::move(c));
  }
  f.Feed(f.Stamp(events::Fork(server), client));
  // Each session's server is a server of its own (its own identity, so
  // its own tool inventory and history).
  const std::string dir = "/opt/mcp/workspace-tools-" + std::to_string(session);
  std::vector<std::string> argv = {"node", dir + (http ? "/http.js" : "/index.js")};
  if (http) {
    argv.push_back("--port");
    argv.push_back("3000");
  }
  if (form == Form::kServerArgv) {
    col->current = first;
    argv.push_back("--context");
    argv.push_back(corpus.samples[first].line);
  }
  {
    v1::Event x = f.Stamp(events::Exec("/usr/bin/node", argv).Ppid(client).Comm("node"), server);
    x.mutable_exec()->set_cwd("/home/dev/project");
    x.mutable_exec()->set_stdio_probed(!http);
    f.Feed(std::move(x));
  }
  col->current = -1;

  // What the server does for sample k while its tools/call is in flight.
  auto effects = [&](int k, const std::string& line) {
    const uint32_t shell = server + 1 + static_cast<uint32_t>(k);
    const uint64_t sock = ino + 10 + static_cast<uint64_t>(k);
    if (form == Form::kShellArgv) {
      f.Feed(f.Stamp(events::Fork(shell).ChildWatched(), server));
      f.Feed(f.Stamp(events::Exec("/bin/sh", {"/bin/sh", "-c", "cd /home/dev/project && " + line})
                         .Ppid(server)
                         .Comm("sh")
                         .Watched(),
                     shell));
      f.Feed(f.Stamp(events::Exit().Watched(), shell));
    }
    if (form == Form::kSentOutside) {
      v1::Event c =
          f.Stamp(events::TcpConnect("198.18.0.2", 443).SocketInode(sock).Watched(), server);
      c.mutable_net()->set_fd(20 + k);
      c.mutable_net()->set_syscall("connect");
      c.mutable_net()->set_sock_type("stream");
      c.mutable_net()->set_result(0);
      c.mutable_net()->mutable_local()->set_family("inet");
      c.mutable_net()->mutable_local()->set_address("10.0.2.15");
      c.mutable_net()->mutable_local()->set_port(40000 + static_cast<uint32_t>(k));
      f.Feed(std::move(c));
      Feeder::Stream out{20 + k, "out", "socket", sock};
      f.Syscall(server, &out, line + "\n");
      v1::Event cl = f.Stamp(events::Event(v1::EVENT_TYPE_NET_CLOSE).Watched(), server);
      cl.mutable_net()->set_fd(20 + k);
      cl.mutable_net()->set_protocol("tcp");
      cl.mutable_net()->set_socket_inode(sock);
      cl.mutable_net()->mutable_remote()->set_family("inet");
      cl.mutable_net()->mutable_remote()->set_address("198.18.0.2");
      cl.mutable_net()->mutable_remote()->set_port(443);
      cl.mutable_net()->set_bytes_sent(line.size() + 1);
      f.Feed(std::move(cl));
    }
  };

  int id = 0;
  if (!http) {
    Feeder::Stream in{0, "in", "pipe", ino + 1};
    Feeder::Stream out{1, "out", "pipe", ino + 2};
    f.Syscall(server, &in, Rpc(id, "initialize", kInitParams) + "\n", true);
    f.Syscall(server, &out, Result(id, kInitResult) + "\n", true);
    ++id;
    f.Syscall(server, &in, std::string(kInitialized) + "\n");
    if (form != Form::kToolDefinition) {
      f.Syscall(server, &in, Rpc(id, "tools/list", "") + "\n");
      f.Syscall(server, &out, Result(id, ToolsResult(form, "")) + "\n");
      ++id;
    }
    for (int k = 0; k < count; ++k) {
      const Sample& s = corpus.samples[first + k];
      const std::string& line = s.line;
      col->current = first + k;
      if (form == Form::kToolDefinition) {
        // The tool redefined with the sample in its description and schema
        // (announced with list_changed, then listed again).
        if (k > 0)
          f.Syscall(server, &out,
                    R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})"
                    "\n");
        f.Syscall(server, &in, Rpc(id, "tools/list", "") + "\n");
        f.Syscall(server, &out, Result(id, ToolsResult(form, line)) + "\n");
        ++id;
      }
      if (form == Form::kResourceUri) {
        const std::string uri = "https://docs.example.test/fetch?q=" + Pct(line);
        f.Syscall(server, &in, Rpc(id, "resources/read", R"({"uri":)" + Quote(uri) + "}") + "\n");
        f.Syscall(server, &out,
                  Result(id, R"({"contents":[{"uri":)" + Quote(uri) +
                                 R"(,"mimeType":"text/plain","text":"fetched 2 KiB"}]})") +
                      "\n");
        ++id;
        continue;
      }
      const std::string arg = form == Form::kArgument ? line : "git status";
      f.Syscall(
          server, &in,
          Rpc(id, "tools/call", R"({"name":"run_task","arguments":{"input":)" + Quote(arg) + "}}") +
              "\n");
      effects(k, line);
      std::string text;
      if (form == Form::kChunkBoundary) {
        // The first secret's middle at byte 4096 of the write.
        const std::string head = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                                 R"(,"result":{"content":[{"type":"text","text":")";
        const size_t esc_pos = JsonEscape(line.substr(0, s.spans[0].first)).size();
        const size_t esc_len = JsonEscape(s.secrets[0]).size();
        const size_t before = head.size() + 2 + esc_pos + esc_len / 2;
        const size_t pad = before < kChunk ? kChunk - before : 0;
        text = "\"" + Filler(pad) + "\\n" + JsonEscape(line) + "\"";
      } else {
        text = CallResultText(form, s, stats);
      }
      const std::string msg = Result(id, ContentResult(text)) + "\n";
      ++id;
      const std::string esc = JsonEscape(s.secrets[0]);
      const size_t at = msg.find(esc);
      if (form == Form::kSplitWrites) {
        // Two writes, cut in the middle of the first secret.
        if (at == std::string::npos) ++stats->not_straddling;
        const size_t cut = at == std::string::npos ? msg.size() / 2 : at + esc.size() / 2;
        f.Syscall(server, &out, std::string_view(msg).substr(0, cut));
        f.Syscall(server, &out, std::string_view(msg).substr(cut));
        continue;
      }
      if (form == Form::kChunkBoundary &&
          (at == std::string::npos || !(at < kChunk && at + esc.size() > kChunk)))
        ++stats->not_straddling;
      f.Syscall(server, &out, msg);
    }
  } else {
    // Streamable HTTP: the server accepts a connection and reads POSTs.
    const uint64_t sock = ino + 3;
    v1::Event a = f.Stamp(events::Event(v1::EVENT_TYPE_NET_ACCEPT), server);
    v1::NetInfo* n = a.mutable_net();
    n->set_syscall("accept4");
    n->set_fd(5);
    n->set_sock_type("stream");
    n->set_protocol("tcp");
    n->mutable_local()->set_family("inet");
    n->mutable_local()->set_address("127.0.0.1");
    n->mutable_local()->set_port(3000);
    n->mutable_remote()->set_family("inet");
    n->mutable_remote()->set_address("127.0.0.1");
    n->mutable_remote()->set_port(41000 + static_cast<uint32_t>(session));
    n->set_socket_inode(sock);
    n->set_result(5);
    f.Feed(std::move(a));
    Feeder::Stream in{5, "in", "socket", sock};
    Feeder::Stream out{5, "out", "socket", sock};
    char sidbuf[40];
    snprintf(sidbuf, sizeof(sidbuf), "5e551%011x0c4f9e2b7d31", static_cast<unsigned>(session));
    const std::string sid = sidbuf;
    auto post = [&](const std::string& target, const std::string& extra, const std::string& body,
                    bool with_sid) {
      std::string r =
          "POST " + target +
          " HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
          "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n";
      if (with_sid) r += "Mcp-Session-Id: " + sid + "\r\nMCP-Protocol-Version: 2025-06-18\r\n";
      r += extra;
      r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      return r;
    };
    auto reply = [&](const std::string& body, bool with_sid) {
      std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
      if (with_sid) r += "Mcp-Session-Id: " + sid + "\r\n";
      r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      return r;
    };
    f.Syscall(server, &in, post("/mcp", "", Rpc(id, "initialize", kInitParams), false), true);
    f.Syscall(server, &out, reply(Result(id, kInitResult), true), true);
    ++id;
    f.Syscall(server, &in, post("/mcp", "", kInitialized, true));
    f.Syscall(server, &out,
              "HTTP/1.1 202 Accepted\r\nMcp-Session-Id: " + sid + "\r\nContent-Length: 0\r\n\r\n");
    f.Syscall(server, &in, post("/mcp", "", Rpc(id, "tools/list", ""), true));
    f.Syscall(server, &out, reply(Result(id, ToolsResult(form, "")), false));
    ++id;
    for (int k = 0; k < count; ++k) {
      const std::string& line = corpus.samples[first + k].line;
      col->current = first + k;
      // The sample in a header (itself when it is a header line), in the
      // query string (percent-encoded) and in the JSON body.
      std::string header;
      if (line.find_first_of("\r\n") != std::string::npos) {
        ++stats->header_omitted;
      } else if (RE2::PartialMatch(line, R"(^[A-Za-z][A-Za-z0-9-]*: \S)")) {
        header = line + "\r\n";
      } else {
        header = "X-Context: " + line + "\r\n";
      }
      f.Syscall(server, &in,
                post("/mcp?context=" + Pct(line), header,
                     Rpc(id, "tools/call",
                         R"({"name":"run_task","arguments":{"input":)" + Quote(line) + "}}"),
                     true));
      f.Syscall(server, &out,
                reply(Result(id, ContentResult(Quote("done: exit status 0"))), false));
      ++id;
    }
  }
  col->current = -1;
  f.Feed(f.Stamp(events::Exit(), server));
  f.Feed(f.Stamp(events::Exit(), client));
  f.Idle(1000000000ull);
}

// The samples' secrets, without the windows that also occur in text that
// is not secret: the rest of each sample's line, and what the sessions
// themselves write around the samples.
const Searcher& SecretSearcher() {
  static const Searcher* s = [] {
    auto* x = new Searcher;
    const Corpus& c = LoadCorpus();
    std::set<size_t> lengths;  // of the windows searched for
    for (const Sample& sample : c.samples)
      for (const auto& secret : sample.secrets) lengths.insert(std::min(secret.size(), kWindow));
    auto add_public = [&](std::string_view t) { x->AddPublic(t, lengths); };
    for (const Sample& sample : c.samples) {
      size_t from = 0;
      for (auto [b, e] : sample.spans) {
        add_public(std::string_view(sample.line).substr(from, b - from));
        from = e;
      }
      add_public(std::string_view(sample.line).substr(from));
    }
    // The armour of key blocks is the same in every key, so no secret:
    // the BEGIN line with the headers after it (PEM, PGP), the END line,
    // and the header lines of PuTTY files, with their line ends (a real
    // newline, or \n in JSON).
    static const RE2 kArmour[] = {
        RE2(R"((-----BEGIN [A-Z0-9 ]+-----(?:(?:\n|\\n)(?:Proc-Type|DEK-Info|Version|Comment|Hash): [^\n\\]*)*(?:\n|\\n)?))"),
        RE2(R"(((?:\n|\\n)?-----END [A-Z0-9 ]+-----(?:\n|\\n)?))"),
        RE2(R"((PuTTY-User-Key-File-\d+: [^\n\\]*(?:(?:\n|\\n)(?:Encryption|Comment|Public-Lines): [^\n\\]*)*(?:\n|\\n)?))"),
        RE2(R"(((?:\n|\\n)(?:Private-Lines|Private-MAC): ))"),
    };
    for (const Sample& sample : c.samples) {
      for (const auto& secret : sample.secrets) {
        for (const RE2& re : kArmour) {
          re2::StringPiece in(secret), m;
          while (RE2::FindAndConsume(&in, re, &m)) add_public(std::string_view(m.data(), m.size()));
        }
      }
    }
    for (Form f : {Form::kArgument, Form::kToolDefinition})
      add_public(Result(1, ToolsResult(f, "")));
    for (const char* t :
         {kInitParams, kInitResult, kInitialized, "/opt/mcp/workspace-tools-", "/index.js",
          "/http.js", "/home/dev/agent/dist/index.js", "cd /home/dev/project && ",
          "https://docs.example.test/fetch?q=", "/home/dev/project/.env", "done: exit status 0",
          "fetched 2 KiB",
          "POST /mcp?context= HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
          "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
          "MCP-Protocol-Version: 2025-06-18\r\nX-Context: Content-Length: "}) {
      add_public(t);
    }
    add_public(Filler(kChunk));
    for (size_t i = 0; i < c.samples.size(); ++i)
      for (const auto& secret : c.samples[i].secrets) x->Add(static_cast<int>(i), secret);
    return x;
  }();
  return *s;
}

// ---------------------------------------------------------------- one form, end to end

std::string TypeName(const v1::Event& e) {
  std::string n = v1::EventType_Name(e.type());
  if (n.rfind("EVENT_TYPE_", 0) == 0) n = n.substr(11);
  return n;
}

bool ReadBytes(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// Every row of every table, each column as text or bytes.
void DumpDatabase(const std::string& path, Collector* c, std::string* err) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    *err = sqlite3_errmsg(db);
    sqlite3_close(db);
    return;
  }
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW)
    tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  for (const auto& t : tables) {
    if (sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\"").c_str(), -1, &st, nullptr) !=
        SQLITE_OK) {
      *err = "cannot read table " + t;
      continue;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int col = 0; col < sqlite3_column_count(st); ++col) {
        const int type = sqlite3_column_type(st, col);
        if (type != SQLITE_TEXT && type != SQLITE_BLOB) continue;
        const void* data = sqlite3_column_blob(st, col);
        const int size = sqlite3_column_bytes(st, col);
        c->Text("db " + t + "." + sqlite3_column_name(st, col),
                std::string_view(static_cast<const char*>(data), static_cast<size_t>(size)), -1);
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
}

struct FormRun {
  FormStats stats;
  std::vector<Hit> hits;
  size_t events = 0, outputs = 0, calls = 0, alerts = 0, chains = 0, servers = 0, log_lines = 0;
  uint64_t bytes = 0;
  std::map<std::string, size_t> events_by_type;
  std::vector<std::string> problems;                   // the run itself went wrong
  std::vector<std::pair<std::string, double>> phases;  // seconds since the start at each end
  double seconds = 0;
};

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

FormRun RunForm(Form form) {
  const auto t0 = std::chrono::steady_clock::now();
  const Corpus& corpus = LoadCorpus();
  FormRun run;
  Collector col(&SecretSearcher());

  // Logs through the daemon's redaction sink.
  std::ostringstream log_text;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "agentwatchd",
      std::make_shared<RedactingSink>(std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text))));

  char tmpl[] = "/tmp/aw-redaction-replay-XXXXXX";
  const std::string dir = mkdtemp(tmpl) != nullptr ? tmpl : "";
  Store::Options so;
  so.path = dir + "/agentwatch.db";
  so.flush_interval_ms = 3600 * 1000;
  so.retention_interval_ms = 3600 * 1000;
  so.max_age_ns = 0;
  std::string err;
  std::unique_ptr<Store> store = Store::Open(so, &err);
  if (!store) run.problems.push_back("store: " + err);

  {
    Store* st = store.get();
    Pipeline p(Pipeline::Options{}, nullptr,
               [&](const v1::Event& ev, const std::vector<uint32_t>&) {
                 ++run.events;
                 ++run.events_by_type[TypeName(ev)];
                 col.Message("event " + TypeName(ev), ev, col.current);
                 if (st == nullptr) return;
                 if (ev.type() == v1::EVENT_TYPE_CHAIN_UPDATE) st->Put(ev.chain_update());
                 if (ev.type() == v1::EVENT_TYPE_ALERT) st->PutAlert(ev.alert());
               });
    size_t rules = 0;
    if (std::string e = LoadDetectionRules("", &p, &rules); !e.empty())
      run.problems.push_back("rules: " + e);
    // As the daemon's store thread: the tracker's records and the
    // engine's changed baselines with every batch.
    // The records are kept to be searched too (the last batch, written at
    // Stop, holds them all: the first batch is due in an hour).
    std::mutex snap_mu;
    std::vector<Store::Snapshot> snapshots;
    if (store) {
      store->Start([&](int64_t since, Store::Snapshot* out) {
        TrackerSnapshot(p.mcp_tracker(), since, out);
        p.engine().ChangedBaselines(since, &out->baselines);
        std::lock_guard<std::mutex> lock(snap_mu);
        snapshots.push_back(*out);
      });
    }
    Feeder f(&p);
    f.Feed(f.Stamp(events::Snapshot("/sbin/init").Comm("systemd"), 1));
    const size_t batch = BatchSize(form);
    for (size_t first = 0, session = 0; first < corpus.samples.size(); first += batch, ++session) {
      const size_t count = std::min(batch, corpus.samples.size() - first);
      RunSession(f, &col, form, static_cast<int>(session), static_cast<int>(first),
                 static_cast<int>(count), &run.stats);
    }
    col.current = -1;
    run.phases.emplace_back("sessions", Since(t0));
    if (store) store->Stop();  // the last batch, with the snapshot
    run.phases.emplace_back("store", Since(t0));

    // The database as bytes, while its -wal is still there.
    for (const char* suffix : {"", "-wal"}) {
      std::string bytes;
      if (ReadBytes(so.path + suffix, &bytes)) {
        col.Text(std::string("db file agentwatch.db") + suffix, bytes, -1);
      } else if (*suffix == 0) {
        run.problems.push_back("cannot read " + so.path);
      }
    }
    if (store) {
      std::string derr;
      DumpDatabase(so.path, &col, &derr);
      if (!derr.empty()) run.problems.push_back("db dump: " + derr);
    }

    run.phases.emplace_back("db", Since(t0));
    // The API, in-process, over what the daemon gives it.
    AgentWatchService api(
        nullptr, [] { return v1::Status(); }, &p.mcp_tracker(), &p.correlator(), store.get(),
        &p.engine());
    std::vector<std::string> server_ids;
    auto check = [&](const char* what, const grpc::Status& s) {
      if (!s.ok()) run.problems.push_back(std::string(what) + ": " + s.error_message());
    };
    {
      v1::ListServersRequest q;
      q.set_include_ended(true);
      v1::ListServersResponse r;
      check("ListServers", api.ListServers(nullptr, &q, &r));
      col.Message("api ListServers", r, -1);
      run.servers = r.servers_size();
      for (const auto& v : r.servers()) server_ids.push_back(v.id());
      // Each identity's inventory (its tools and every change), asked by
      // identity and by one server's id.
      std::set<std::string> keys, identities;
      for (const auto& s : r.servers())
        if (identities.insert(s.identity()).second) keys.insert(s.identity());
      if (r.servers_size() > 0) keys.insert(r.servers(0).id());
      for (const auto& k : keys) {
        v1::GetToolInventoryRequest iq;
        iq.set_server(k);
        v1::McpToolInventory inv;
        if (api.GetToolInventory(nullptr, &iq, &inv).ok())
          col.Message("api GetToolInventory", inv, -1);
      }
    }
    {
      v1::ListSessionsRequest q;
      q.set_include_ended(true);
      v1::ListSessionsResponse r;
      check("ListSessions", api.ListSessions(nullptr, &q, &r));
      col.Message("api ListSessions", r, -1);
    }
    // Calls server by server (`agentwatch calls --server ID`): every call,
    // in answers of a few calls. (One answer with all of them is redacted
    // as one message, and RedactMessage looks for every value found in
    // it in every field of it: with a secret in each of 1,500 calls that
    // alone took 20 s.)
    for (const std::string& id : server_ids) {
      v1::ListCallsRequest q;
      q.mutable_filter()->set_server(id);
      q.set_limit(100000);
      v1::ListCallsResponse r;
      check("ListCalls", api.ListCalls(nullptr, &q, &r));
      col.Message("api ListCalls", r, -1);
      run.calls += r.calls_size();
    }
    {
      v1::ListAgentsRequest q;
      q.set_include_ended(true);
      v1::ListAgentsResponse r;
      check("ListAgents", api.ListAgents(nullptr, &q, &r));
      col.Message("api ListAgents", r, -1);
    }
    {
      v1::ListChainsRequest q;
      q.set_limit(100000);
      v1::ListChainsResponse r;
      check("ListChains", api.ListChains(nullptr, &q, &r));
      col.Message("api ListChains", r, -1);
      run.chains = r.chains_size();
      for (const auto& c : r.chains()) {
        v1::GetChainRequest cq;
        cq.set_id(c.id());
        v1::Chain chain;
        check("GetChain", api.GetChain(nullptr, &cq, &chain));
        col.Message("api GetChain", chain, -1);
        if (store) {
          v1::Chain stored;
          std::string e;
          if (store->Chain(c.id(), &stored, &e)) col.Message("store Chain", stored, -1);
        }
      }
    }
    {
      v1::ListAlertsRequest q;
      q.set_limit(100000);
      v1::ListAlertsResponse r;
      check("ListAlerts", api.ListAlerts(nullptr, &q, &r));
      col.Message("api ListAlerts", r, -1);
      run.alerts = r.alerts_size();
      for (const auto& a : r.alerts()) {
        v1::GetAlertRequest aq;
        aq.set_id(a.id());
        v1::Alert alert;
        check("GetAlert", api.GetAlert(nullptr, &aq, &alert));
        col.Message("api GetAlert", alert, -1);
      }
    }
    {
      v1::ListBaselinesRequest q;
      v1::ListBaselinesResponse r;
      check("ListBaselines", api.ListBaselines(nullptr, &q, &r));
      col.Message("api ListBaselines", r, -1);
    }
    // The web console's JSON API over the same service: every answer as
    // the page gets it (proto JSON bodies), chains in the windows the page
    // asks for, up to the console's caps. (Its event streams and
    // /api/events are the published events, searched above.)
    {
      ConsoleApi console(&api);
      auto get = [&](const std::string& target) {
        HttpRequest req;
        req.method = "GET";
        const size_t q = target.find('?');
        req.path = target.substr(0, q);
        req.query = q == std::string::npos ? "" : target.substr(q + 1);
        req.host = "127.0.0.1:9591";
        HttpServer::Response r = console.Handle(req);
        if (r.status != 200 && r.status != 404)  // a server with no inventory: 404
          run.problems.push_back("console " + target + ": HTTP " + std::to_string(r.status) +
                                 " " + r.body);
        col.Text("console GET " + req.path, r.body, -1);
        return r;
      };
      auto escaped = [](const std::string& s) {
        std::string out;
        for (unsigned char ch : s) {
          if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
            out += static_cast<char>(ch);
          } else {
            out += fmt::format("%{:02X}", ch);
          }
        }
        return out;
      };
      get("/api/status");
      get("/api/servers?include_ended=1");
      get("/api/sessions?include_ended=1");
      get("/api/agents?include_ended=1");
      get("/api/baselines");
      get("/api/rules");
      get("/api/alerts?limit=" + std::to_string(ConsoleApi::kMaxAlerts));
      std::set<std::string> inventories;
      for (const std::string& id : server_ids) {
        get("/api/calls?server=" + escaped(id) + "&limit=" + std::to_string(ConsoleApi::kMaxCalls));
        if (inventories.insert(id).second) get("/api/servers/" + escaped(id) + "/tools");
      }
      v1::ListChainsResponse chains;
      google::protobuf::util::JsonParseOptions jo;
      jo.ignore_unknown_fields = true;
      (void)google::protobuf::util::JsonStringToMessage(
          get("/api/chains?limit=" + std::to_string(ConsoleApi::kMaxChains)).body, &chains, jo);
      if (static_cast<size_t>(chains.chains_size()) !=
          std::min<size_t>(run.chains, ConsoleApi::kMaxChains))
        run.problems.push_back(fmt::format("console /api/chains: {} chains, the API {}",
                                           chains.chains_size(), run.chains));
      for (const auto& c : chains.chains()) {
        // The page's windows of 250, and the largest window the API gives.
        for (uint32_t limit : {250u, ConsoleApi::kMaxChainEntries}) {
          uint32_t offset = 0;
          do {
            v1::Chain w;
            (void)google::protobuf::util::JsonStringToMessage(
                get(fmt::format("/api/chains/{}?offset={}&limit={}", c.id(), offset, limit)).body,
                &w, jo);
            offset += limit;
            if (offset >= w.entries_total()) break;
          } while (true);
        }
      }
      v1::ListAlertsResponse alerts;
      (void)google::protobuf::util::JsonStringToMessage(
          get("/api/alerts?limit=" + std::to_string(ConsoleApi::kMaxAlerts)).body, &alerts, jo);
      if (static_cast<size_t>(alerts.alerts_size()) !=
          std::min<size_t>(run.alerts, ConsoleApi::kMaxAlerts))
        run.problems.push_back(fmt::format("console /api/alerts: {} alerts, the API {}",
                                           alerts.alerts_size(), run.alerts));
      for (const auto& a : alerts.alerts()) get("/api/alerts/" + std::to_string(a.id()));
    }
    run.phases.emplace_back("api", Since(t0));
    // The store's own reads: what a restarted daemon, the ClickHouse tail
    // and durable alert streams read.
    if (store) {
      std::string e;
      for (const auto& v : store->Servers(100000, &e)) col.Message("store Servers", v, -1);
      for (const auto& v : store->Agents(100000, &e)) col.Message("store Agents", v, -1);
      for (const auto& v : store->Inventories(&e)) col.Message("store Inventories", v, -1);
      for (const auto& v : store->Baselines(&e)) col.Message("store Baselines", v, -1);
      for (const auto& v : store->CallsAfter(0, 1000000, &e))
        col.Message("store CallsAfter", v.call, -1);
      for (const auto& v : store->EffectsAfter(0, 1000000, &e)) {
        col.Text("store EffectsAfter.summary", v.summary, -1);
        col.Text("store EffectsAfter.comm", v.comm, -1);
      }
      for (const auto& v : store->ChainsEndingSince(0, 1000000, &e))
        col.Message("store ChainsEndingSince", v, -1);
      for (const auto& v : store->OutboxAfter(0, 1000000, &e))
        col.Message("store OutboxAfter", v.alert, -1);
      if (!e.empty()) run.problems.push_back("store reads: " + e);
    }
    run.phases.emplace_back("store reads", Since(t0));
    // What the store was given: TrackerSnapshot's records (and the
    // engine's baselines).
    {
      std::lock_guard<std::mutex> lock(snap_mu);
      if (store && snapshots.empty()) run.problems.push_back("the store took no snapshot");
      for (const Store::Snapshot& snap : snapshots) {
        for (const auto& v : snap.agents) col.Message("TrackerSnapshot agents", v, -1);
        for (const auto& v : snap.servers) col.Message("TrackerSnapshot servers", v, -1);
        for (const auto& v : snap.sessions) col.Message("TrackerSnapshot sessions", v, -1);
        for (const auto& v : snap.inventories) col.Message("TrackerSnapshot inventories", v, -1);
        for (const auto& v : snap.baselines) col.Message("TrackerSnapshot baselines", v, -1);
      }
    }
  }
  store.reset();
  spdlog::default_logger()->flush();
  spdlog::set_default_logger(previous);
  const std::string log = log_text.str();
  col.Text("log", log, -1);
  run.log_lines = static_cast<size_t>(std::count(log.begin(), log.end(), '\n'));
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);

  run.hits = std::move(col.hits);
  run.outputs = col.outputs();
  run.bytes = col.bytes();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

// One row per leaking sample: where its secret was found (each place once;
// the JSON form of a message is listed only when no field of it was) and
// the first excerpt.
std::string HitTable(Form form, const std::vector<Hit>& hits) {
  const Corpus& c = LoadCorpus();
  std::map<int, std::vector<const Hit*>> by_sample;
  for (const auto& h : hits) by_sample[h.sample].push_back(&h);
  std::ostringstream o;
  o << "\n"
    << by_sample.size() << " sample(s) leaking in form " << FormName(form) << " (" << hits.size()
    << " outputs):\n";
  o << "RULE                                 HALF FORM                       PLACES\n";
  for (const auto& [i, hs] : by_sample) {
    const Sample& s = c.samples[i];
    std::set<std::string> fields, json;
    const Hit* first = nullptr;
    std::set<std::string> sessions;
    bool shared = true;
    for (const Hit* h : hs) {
      const bool is_json = h->where.find(" (json)") != std::string::npos;
      (is_json ? json : fields)
          .insert(h->where + (h->variant == "raw" ? "" : " [" + h->variant + "]"));
      if (first == nullptr || (!is_json && first->where.find(" (json)") != std::string::npos))
        first = h;
      if (h->session_sample >= 0) {
        const Sample& o = c.samples[h->session_sample];
        sessions.insert(o.rule + " (" + o.half + ")");
      }
      shared &= h->shared;
    }
    for (const auto& j : json) {
      const std::string base = j.substr(0, j.find(" (json)"));
      bool covered = false;
      for (const auto& f : fields) covered |= f.rfind(base + ".", 0) == 0;
      if (!covered) fields.insert(j);
    }
    char buf[256];
    std::string notes;
    for (const auto& x : sessions) notes += (notes.empty() ? "  in the session of " : ", ") + x;
    if (shared) notes += "  (only windows other samples share)";
    snprintf(buf, sizeof(buf), "%-36s %-4s %-26s %zu", s.rule.c_str(), s.half.c_str(),
             FormName(form), fields.size());
    o << buf << notes << "\n";
    for (const auto& f : fields) o << "      " << f << "\n";
    o << "      excerpt (" << first->where << ", " << first->variant << "): " << first->excerpt
      << "\n";
    for (const Hit* h : hs)
      if (!h->dump.empty())
        o << "      output " << h->where << " [" << h->variant << "]: " << h->dump << "\n";
  }
  return o.str();
}

// ---------------------------------------------------------------- tests

TEST(RedactionReplayTest, EveryPositiveSampleHasASecret) {
  const Corpus& c = LoadCorpus();
  ASSERT_EQ(c.error, "");
  EXPECT_GE(c.catalogue.rules.size(), 200u);
  EXPECT_GT(c.positives, 400u);
  std::string list;
  for (const auto& s : c.without_secret) list += "  " + s + "\n";
  EXPECT_TRUE(c.without_secret.empty()) << "positives their rule captures no secret in:\n" << list;
  // Every secret is searched for by windows of its own, not only by text
  // that occurs where nothing is secret.
  std::string unsearched;
  for (size_t i = 0; i < c.samples.size(); ++i) {
    const Sample& s = c.samples[i];
    size_t want = 0;
    for (const auto& x : s.secrets) want += x.size() < kWindow ? 1 : x.size() - kWindow + 1;
    if (SecretSearcher().windows_of(static_cast<int>(i)) * 2 < want)
      unsearched += "  " + s.rule + " (" + s.half +
                    "): " + std::to_string(SecretSearcher().windows_of(static_cast<int>(i))) +
                    " of " + std::to_string(want) + " windows\n";
  }
  EXPECT_TRUE(unsearched.empty()) << "secrets searched by fewer than half their windows:\n"
                                  << unsearched;
  size_t secrets = 0, shorter = 0;
  for (const auto& s : c.samples) {
    secrets += s.secrets.size();
    for (const auto& x : s.secrets) shorter += x.size() < kWindow;
  }
  std::cout << "[ samples ] " << c.samples.size() << " of " << c.positives
            << " positive samples (both halves) with " << secrets << " secrets (" << shorter
            << " shorter than " << kWindow << "), " << SecretSearcher().windows()
            << " distinct windows searched for (" << SecretSearcher().public_skipped()
            << " windows skipped: they occur in text that is not secret)\n";
}

// The searcher itself: a secret planted in an output is found, raw, as
// \uXXXX escapes, percent-encoded, in JSON in JSON, and across a field
// boundary it is not; a masked output is clean.
TEST(RedactionReplayTest, TheSearcherFindsAPlantedSecret) {
  const Corpus& c = LoadCorpus();
  ASSERT_EQ(c.error, "");
  ASSERT_FALSE(c.samples.empty());
  // The longest secret and one shorter than a window, if any.
  std::vector<int> picks = {0};
  for (size_t i = 0; i < c.samples.size(); ++i) {
    if (c.samples[i].secrets[0].size() > c.samples[picks[0]].secrets[0].size())
      picks[0] = static_cast<int>(i);
  }
  for (size_t i = 0; i < c.samples.size(); ++i) {
    if (c.samples[i].secrets[0].size() < kWindow) {
      picks.push_back(static_cast<int>(i));
      break;
    }
  }
  picks.push_back(static_cast<int>(c.samples.size() / 2));
  for (int i : picks) {
    const Sample& s = c.samples[i];
    const std::string& secret = s.secrets[0];
    SCOPED_TRACE(s.rule + ": " + secret);
    auto found = [&](const std::string& text, const char* variant) {
      Collector col(&SecretSearcher());
      col.current = i;
      col.Text("planted", text, i);
      for (const auto& h : col.hits)
        if (h.sample == i && h.variant == variant) return true;
      return false;
    };
    const std::string window = secret.substr(secret.size() / 3, std::min(kWindow, secret.size()));
    EXPECT_TRUE(found("prefix " + secret + " suffix", "raw"));
    if (secret.size() >= kWindow) {
      EXPECT_TRUE(found("only a window: <" + window + ">", "raw"));
      EXPECT_FALSE(found("one short: <" + window.substr(1) + ">", "raw"));
    }
    std::string escaped;
    for (unsigned char ch : secret) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", ch);
      escaped += buf;
    }
    EXPECT_TRUE(found("{\"text\":\"" + escaped + "\"}", "json-unescaped"));
    std::string all_pct;
    for (unsigned char ch : secret) {
      char buf[8];
      snprintf(buf, sizeof(buf), "%%%02X", ch);
      all_pct += buf;
    }
    EXPECT_TRUE(found("GET /x?q=" + all_pct + " HTTP/1.1", "pct-decoded"));
    EXPECT_TRUE(found(Quote("{\"inner\":\"" + escaped + "\"}"), "json-unescaped x2"));
    EXPECT_FALSE(found("[REDACTED:" + s.rule + ":3f9a1c]", "raw"));

    // Through a Collector fed a message, as the pipeline's outputs are.
    // (A bytes field is base64 in JSON: the raw field is what shows it.)
    for (const char* field : {"data", "encoded_excerpt"}) {
      v1::Event e;
      e.set_type(v1::EVENT_TYPE_PAYLOAD);
      if (std::string(field) == "data") {
        e.mutable_payload()->set_data("xx" + secret);
      } else {
        e.mutable_payload()->set_encoded_excerpt("xx" + secret);
      }
      Collector col(&SecretSearcher());
      col.Message("event PAYLOAD", e, -1);
      std::set<std::string> where;
      for (const auto& h : col.hits)
        if (h.sample == i) where.insert(h.where);
      EXPECT_TRUE(where.count(std::string("event PAYLOAD.payload.") + field)) << field;
      if (std::string(field) == "encoded_excerpt") {
        EXPECT_TRUE(where.count("event PAYLOAD (json)"));
      }
    }
  }
}

class RedactionReplay : public testing::TestWithParam<Form> {};

TEST_P(RedactionReplay, NoSecretLeaves) {
  const Corpus& c = LoadCorpus();
  ASSERT_EQ(c.error, "");
  const Form form = GetParam();
  FormRun run = RunForm(form);
  for (const auto& p : run.problems) ADD_FAILURE() << p;
  std::string types;
  for (const auto& [ph, t] : run.phases)
    types += " " + ph + "@" + std::to_string(t).substr(0, 4) + "s";
  types += "\n        ";
  for (const auto& [t, n] : run.events_by_type) types += " " + t + "=" + std::to_string(n);
  std::set<int> leaking;
  for (const auto& h : run.hits) leaking.insert(h.sample);
  printf(
      "[ form ] %-26s sessions=%zu events=%zu outputs=%zu bytes=%.1fMB servers=%zu calls=%zu "
      "chains=%zu alerts=%zu log_lines=%zu hits=%zu samples_leaking=%zu header_omitted=%zu "
      "not_straddling=%zu %.1fs\n         events:%s\n",
      FormName(form), run.stats.sessions, run.events, run.outputs, run.bytes / 1e6, run.servers,
      run.calls, run.chains, run.alerts, run.log_lines, run.hits.size(), leaking.size(),
      run.stats.header_omitted, run.stats.not_straddling, run.seconds, types.c_str());
  fflush(stdout);
  // The sessions must have been understood, or the test proves nothing.
  const size_t batch = BatchSize(form);
  const size_t sessions = (c.samples.size() + batch - 1) / batch;
  EXPECT_EQ(run.stats.sessions, sessions);
  EXPECT_GE(run.calls, c.samples.size() + sessions) << "calls decoded";
  EXPECT_GE(run.servers, sessions) << "servers found";
  EXPECT_EQ(run.stats.not_straddling, 0u);
  EXPECT_TRUE(run.hits.empty()) << HitTable(form, run.hits);
}

INSTANTIATE_TEST_SUITE_P(Forms, RedactionReplay, testing::ValuesIn(kForms),
                         [](const testing::TestParamInfo<Form>& i) {
                           return std::string(FormName(i.param));
                         });

}  // namespace
}  // namespace agentwatch
