// The one redaction stage: every string that leaves agentwatch (events,
// store rows, API answers, sinks, logs, metrics) passes through a
// Redactor. It finds secrets with the credential catalogue (provider
// formats, secret-named keys, long random values next to such names) in
// the text and in its decoded views (JSON escapes, nested JSON, percent
// encoding, base64 runs), maps each back to the bytes it came from, masks
// every place a found value appears, and writes masks that keep the kind
// and a keyed fingerprint: [REDACTED:aws-secret-access-key:3f9a1c]. The
// key is per install, so the same secret reads the same across records
// and the fingerprint cannot be brute-forced from the store alone.
#ifndef AGENTWATCH_REDACT_REDACTOR_H_
#define AGENTWATCH_REDACT_REDACTOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redact/catalogue.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace re2 {
class RE2;
}  // namespace re2

namespace agentwatch {

class KeywordIndex;
struct DecodedView;

// What every mask starts with; a text holding it had a secret.
inline constexpr char kRedactedPrefix[] = "[REDACTED:";

class Redactor {
 public:
  struct Finding {
    size_t begin = 0;  // in the text given
    size_t end = 0;
    std::string rule;   // catalogue id, "secret-name" or "high-entropy"
    std::string value;  // the secret as decoded (what the fingerprint keys)
    // Where the whole match began when the secret is a part of it (a key
    // block's body after its header), else SIZE_MAX.
    size_t match_begin = SIZE_MAX;
    size_t start() const { return match_begin < begin ? match_begin : begin; }
  };

  // Compiles a catalogue; null and *err on a regex that does not compile.
  static std::shared_ptr<const Redactor> Compile(const SecretCatalogue& catalogue,
                                                 std::string key, std::string* err);
  ~Redactor();

  // Secrets in text, in its coordinates, sorted, not overlapping.
  std::vector<Finding> Find(std::string_view text) const;
  // text with every secret masked.
  std::string Redact(std::string_view text) const;
  // The same, then cut to max_len bytes at a UTF-8 boundary that splits no
  // mask, with "…[+N bytes]" when cut.
  std::string Redact(std::string_view text, size_t max_len) const;
  // text[begin, end) redacted as part of the whole text (a secret that
  // only partly lies in the slice is found in the whole and masked), cut
  // to max_len.
  std::string RedactSlice(std::string_view text, size_t begin, size_t end, size_t max_len) const;
  bool ContainsSecret(std::string_view text) const;
  std::string Mask(std::string_view kind, std::string_view value) const;

  // Every string field of m, recursively: a value found in any field is
  // masked in all of them.
  void RedactMessage(google::protobuf::Message* m) const;
  // The same for a list of strings (argv: each element on its own, before
  // it is quoted or escaped for display).
  std::vector<std::string> RedactAll(std::vector<std::string> texts) const;

  size_t rule_count() const;
  // The shortest literal the keyword pass looks for (a keyword, or the
  // longer literals a short one is looked for as).
  size_t shortest_literal() const;

 private:
  Redactor() = default;
  struct Rule;
  struct RuleHit;
  // Findings of the rules and names whose keywords occur in text (not
  // inside masks already there); false when no keyword occurs.
  struct Near;
  // *near (when given): each keyword found (a secret name only when it is
  // one) with the region around it where its match could lie.
  // *blocks (when given): where keywords of rules with no length bound
  // (key blocks) occur.
  struct Prescan;
  // Ranges of a text [begin, end): where findings are wanted. With them,
  // a regex window, a decoded view's region or a base64 run that lies
  // wholly outside them is not looked at (what it could find would not
  // reach them); the findings that do reach them are the same as without.
  using Ranges = std::vector<std::pair<size_t, size_t>>;
  // *pre (when given): filled in the same pass. *wanted (when given): as
  // for Ranges, with the neighbourhood of each key block's keyword added.
  // *masks (when given): the masks already in text (MaskRanges), for Clean.
  bool Scan(std::string_view text, std::vector<Finding>* out, std::vector<Near>* near,
            std::vector<size_t>* blocks = nullptr, Prescan* pre = nullptr,
            Ranges* wanted = nullptr, Ranges* masks = nullptr) const;
  // Fills *pre (escapes, base64 runs) for Scan; slash: whether '/' is in
  // some keyword (then \/ can hide one). With wanted: only the base64
  // runs that can reach them.
  static void Survey(std::string_view text, bool slash, const Ranges* wanted, Prescan* pre);
  // The decoded views of text[rb, re) (nested JSON, percent-encoding)
  // scanned; the first JSON view kept in *first_json (for base64 runs).
  void ScanViews(std::string_view text, size_t rb, size_t re, std::vector<Finding>* out,
                 std::vector<DecodedView>* first_json) const;
  // also_hits: where the rules' other keywords occur, as (keyword,
  // begin), sorted.
  void ScanRules(std::string_view text, std::vector<RuleHit>& hits,
                 const std::vector<std::pair<uint32_t, uint32_t>>& also_hits,
                 std::vector<Finding>* out, const Ranges* wanted) const;
  // Whether an escape in text (\uXXXX, \/, %XX) decodes to a byte some
  // keyword holds: only then can a decoded view show a keyword the text
  // does not.
  bool Hides(std::string_view text) const;
  void ScanNames(std::string_view text, const std::vector<size_t>& hits,
                 std::vector<Finding>* out, std::vector<Near>* near) const;
  bool SecretName(std::string_view name) const;
  bool SecretNameUncached(std::string_view name) const;
  // Every finding of text (raw, decoded views, base64 runs, the values
  // found spread), not yet cleaned; *blocks as for Scan. With wanted:
  // every finding that reaches those ranges (values found elsewhere are
  // not spread into them).
  // *masks (when given): as for Scan.
  void FindIn(std::string_view text, std::vector<Finding>* out,
              std::vector<size_t>* blocks = nullptr, const Ranges* wanted = nullptr,
              Ranges* masks = nullptr) const;
  // Remembers a text this redactor wrote (Find returns nothing for it).
  void NoteClean(std::string_view out) const;
  // Find; keep_clean: a short text found clean is remembered (published
  // events' fields repeat from event to event).
  std::vector<Finding> Find(std::string_view text, bool keep_clean) const;
  // A command line's "--name VALUE" (two elements of argv): the findings of
  // value read as flag=value (the flag's name says what the value is), in
  // value's coordinates; nothing when flag is no flag.
  void FindAfterFlag(std::string_view flag, std::string_view value,
                     std::vector<Finding>* out) const;
  // Occurrences in text of the values known and found so far.
  void AddKnown(std::string_view text, const std::vector<std::string>& known,
                std::vector<Finding>* out) const;
  // Findings outside masks already in text, sorted and merged; masks: the
  // masks in text when known (FindIn's), else read again.
  std::vector<Finding> Clean(std::string_view text, std::vector<Finding> f,
                             const Ranges* masks = nullptr) const;
  // text from `from` with the findings masked, stopping once more than
  // limit bytes are written; *consumed: where in text it stopped.
  std::string Render(std::string_view text, const std::vector<Finding>& f, size_t from,
                     size_t limit, size_t* consumed) const;
  // out (a text just rendered with masks) redacted again until no more is
  // found in it.
  std::string Settle(std::string out) const;
  // Mask without the thread's cache of the masks it just wrote.
  std::string MaskUncached(std::string_view kind, std::string_view value) const;
  friend class StreamRedaction;

  std::vector<Rule> rules_;
  std::vector<std::string> secret_names_;
  std::vector<std::string> not_secret_names_;
  size_t entropy_min_length_ = 20;
  double entropy_min_ = 3.5;
  std::unique_ptr<KeywordIndex> keywords_;
  // keyword -> rule index, -1 for a name literal, -2 for a rule's other
  // keyword (Rule::also)
  std::vector<int> keyword_rule_;
  std::vector<bool> word_prefix_;  // keyword -> counts only at a word start when short
  std::string key_;
  uint64_t id_ = 0;  // unique per compiled redactor (the scan memo's key)
};

// A stream's chunks redacted as they come (payload previews): each chunk as
// the continuation of what came before it, so that a secret split across
// capture chunks or across two writes is masked. Keeps, as context, the
// bytes of the stream that a secret could still continue from: the last
// kContext bytes, the run of token bytes the stream ends in and any
// finding that reaches its end (a key block from its BEGIN line), at most
// kMaxContext; nothing after a JSON message's closing brace.
class StreamRedaction {
 public:
  static constexpr size_t kContext = 160;
  static constexpr size_t kMaxContext = 64 * 1024;
  // The bytes a run of token bytes at a chunk's end needs to be masked as
  // the possible first part of a secret ("cut").
  static constexpr size_t kMinCutRun = 8;

  // The redacted preview (at most max_len bytes) of the chunk at offset.
  // Of a long chunk only what the preview keeps and what reaches its end
  // (the next chunk's context) is scanned: every finding that reaches
  // those bytes is the same as in a scan of all of it.
  std::string Preview(const Redactor& r, uint64_t offset, std::string_view data, size_t max_len);
  size_t context_bytes() const { return tail_.size(); }
  // Scans every chunk whole (the reference the tests compare with).
  void set_scan_whole(bool whole) { scan_whole_ = whole; }

 private:
  // The findings of joined (the context and a chunk from `from`) that
  // reach wanted (all of them when null), cleaned, with the "cut" masks of
  // a run of token bytes at a gap's start and at the end.
  static std::vector<Redactor::Finding> Findings(const Redactor& r, std::string_view joined,
                                                 size_t from, bool after_gap,
                                                 const Redactor::Ranges* wanted,
                                                 std::vector<size_t>* blocks);
  // Where the next context starts in joined (n bytes) given its findings;
  // *open: whether a secret found goes on past its end (a finding or a key
  // block reaching it).
  static size_t ContextStart(std::string_view joined, size_t from,
                             const std::vector<Redactor::Finding>& f,
                             const std::vector<size_t>& blocks, bool* open);

  bool scan_whole_ = false;
  bool tail_open_ = false;  // ContextStart's *open for tail_
  std::string tail_;
  uint64_t tail_end_ = UINT64_MAX;
};

// The end of a well-formed mask ([REDACTED:kind:6 hex]) starting at
// text[at], or 0 (a bare prefix is no mask).
size_t MaskEnd(std::string_view text, size_t at);

// The well-formed masks in text, as [begin, end) in order.
std::vector<std::pair<size_t, size_t>> MaskRanges(std::string_view text);

// Compiles the catalogue to check it (regexes, capture groups): "" or the
// error naming the file and rule.
std::string CheckSecretCatalogue(const SecretCatalogue& catalogue);

// The process's redactor: the built-in catalogue with a random key until
// the daemon installs its own (catalogue from rules dirs, key per install).
std::shared_ptr<const Redactor> DefaultRedactor();
void SetDefaultRedactor(std::shared_ptr<const Redactor> r);

// The install's fingerprint key in state_dir/redaction.key (created, 0600,
// 32 random bytes hex, when missing). "" and *err when neither works.
std::string LoadOrCreateRedactionKey(const std::string& state_dir, std::string* err);

// The install's key from state_dir/redaction.key (its line end dropped),
// or "" when there is none.
std::string ReadRedactionKey(const std::string& state_dir);

// 32 random bytes as hex: a key for a run that has no install key.
std::string RandomRedactionKey();

// Shannon entropy of s in bits per byte.
double Entropy(std::string_view s);

}  // namespace agentwatch

#endif  // AGENTWATCH_REDACT_REDACTOR_H_
