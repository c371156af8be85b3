// A stream's chunks redacted as they come (payload previews): each chunk as
// the continuation of what came before it, scanning of a long chunk only
// what its preview shows and what reaches its end.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "redact/redactor.h"
#include "redact/redactor_internal.h"

namespace agentwatch {

std::vector<Redactor::Finding> StreamRedaction::Findings(const Redactor& r, std::string_view joined,
                                                         size_t from, bool after_gap,
                                                         const Redactor::Ranges* wanted,
                                                         std::vector<size_t>* blocks) {
  const size_t n = joined.size();
  std::vector<Redactor::Finding> f;
  blocks->clear();
  thread_local Redactor::Ranges masks;
  r.FindIn(joined, &f, blocks, wanted, &masks);
  f = r.Clean(joined, std::move(f), &masks);
  // After bytes that were not seen (a capture gap, or a stream first seen
  // in its middle), the run of token bytes the chunk starts with may be
  // the rest of a secret: masked as "cut".
  if (after_gap) {
    size_t lead = 0;
    while (lead < n && TokenByte(static_cast<unsigned char>(joined[lead]))) ++lead;
    const bool covered = !f.empty() && f.front().begin == 0;
    if (lead >= kMinCutRun && !covered) {
      f.push_back({0, lead, "cut", std::string(joined.substr(0, lead))});
      f = MergeFindings(std::move(f));
    }
  }
  // The run of token bytes the stream ends in may be the first part of a
  // secret that the next bytes complete: masked as "cut".
  size_t run = n;
  while (run > from && TokenByte(static_cast<unsigned char>(joined[run - 1]))) --run;
  const bool covered = !f.empty() && f.back().end == n;
  if (n - run >= kMinCutRun && !covered) {
    f.push_back({run, n, "cut", std::string(joined.substr(run))});
    f = MergeFindings(std::move(f));
  }
  return f;
}

size_t StreamRedaction::ContextStart(std::string_view joined, size_t from,
                                     const std::vector<Redactor::Finding>& f,
                                     const std::vector<size_t>& blocks, bool* open_out) {
  // The last kContext bytes, and before them what a secret reaching the
  // end began with: the run of token bytes the stream ends in, the name
  // before a value (kContext more), a match's whole start, a key block's
  // header whose block has not ended.
  const size_t n = joined.size();
  auto back = [](size_t at) { return at > kContext ? at - kContext : 0; };
  size_t keep = back(n);
  bool open = false;
  size_t run = n;
  while (run > from && TokenByte(static_cast<unsigned char>(joined[run - 1]))) --run;
  if (run < n) {
    keep = std::min(keep, back(run));
    open = true;
  }
  bool secret = false;  // a finding or a key block reaches the end
  for (const auto& x : f) {
    if (x.end >= n) {
      keep = std::min(keep, back(x.start()));
      open = secret = true;
    }
  }
  for (size_t h : blocks) {
    bool closed = false;
    for (const auto& x : f) {
      if (x.end < n && x.start() + kContext >= h && x.start() <= h + kContext) closed = true;
    }
    if (!closed) {
      keep = std::min(keep, h > kBlockLead ? h - kBlockLead : 0);
      open = secret = true;
    }
  }
  // After a JSON message's end ('}' and line ends) nothing continues.
  size_t last = n;
  while (last > from && (joined[last - 1] == '\n' || joined[last - 1] == '\r')) --last;
  if (!open && last > from && joined[last - 1] == '}') keep = n;
  *open_out = secret;
  return keep;
}

std::string StreamRedaction::Preview(const Redactor& r, uint64_t offset, std::string_view data,
                                     size_t max_len) {
  const bool continues = offset == tail_end_ && !tail_.empty();
  // White space alone that continues the stream (a chunked body's "\r\n",
  // a line end written on its own): no secret is white space only, and
  // one that spans it is masked when its other bytes come, with it in the
  // context. Shown as it is; the context keeps it whole, to twice its
  // usual length (then the scan below cuts it again).
  // Not inside a secret the context holds the start of (the words of a
  // quoted password, a key block's lines): there its shape would show.
  if (continues && !tail_open_ && !data.empty() && data.size() <= max_len &&
      tail_.size() + data.size() <= 2 * kContext &&
      std::all_of(data.begin(), data.end(),
                  [](char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; })) {
    tail_.append(data);
    tail_end_ = offset + data.size();
    return std::string(data);
  }
  // The context and the chunk joined (the chunk alone when there is no
  // context: no copy).
  std::string buf;
  if (continues) {
    buf = std::move(tail_);
    buf.append(data);
  }
  tail_.clear();
  const std::string_view joined = continues ? std::string_view(buf) : data;
  const size_t from = continues ? joined.size() - data.size() : 0;
  const size_t n = joined.size();
  const bool after_gap = offset != tail_end_ && offset != 0;
  // What the preview can show (the bytes Render writes, and one more) and
  // as much again for masks that stand for more bytes than they take, and
  // the stream's last byte (a secret reaching it makes the next context):
  // of a long chunk only the findings that reach them are looked for.
  const size_t shown = from + 2 * (max_len + 1);
  const bool partial = !scan_whole_ && shown + kContext < n;
  const Redactor::Ranges wanted = {{from, shown}, {n - 1, n}};
  thread_local std::vector<size_t> blocks;
  std::vector<Redactor::Finding> f =
      Findings(r, joined, from, after_gap, partial ? &wanted : nullptr, &blocks);
  size_t consumed = 0;
  std::string out = r.Render(joined, f, from, max_len, &consumed);
  if (partial && consumed > shown) {
    // A mask ran past what was scanned for (a long secret): the rest of
    // what is shown could hold a finding, so all of it is scanned.
    f = Findings(r, joined, from, after_gap, nullptr, &blocks);
    out = r.Render(joined, f, from, max_len, &consumed);
  }
  std::string preview = CutRendered(std::move(out), max_len, n - consumed);
  r.NoteClean(preview);
  // Kept: from the context's start, its head and its last bytes when long
  // (a key block's header and where it has got to).
  const std::string_view rest = joined.substr(ContextStart(joined, from, f, blocks, &tail_open_));
  if (rest.size() > kMaxContext) {
    tail_.assign(rest.substr(0, kMaxContext / 16));
    tail_.append(rest.substr(rest.size() - (kMaxContext - kMaxContext / 16)));
  } else {
    tail_.assign(rest);
  }
  tail_end_ = offset + data.size();
  return preview;
}

}  // namespace agentwatch
