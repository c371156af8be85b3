#include "detect/text_score.h"

#include <algorithm>
#include <cctype>
#include <bit>
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <simdjson.h>

#include "common/text.h"
#include "detect/text_view.h"
#include "redact/redact.h"

namespace agentwatch {

struct TextScorer::Compiled {
  TextScoring scoring;
  std::unique_ptr<RE2::Set> set;
  std::vector<size_t> pattern_feature;  // set index -> feature index
  std::vector<size_t> pattern_features;  // features with patterns, by index
  // Channel features, by their names' index in TextChannelFeatures().
  std::vector<int> channel_index;
};

namespace {

constexpr size_t kMaxFeatures = 64;

// Keys whose string values are identifiers, not text for a reader.
bool IdentifierKey(std::string_view k) {
  static constexpr std::string_view kKeys[] = {
      "name", "uri", "uriTemplate", "mimeType", "type", "format", "pattern", "$ref",
      "$schema", "$id", "required", "contentEncoding", "contentMediaType", "$defs"};
  for (std::string_view x : kKeys)
    if (x == k) return true;
  return false;
}

// Words in s (runs of non-space).
size_t WordCount(std::string_view s) {
  size_t n = 0;
  bool in = false;
  for (char c : s) {
    const bool sp = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    n += !sp && !in;
    in = !sp;
  }
  return n;
}

// An identifier's value: one token of at most 64 bytes (a sentence under
// `format` or `type` is text all the same).
bool LooksLikeIdentifier(std::string_view s) {
  return s.size() <= 64 && s.find_first_of(" \t\n") == std::string_view::npos;
}

constexpr size_t kMaxFieldBytes = 512u << 10;  // of one definition
constexpr size_t kMaxFields = 65536;

void Walk(simdjson::dom::element e, const std::string& path, bool identifier, int depth,
          size_t* bytes, std::vector<TextField>* out) {
  if (out->size() >= kMaxFields || *bytes >= kMaxFieldBytes || depth > 64) return;
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s) == simdjson::SUCCESS && !s.empty() &&
          !(identifier && LooksLikeIdentifier(s))) {
        *bytes += s.size();
        out->push_back({path, std::string(s)});
      }
      break;
    }
    case simdjson::dom::element_type::ARRAY:
      for (simdjson::dom::element c : e.get_array()) Walk(c, path, identifier, depth + 1, bytes, out);
      break;
    case simdjson::dom::element_type::OBJECT:
      for (auto kv : e.get_object()) {
        const std::string_view k = kv.key;
        // Paths name where a text sits, cut so a long key costs nothing.
        const std::string_view shown = k.substr(0, 64);
        std::string sub = path.size() > 256 ? path
                          : path.empty()     ? std::string(shown)
                                             : fmt::format("{}.{}", path, shown);
        // A property name that is a sentence is text too.
        if (WordCount(k) >= 3 && *bytes < kMaxFieldBytes) {
          *bytes += k.size();
          out->push_back({sub + " (name)", std::string(k)});
        }
        Walk(kv.value, sub, IdentifierKey(k), depth + 1, bytes, out);
      }
      break;
    default:
      break;
  }
}

// Opaque tokens (16+ characters mixing letters and digits) in normalised
// text, masked: case folding hides them from the case-sensitive
// credential formats, so an excerpt shows words, not tokens.
std::string MaskTokens(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  auto tok = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '+' ||
           c == '/' || c == '=';
  };
  while (i < s.size()) {
    if (!tok(s[i])) {
      out.push_back(s[i++]);
      continue;
    }
    size_t end = i;
    bool digit = false, alpha = false;
    while (end < s.size() && tok(s[end])) {
      digit |= std::isdigit(static_cast<unsigned char>(s[end])) != 0;
      alpha |= std::isalpha(static_cast<unsigned char>(s[end])) != 0;
      ++end;
    }
    if (end - i >= 16 && digit && alpha) {
      out += "[REDACTED:token]";
    } else {
      out.append(s.substr(i, end - i));
    }
    i = end;
  }
  return out;
}

bool IsChannel(const std::string& name) {
  const auto& ch = TextChannelFeatures();
  return std::find(ch.begin(), ch.end(), name) != ch.end();
}

}  // namespace

void DefinitionFields(std::string_view json, std::string_view prefix,
                      std::vector<TextField>* out) {
  if (json.empty()) return;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    out->push_back({std::string(prefix), std::string(json.substr(0, kMaxFieldBytes))});
    return;
  }
  size_t bytes = 0;
  Walk(root, std::string(prefix), false, 0, &bytes, out);
}

void ToolFields(const v1::McpTool& t, std::vector<TextField>* out) {
  if (!t.title().empty()) out->push_back({"title", t.title()});
  if (!t.description().empty()) out->push_back({"description", t.description()});
  DefinitionFields(t.input_schema(), "inputSchema", out);
  DefinitionFields(t.output_schema(), "outputSchema", out);
  DefinitionFields(t.annotations(), "annotations", out);
}

std::string TextScorer::Verdict::Reason() const {
  std::string where = field.empty() ? "" : " in " + field;
  if (!channel.empty()) where += fmt::format(" (hidden: {})", channel);
  return fmt::format("instructions to the model{} (score {:.1f}: {})", where, score,
                     fmt::join(features, ", "));
}

TextScorer::TextScorer() = default;
TextScorer::~TextScorer() = default;
TextScorer::TextScorer(TextScorer&&) noexcept = default;
TextScorer& TextScorer::operator=(TextScorer&&) noexcept = default;

bool TextScorer::compiled() const { return c_ != nullptr; }

std::string TextScorer::Compile(const TextScoring& scoring) {
  auto c = std::make_unique<Compiled>();
  c->scoring = scoring;
  if (scoring.features.size() > kMaxFeatures)
    return fmt::format("text_scoring: at most {} features", kMaxFeatures);
  RE2::Options o;
  o.set_case_sensitive(false);
  o.set_log_errors(false);
  o.set_max_mem(64 << 20);
  c->set = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
  c->channel_index.assign(TextChannelFeatures().size(), -1);
  for (size_t i = 0; i < scoring.features.size(); ++i) {
    const TextFeature& f = scoring.features[i];
    if (IsChannel(f.name)) {
      const auto& ch = TextChannelFeatures();
      c->channel_index[std::find(ch.begin(), ch.end(), f.name) - ch.begin()] = static_cast<int>(i);
      continue;
    }
    for (const std::string& p : f.patterns) {
      std::string err;
      // (?m): ^ and $ at line ends, for the markers that start a line.
      if (c->set->Add("(?m)" + p, &err) < 0)
        return fmt::format("text_scoring: feature {}: pattern '{}': {}", f.name, p, err);
      c->pattern_feature.push_back(i);
    }
  }
  if (!c->pattern_feature.empty() && !c->set->Compile())
    return "text_scoring: the feature patterns do not compile together (too large?)";
  if (c->pattern_feature.empty()) c->set.reset();
  c_ = std::move(c);
  return "";
}

TextScorer::Verdict TextScorer::Score(std::string_view text, Kind kind) const {
  // A long text is read at its start and its end (padding in between does
  // not push an instruction out of sight), each bounded so that scoring
  // stays cheap.
  if (text.size() > kHead + kTail) {
    Verdict head = ScoreBounded(text.substr(0, kHead), kind);
    Verdict tail = ScoreBounded(text.substr(text.size() - kTail), kind);
    Verdict& best = tail.score > head.score ? tail : head;
    best.features.push_back("truncated");
    return std::move(best);
  }
  return ScoreBounded(text, kind);
}

TextScorer::Verdict TextScorer::ScoreBounded(std::string_view text, Kind kind) const {
  Verdict v;
  if (!c_ || text.empty()) return v;
  const TextScoring& sc = c_->scoring;
  const bool def = kind == Kind::kDefinition;
  auto weight = [&](size_t i) {
    return def ? sc.features[i].definition_weight : sc.features[i].result_weight;
  };
  auto channel_weight = [&](size_t ch, std::vector<std::string>* names) {
    const int i = c_->channel_index[ch];
    if (i < 0 || weight(static_cast<size_t>(i)) <= 0) return 0.0;
    names->push_back(sc.features[static_cast<size_t>(i)].name);
    return weight(static_cast<size_t>(i));
  };
  const TextView view = ViewText(text);
  // Channel features of the whole text.
  double base = 0;
  std::vector<std::string> base_names;
  const uint32_t counts[] = {view.tag_chars,          view.variation_payload,
                             view.zero_width_in_words >= 2 ? view.zero_width_in_words : 0,
                             view.bidi_controls,      view.escapes,
                             view.mixed_script_words};
  for (size_t ch = 0; ch < std::size(counts); ++ch)
    if (counts[ch] > 0) base += channel_weight(ch, &base_names);
  // The bonus of a window in hidden text: looked up once, not per window.
  const auto& channels = TextChannelFeatures();
  const int hidden_i = c_->channel_index[static_cast<size_t>(
      std::find(channels.begin(), channels.end(), "hidden_channel") - channels.begin())];
  const double hidden_w = hidden_i < 0 ? 0 : weight(static_cast<size_t>(hidden_i));

  double best = 0;
  uint64_t best_mask = 0;
  std::string best_excerpt, best_channel;
  bool best_hidden_bonus = false;
  std::vector<int> hits;
  for (const TextSegment& seg : view.segments) {
    if (!c_->set || seg.text.empty()) continue;
    const std::vector<std::string_view> sentences = SplitSentences(seg.text);
    std::vector<uint64_t> masks(sentences.size(), 0);
    for (size_t s = 0; s < sentences.size(); ++s) {
      hits.clear();
      if (!c_->set->Match(sentences[s], &hits)) continue;
      for (int h : hits) masks[s] |= uint64_t{1} << c_->pattern_feature[static_cast<size_t>(h)];
    }
    const size_t w = std::max<uint32_t>(1, sc.window);
    for (size_t s = 0; s < sentences.size(); ++s) {
      if (masks[s] == 0) continue;
      // Windows that start at s (a window ending at s started earlier).
      uint64_t mask = 0;
      for (size_t k = s; k < std::min(sentences.size(), s + w); ++k) {
        mask |= masks[k];
        double score = 0;
        for (uint64_t m = mask; m != 0; m &= m - 1) score += weight(std::countr_zero(m));
        const bool bonus = !seg.channel.empty() && hidden_w > 0;
        if (bonus) score += hidden_w;
        if (score > best) {
          best = score;
          best_mask = mask;
          best_channel = seg.channel;
          best_hidden_bonus = bonus;
          const char* from = sentences[s].data();
          const char* to = sentences[k].data() + sentences[k].size();
          best_excerpt = std::string(from, static_cast<size_t>(to - from));
        }
      }
    }
  }
  v.score = base + best;
  v.features = base_names;
  for (uint64_t m = best_mask; m != 0; m &= m - 1)
    v.features.push_back(sc.features[static_cast<size_t>(std::countr_zero(m))].name);
  if (best_hidden_bonus) v.features.push_back("hidden_channel");
  v.channel = best_channel;
  if (best_excerpt.empty() && !view.segments.empty()) {
    // Only channel features: the start of the hidden text if there is one.
    const TextSegment* seg = &view.segments.front();
    for (const TextSegment& s : view.segments)
      if (!s.channel.empty()) {
        seg = &s;
        v.channel = s.channel;
        break;
      }
    best_excerpt = seg->text.substr(0, 160);
  }
  if (best_excerpt.size() > 240) best_excerpt = best_excerpt.substr(0, 240) + "…";
  v.excerpt = Redact(MaskTokens(Printable(best_excerpt)), 512);
  v.flagged = v.score >= (def ? sc.definition_threshold : sc.result_threshold);
  return v;
}

void TextScorer::AddFeature(const std::string& name, Kind kind, Verdict* v) const {
  if (!c_) return;
  const TextScoring& sc = c_->scoring;
  for (const TextFeature& f : sc.features) {
    if (f.name != name) continue;
    const double w = kind == Kind::kDefinition ? f.definition_weight : f.result_weight;
    if (w <= 0) return;
    v->score += w;
    v->features.insert(v->features.begin(), name);
    v->flagged =
        v->score >= (kind == Kind::kDefinition ? sc.definition_threshold : sc.result_threshold);
    return;
  }
}

TextScorer::Verdict TextScorer::ScoreFields(const std::vector<TextField>& fields) const {
  Verdict best;
  for (const TextField& f : fields) {
    Verdict v = Score(f.text, Kind::kDefinition);
    if (v.score > best.score) {
      best = std::move(v);
      best.field = f.path;
    }
  }
  return best;
}

}  // namespace agentwatch
