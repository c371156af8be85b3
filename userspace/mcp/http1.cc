#include "mcp/http1.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace agentwatch {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) !=
                                 std::string_view::npos))
      return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool ParseVersion(std::string_view v, int* minor) {
  if (v == "HTTP/1.1") {
    *minor = 1;
  } else if (v == "HTTP/1.0") {
    *minor = 0;
  } else {
    return false;
  }
  return true;
}

constexpr std::string_view kMethods[] = {"GET",  "POST",    "PUT",   "DELETE",
                                         "HEAD", "OPTIONS", "PATCH", "CONNECT",
                                         "TRACE"};

}  // namespace

const std::string* HttpHead::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool Http1Parser::StartLine(std::string_view line) {
  head_ = HttpHead{};
  head_.request = dir_ == Direction::kRequests;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  if (head_.request) {
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return false;
    head_.method = std::string(line.substr(0, sp1));
    head_.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    return IsToken(head_.method) && !head_.target.empty() &&
           ParseVersion(line.substr(sp2 + 1), &head_.version_minor);
  }
  if (!ParseVersion(line.substr(0, sp1), &head_.version_minor)) return false;
  std::string_view rest = line.substr(sp1 + 1);
  if (rest.size() < 3) return false;
  int status = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + 3, status);
  if (ec != std::errc() || p != rest.data() + 3 || status < 100 || status > 999)
    return false;
  if (rest.size() > 3 && rest[3] != ' ') return false;
  head_.status = status;
  head_.reason = rest.size() > 4 ? std::string(rest.substr(4)) : "";
  return true;
}

bool Http1Parser::HeaderLine(std::string_view line) {
  if (line[0] == ' ' || line[0] == '\t') return false;  // obsolete folding
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return false;
  if (head_.headers.size() >= limits_.max_headers) return false;
  head_.headers.emplace_back(Lower(name),
                             std::string(Trim(line.substr(colon + 1))));
  return true;
}

void Http1Parser::Fail(std::string_view why, const Callbacks& cb) {
  ++counters_.errors;
  if (cb.on_error) cb.on_error(why);
  line_.clear();
  state_ = State::kResync;
}

void Http1Parser::End(const Callbacks& cb) {
  ++counters_.messages;
  if (cb.on_end) cb.on_end(damaged_);
  damaged_ = false;
  state_ = State::kStartLine;
}

void Http1Parser::HeadersDone(const Callbacks& cb) {
  if (cb.on_head) cb.on_head(head_);
  const std::string* te = head_.Header("transfer-encoding");
  const std::string* cl = head_.Header("content-length");
  bool chunked = false;
  if (te != nullptr) {
    std::string t = Lower(*te);
    chunked = t.size() >= 7 && t.compare(t.size() - 7, 7, "chunked") == 0;
  }
  bool no_body = false;
  if (!head_.request) {
    no_body = head_response_ || head_.status / 100 == 1 ||
              head_.status == 204 || head_.status == 304;
    head_response_ = false;
  }
  if (no_body) {
    End(cb);
    return;
  }
  if (chunked) {
    state_ = State::kChunkSize;
    return;
  }
  if (cl != nullptr) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (ec != std::errc() || p != cl->data() + cl->size()) {
      Fail(fmt::format("bad Content-Length '{}'", *cl), cb);
      return;
    }
    remaining_ = n;
    if (n == 0) {
      End(cb);
    } else {
      state_ = State::kBody;
    }
    return;
  }
  if (head_.request) {
    End(cb);  // a request without length has no body
  } else {
    state_ = State::kBodyUntilClose;
  }
}

size_t Http1Parser::Resync(std::string_view data) {
  // A start line begins after a line break (or at the very start).
  for (size_t i = 0; i < data.size(); ++i) {
    if (i > 0 && data[i - 1] != '\n') continue;
    std::string_view rest = data.substr(i);
    bool match = false;
    if (dir_ == Direction::kResponses) {
      // A prefix of "HTTP/1." at the end of the data may complete later.
      constexpr std::string_view kVersion = "HTTP/1.";
      match = kVersion.starts_with(rest.substr(0, kVersion.size()));
    } else {
      // "METHOD " (or a prefix of it at the end of the data), without
      // building strings at every byte position scanned.
      for (auto m : kMethods) {
        if (m.starts_with(rest.substr(0, m.size())) &&
            (rest.size() <= m.size() || rest[m.size()] == ' ')) {
          match = true;
          break;
        }
      }
    }
    if (match) return i;
  }
  return data.size();
}

void Http1Parser::Feed(std::string_view data, const Callbacks& cb) {
  while (!data.empty()) {
    bool more = true;  // false: the data is used up, or waits for more
    switch (state_) {
      case State::kResync:
        more = FeedResync(&data);
        break;
      case State::kStartLine:
      case State::kHeaders:
      case State::kChunkSize:
      case State::kTrailers:
        more = FeedLine(&data, cb);
        break;
      case State::kBody:
      case State::kChunkData:
        FeedBody(&data, cb);
        break;
      case State::kChunkDataCrlf:
        more = FeedChunkDataCrlf(&data, cb);
        break;
      case State::kBodyUntilClose:
        if (cb.on_body) cb.on_body(data);
        return;
    }
    if (!more) return;
  }
}

bool Http1Parser::FeedResync(std::string_view* data) {
  size_t at = Resync(*data);
  counters_.resync_skipped += at;
  data->remove_prefix(at);
  if (data->empty()) return false;
  state_ = State::kStartLine;
  head_bytes_ = 0;
  return true;
}

bool Http1Parser::FeedLine(std::string_view* data, const Callbacks& cb) {
  size_t nl = data->find('\n');
  std::string_view piece =
      nl == std::string_view::npos ? *data : data->substr(0, nl);
  head_bytes_ += piece.size() + 1;
  if (head_bytes_ > limits_.max_head) {
    Fail("header section too large", cb);
    data->remove_prefix(nl == std::string_view::npos ? data->size() : nl + 1);
    return true;
  }
  if (nl == std::string_view::npos) {
    line_.append(*data);
    return false;
  }
  line_.append(piece);
  data->remove_prefix(nl + 1);
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (state_ == State::kStartLine) {
    OnStartLine(line, cb);
  } else if (state_ == State::kHeaders) {
    OnHeaderLine(line, cb);
  } else if (state_ == State::kChunkSize) {
    OnChunkSizeLine(line, cb);
  } else {
    OnTrailerLine(line, cb);
  }
  return true;
}

void Http1Parser::OnStartLine(std::string_view line, const Callbacks& cb) {
  if (line.empty()) {  // tolerated blank lines between messages
    line_.clear();
    head_bytes_ = 0;
    return;
  }
  if (!StartLine(line)) {
    line_.clear();
    Fail("not an HTTP/1.x start line", cb);
    return;
  }
  state_ = State::kHeaders;
  line_.clear();
}

void Http1Parser::OnHeaderLine(std::string_view line, const Callbacks& cb) {
  if (line.empty()) {
    line_.clear();
    head_bytes_ = 0;
    HeadersDone(cb);
    return;
  }
  if (!HeaderLine(line)) {
    line_.clear();
    Fail("malformed header line", cb);
    return;
  }
  line_.clear();
}

void Http1Parser::OnChunkSizeLine(std::string_view line, const Callbacks& cb) {
  std::string_view hex = line.substr(0, line.find(';'));
  hex = Trim(hex);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), n, 16);
  if (hex.empty() || ec != std::errc() || p != hex.data() + hex.size()) {
    line_.clear();
    Fail("bad chunk size", cb);
    return;
  }
  head_bytes_ = 0;
  remaining_ = n;
  state_ = n == 0 ? State::kTrailers : State::kChunkData;
  line_.clear();
}

void Http1Parser::OnTrailerLine(std::string_view line, const Callbacks& cb) {
  if (line.empty()) {
    line_.clear();
    head_bytes_ = 0;
    End(cb);
    return;
  }
  line_.clear();  // trailers are not kept
}

void Http1Parser::FeedBody(std::string_view* data, const Callbacks& cb) {
  size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data->size()));
  if (cb.on_body && n > 0) cb.on_body(data->substr(0, n));
  remaining_ -= n;
  data->remove_prefix(n);
  if (remaining_ == 0) {
    if (state_ == State::kBody) {
      End(cb);
    } else {
      state_ = State::kChunkDataCrlf;
    }
  }
}

bool Http1Parser::FeedChunkDataCrlf(std::string_view* data, const Callbacks& cb) {
  // The CRLF after chunk data; tolerate a bare LF.
  if ((*data)[0] == '\r') {
    data->remove_prefix(1);
    if (data->empty()) return false;  // the LF comes next
  }
  if ((*data)[0] != '\n') {
    Fail("chunk data not followed by CRLF", cb);
    return true;
  }
  data->remove_prefix(1);
  state_ = State::kChunkSize;
  return true;
}

void Http1Parser::Gap(uint64_t n, const Callbacks& cb) {
  ++counters_.gaps;
  // A 200 response whose headers the gap took is said lost: its call must
  // not wait for it. (Not a gap between responses, nor a 202 or 1xx: what
  // fell in it may have answered no call, and the call's own answer may
  // still come. A lost request has no id to say; the gap is counted.)
  if (dir_ == Direction::kResponses && n > 0 && state_ == State::kHeaders &&
      head_.status == 200) {
    ++counters_.errors;
    if (cb.on_error) cb.on_error("HTTP response head lost in a stream gap");
  }
  if (state_ == State::kBody && n < remaining_) {
    remaining_ -= n;
    damaged_ = true;
    return;
  }
  if (state_ == State::kBodyUntilClose) {
    damaged_ = true;
    return;
  }
  if (state_ == State::kBody || state_ == State::kChunkData ||
      state_ == State::kChunkDataCrlf || state_ == State::kChunkSize ||
      state_ == State::kTrailers) {
    damaged_ = true;
    End(cb);  // what came of the body was delivered; the rest is lost
  }
  line_.clear();
  head_bytes_ = 0;
  state_ = State::kResync;
}

void Http1Parser::Close(const Callbacks& cb) {
  if (state_ == State::kBodyUntilClose) {
    End(cb);
  } else if (state_ != State::kStartLine && state_ != State::kResync) {
    damaged_ = true;
    End(cb);
  }
  state_ = State::kStartLine;
}

}  // namespace agentwatch
