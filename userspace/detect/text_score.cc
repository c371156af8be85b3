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
  // Prohibitions, by the main set's index of a negatable feature's
  // pattern: the pattern behind a prohibition cue (cancel: the match is a
  // protection) and behind a negation that orders all the same (keep: "do
  // not forget to send..."). Read only for a pattern that matched in a
  // sentence with a cue, so the main set's DFA stays as it was.
  std::unique_ptr<RE2> cue;  // any cue
  std::vector<std::unique_ptr<RE2>> cancel, keep;
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

// Where a window of the normalised text sits in the original: its first
// and last 32 letters and digits (ASCII, lower case) found in order among
// the original's, and the bytes between; "" when the window is not there
// as such (a decoded or hidden channel, or letters that folding changed).
std::string_view OriginalSpan(std::string_view original, std::string_view window) {
  std::string oa, na;
  std::vector<size_t> at;
  oa.reserve(original.size());
  at.reserve(original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    const auto c = static_cast<unsigned char>(original[i]);
    if (c < 0x80 && std::isalnum(c) != 0) {
      oa.push_back(static_cast<char>(std::tolower(c)));
      at.push_back(i);
    }
  }
  for (char ch : window) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && std::isalnum(c) != 0) na.push_back(static_cast<char>(std::tolower(c)));
  }
  if (na.size() < 8) return {};
  const size_t k = std::min<size_t>(32, na.size());
  const size_t p = oa.find(std::string_view(na).substr(0, k));
  if (p == std::string::npos) return {};
  const size_t q = oa.find(std::string_view(na).substr(na.size() - k), p);
  if (q == std::string::npos) return {};
  size_t from = at[p], to = at[q + k - 1] + 1;
  // Far apart: not the same passage.
  if (to - from > window.size() * 4 + 256) return {};
  // With the punctuation that opens or closes it ("[IMPORTANT]", "(x)").
  auto punct = [](char c) { return c > 0x20 && c < 0x7F && std::isalnum(static_cast<unsigned char>(c)) == 0; };
  for (int n = 0; n < 4 && from > 0 && punct(original[from - 1]); ++n) --from;
  for (int n = 0; n < 4 && to < original.size() && punct(original[to]); ++n) ++to;
  return original.substr(from, to - from);
}

// Private-key blocks in case-folded text (a decoded channel's excerpt),
// which the case-sensitive credential shapes do not see.
std::string MaskFoldedKeys(std::string s) {
  static const RE2 re("-----begin [a-z0-9 ]*(?:private key|key block)[a-z ]*-----(?s:.*?)(?:-----end [a-z0-9 ]*-----|$)");
  RE2::GlobalReplace(&s, re, "[REDACTED:private-key]");
  return s;
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
  std::string any_cue;
  for (const std::string& q : scoring.prohibition_cues) any_cue += (any_cue.empty() ? "" : "|") + q;
  if (!any_cue.empty()) {
    c->cue = std::make_unique<RE2>("(?:" + any_cue + ")", o);
    if (!c->cue->ok())
      return fmt::format("text_scoring: prohibitions: cues: {}", c->cue->error());
  }
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
      c->cancel.emplace_back();
      c->keep.emplace_back();
      if (!f.negatable || c->cue == nullptr) continue;
      // The same pattern after a cue in its clause (no stop, colon or
      // comma between).
      for (const auto& [list, out] : {std::pair{&scoring.prohibition_cues, &c->cancel.back()},
                                      std::pair{&scoring.prohibition_except, &c->keep.back()}}) {
        if (list->empty()) continue;
        std::string cues;
        for (const std::string& q : *list) cues += (cues.empty() ? "" : "|") + q;
        RE2::Options so = o;
        so.set_max_mem(4 << 20);
        *out = std::make_unique<RE2>("(?m)(?:" + cues + ")[^.;:!?,\\n]{0,60}?(?:" + p + ")", so);
        if (!(*out)->ok())
          return fmt::format("text_scoring: prohibitions with feature {}: pattern '{}': {}", f.name,
                             p, (*out)->error());
      }
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
      // A negatable pattern behind a prohibition cue does not fire (unless
      // the negation orders all the same); looked for only in a sentence
      // with a cue.
      int has_cue = -1;
      for (int h : hits) {
        const size_t k = static_cast<size_t>(h);
        if (c_->cancel[k]) {
          if (has_cue < 0) has_cue = RE2::PartialMatch(sentences[s], *c_->cue) ? 1 : 0;
          if (has_cue == 1 && RE2::PartialMatch(sentences[s], *c_->cancel[k]) &&
              !(c_->keep[k] && RE2::PartialMatch(sentences[s], *c_->keep[k])))
            continue;
        }
        masks[s] |= uint64_t{1} << c_->pattern_feature[k];
      }
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
  // The excerpt is the original text of the window where it is there as
  // such (redacted whole, then cut, so a cut cannot split a secret the
  // redactor would know); a hidden channel's decoded text is shown
  // normalised, with tokens and private-key blocks masked.
  // (Looked up only for a text that scores: most fields of a definition
  // score nothing.)
  const std::string_view orig =
      v.score > 0 ? OriginalSpan(text, best_excerpt) : std::string_view();
  std::string shown = orig.empty() ? MaskFoldedKeys(std::move(best_excerpt))
                                   : Redact(Printable(std::string(orig)), 4096);
  shown = MaskTokens(orig.empty() ? Printable(shown) : shown);
  if (shown.size() > 240) {
    size_t cut = 240;
    while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) --cut;
    shown = shown.substr(0, cut) + "…";
  }
  v.excerpt = Redact(shown, 512);
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

namespace {

// A value a model copies into its calls (a default, a constant, an enum
// member, an example) that is more than one identifier: "~/.ssh", a URL,
// a sentence.
bool ValueFieldText(const TextField& f) {
  static constexpr std::string_view kEnds[] = {".default", ".const", ".enum", ".examples",
                                               ".example"};
  bool value = false;
  for (std::string_view e : kEnds)
    value |= f.path.size() >= e.size() && f.path.compare(f.path.size() - e.size(), e.size(), e) == 0;
  return value && f.text.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                      std::string::npos;
}

}  // namespace

TextScorer::Verdict TextScorer::ScoreFields(const std::vector<TextField>& fields) const {
  Verdict best;
  for (const TextField& f : fields) {
    Verdict v = Score(f.text, Kind::kDefinition);
    // A path, a destination or an instruction as a parameter's value is a
    // poisoned parameter: values are data, and fire no features.
    if (v.score > 0 && ValueFieldText(f)) AddFeature("value_field", Kind::kDefinition, &v);
    if (v.score > best.score) {
      best = std::move(v);
      best.field = f.path;
    }
  }
  return best;
}

}  // namespace agentwatch
