#include "mcp/http1.h"

#include <gtest/gtest.h>

#include <vector>

namespace agentwatch {
namespace {

// Records what the parser reports, in order, as text.
struct Log {
  std::vector<std::string> items;
  std::string body;
  Http1Parser::Callbacks cb() {
    return {
        [this](const HttpHead& h) {
          std::string s = h.request ? "head " + h.method + " " + h.target
                                    : "head " + std::to_string(h.status);
          if (auto* sid = h.Header("mcp-session-id")) s += " sid=" + *sid;
          items.push_back(s);
        },
        [this](std::string_view b) { body.append(b); },
        [this](bool damaged) {
          items.push_back("body " + body + (damaged ? " (damaged)" : ""));
          items.push_back("end");
          body.clear();
        },
        [this](std::string_view why) { items.push_back("error " + std::string(why)); },
    };
  }
};

const std::string kRequests =
    "POST /mcp HTTP/1.1\r\n"
    "Host: 127.0.0.1:3001\r\n"
    "Content-Type: application/json\r\n"
    "Accept: application/json, text/event-stream\r\n"
    "Mcp-Session-Id: s-123\r\n"
    "MCP-Protocol-Version: 2025-06-18\r\n"
    "Content-Length: 46\r\n"
    "\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"
    "GET /mcp HTTP/1.1\r\n"
    "Host: 127.0.0.1:3001\r\n"
    "Last-Event-ID: 42\r\n"
    "\r\n"
    "POST /mcp HTTP/1.1\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5\r\nhello\r\n"
    "6;ext=1\r\n world\r\n"
    "0\r\n"
    "X-Trailer: t\r\n"
    "\r\n";

const std::vector<std::string> kRequestLog = {
    "head POST /mcp sid=s-123",
    "body {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}",
    "end",
    "head GET /mcp",
    "body ",
    "end",
    "head POST /mcp",
    "body hello world",
    "end",
};

TEST(Http1Test, PipelinedRequests) {
  Http1Parser p(Http1Parser::Direction::kRequests);
  Log log;
  p.Feed(kRequests, log.cb());
  EXPECT_EQ(log.items, kRequestLog);
  EXPECT_EQ(p.counters().messages, 3u);
  EXPECT_EQ(p.state(), Http1Parser::State::kStartLine);
}

TEST(Http1Test, RequestsSplitAtEveryPosition) {
  std::string_view s = kRequests;
  for (size_t i = 0; i <= s.size(); ++i) {
    Http1Parser p(Http1Parser::Direction::kRequests);
    Log log;
    p.Feed(s.substr(0, i), log.cb());
    p.Feed(s.substr(i), log.cb());
    EXPECT_EQ(log.items, kRequestLog) << "split at " << i;
  }
}

const std::string kResponses =
    "HTTP/1.1 202 Accepted\r\n"
    "Content-Length: 0\r\n"
    "\r\n"
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Mcp-Session-Id: s-123\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "1f\r\n"
    "event: message\ndata: {\"id\":1}\n\n\r\n"
    "0\r\n\r\n"
    "HTTP/1.1 204 No Content\r\n"
    "\r\n"
    "HTTP/1.0 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    "{\"until\":\"close\"}";

TEST(Http1Test, ResponsesSplitAtEveryPosition) {
  const std::vector<std::string> want = {
      "head 202",        "body ", "end",
      "head 200 sid=s-123", "body event: message\ndata: {\"id\":1}\n\n", "end",
      "head 204",        "body ", "end",
      "head 200",        "body {\"until\":\"close\"}", "end",
  };
  std::string_view s = kResponses;
  for (size_t i = 0; i <= s.size(); ++i) {
    Http1Parser p(Http1Parser::Direction::kResponses);
    Log log;
    p.Feed(s.substr(0, i), log.cb());
    p.Feed(s.substr(i), log.cb());
    p.Close(log.cb());
    EXPECT_EQ(log.items, want) << "split at " << i;
  }
}

TEST(Http1Test, HeadResponseHasNoBody) {
  Http1Parser p(Http1Parser::Direction::kResponses);
  Log log;
  p.ExpectHeadResponse();
  p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n"
         "Content-Length: 2\r\n\r\nok",
         log.cb());
  EXPECT_EQ(log.items, (std::vector<std::string>{"head 200", "body ", "end",
                                                 "head 200", "body ok", "end"}));
}

TEST(Http1Test, GapInsideBodyShortensIt) {
  Http1Parser p(Http1Parser::Direction::kRequests);
  Log log;
  p.Feed("POST /mcp HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123", log.cb());
  p.Gap(3, log.cb());
  p.Feed("789POST /x HTTP/1.1\r\n\r\n", log.cb());
  EXPECT_EQ(log.items,
            (std::vector<std::string>{"head POST /mcp", "body 0123789 (damaged)",
                                      "end", "head POST /x", "body ", "end"}));
}

TEST(Http1Test, GapInHeadersResyncsAtNextRequest) {
  Http1Parser p(Http1Parser::Direction::kRequests);
  Log log;
  p.Feed("POST /mcp HTTP/1.1\r\nHost: a\r\n", log.cb());
  p.Gap(100, log.cb());
  p.Feed("garbage: tail of a body\r\n{\"x\":1}\r\nGET /mcp HTTP/1.1\r\n\r\n",
         log.cb());
  EXPECT_EQ(log.items,
            (std::vector<std::string>{"head GET /mcp", "body ", "end"}));
  EXPECT_GT(p.counters().resync_skipped, 0u);
}

// A gap that takes the headers of a 200 response is said: the call must
// not wait for a response that went into it. A gap between responses, or
// in a 202's or 1xx's headers, is not (it may have answered no call).
TEST(Http1Test, AResponseLostInAGapIsSaid) {
  {
    Http1Parser p(Http1Parser::Direction::kResponses);
    Log log;
    p.Feed("HTTP/1.1 200 OK\r\nContent-Ty", log.cb());
    p.Gap(500, log.cb());
    p.Feed("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", log.cb());
    EXPECT_EQ(log.items, (std::vector<std::string>{"error HTTP response head lost in a stream gap",
                                                   "head 202", "body ", "end"}));
  }
  for (const char* before : {"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
                             "HTTP/1.1 202 Accepted\r\nContent-Ty", "HTTP/1.1 100 Continue\r\n"}) {
    Http1Parser p(Http1Parser::Direction::kResponses);
    Log log;
    p.Feed(before, log.cb());
    p.Gap(300, log.cb());
    for (const auto& item : log.items) EXPECT_EQ(item.find("error"), std::string::npos) << before;
  }
  {
    // Inside a body it is the body's loss (ended damaged), not a second one.
    Http1Parser p(Http1Parser::Direction::kResponses);
    Log log;
    p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01", log.cb());
    p.Gap(3, log.cb());
    EXPECT_EQ(log.items, (std::vector<std::string>{"head 200"}));
  }
}

TEST(Http1Test, MalformedInputIsReportedAndResynced) {
  struct Case {
    const char* in;
    const char* error;
  };
  const Case cases[] = {
      {"\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\n", "not an HTTP/1.x start line"},
      {"POST /mcp HTTP/2.0\r\n\r\n", "not an HTTP/1.x start line"},
      {"POST /mcp HTTP/1.1\r\nbad header\r\n\r\n", "malformed header line"},
      {"POST /mcp HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "bad Content-Length '12x'"},
      {"POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"},
  };
  for (const auto& c : cases) {
    Http1Parser p(Http1Parser::Direction::kRequests);
    Log log;
    p.Feed(c.in, log.cb());
    ASSERT_FALSE(log.items.empty()) << c.in;
    EXPECT_EQ(log.items.back(), std::string("error ") + c.error) << c.in;
    // and it recovers at the next request
    log.items.clear();
    p.Feed("\r\nGET /ok HTTP/1.1\r\n\r\n", log.cb());
    EXPECT_EQ(log.items, (std::vector<std::string>{"head GET /ok", "body ", "end"}))
        << c.in;
  }
}

TEST(Http1Test, HeaderSectionIsBounded) {
  Http1Parser::Limits l;
  l.max_head = 256;
  Http1Parser p(Http1Parser::Direction::kRequests, l);
  Log log;
  p.Feed("POST /mcp HTTP/1.1\r\nX-Big: " + std::string(1000, 'a') + "\r\n\r\n",
         log.cb());
  ASSERT_FALSE(log.items.empty());
  EXPECT_EQ(log.items[0], "error header section too large");
}

}  // namespace
}  // namespace agentwatch
