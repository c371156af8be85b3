#include "mcp/jsonrpc.h"

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

TEST(JsonRpcTest, Request) {
  auto p = ParseJsonRpc(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/etc/passwd"}}})");
  ASSERT_EQ(p.status, JsonRpcStatus::kOk) << p.error;
  ASSERT_EQ(p.messages.size(), 1u);
  const auto& m = p.messages[0];
  EXPECT_EQ(m.kind, JsonRpcKind::kRequest);
  EXPECT_EQ(m.id, "7");
  EXPECT_EQ(m.method, "tools/call");
  EXPECT_EQ(m.params,
            R"({"name":"read_file","arguments":{"path":"/etc/passwd"}})");
  EXPECT_FALSE(p.batch);
}

TEST(JsonRpcTest, IdTypesStayDistinct) {
  auto a = ParseJsonRpc(R"({"jsonrpc":"2.0","id":"7","result":{}})");
  auto b = ParseJsonRpc(R"({"jsonrpc":"2.0","id":7,"result":{}})");
  ASSERT_EQ(a.status, JsonRpcStatus::kOk);
  ASSERT_EQ(b.status, JsonRpcStatus::kOk);
  EXPECT_EQ(a.messages[0].id, "\"7\"");
  EXPECT_EQ(b.messages[0].id, "7");
}

TEST(JsonRpcTest, NotificationResultError) {
  auto n = ParseJsonRpc(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}})");
  ASSERT_EQ(n.status, JsonRpcStatus::kOk);
  EXPECT_EQ(n.messages[0].kind, JsonRpcKind::kNotification);
  EXPECT_EQ(n.messages[0].id, "");

  auto r = ParseJsonRpc(
      R"({"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}})");
  ASSERT_EQ(r.status, JsonRpcStatus::kOk);
  EXPECT_EQ(r.messages[0].kind, JsonRpcKind::kResult);
  EXPECT_EQ(r.messages[0].result,
            R"({"content":[{"type":"text","text":"hi"}],"isError":false})");

  auto e = ParseJsonRpc(
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":{"x":1}}})");
  ASSERT_EQ(e.status, JsonRpcStatus::kOk) << e.error;
  EXPECT_EQ(e.messages[0].kind, JsonRpcKind::kError);
  EXPECT_EQ(e.messages[0].id, "null");
  EXPECT_EQ(e.messages[0].error_code, -32700);
  EXPECT_EQ(e.messages[0].error_message, "Parse error");
  EXPECT_EQ(e.messages[0].error_data, R"({"x":1})");
}

TEST(JsonRpcTest, Batch) {
  auto p = ParseJsonRpc(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"bogus":true},{"jsonrpc":"2.0","method":"n"}])");
  ASSERT_EQ(p.status, JsonRpcStatus::kOk);
  EXPECT_TRUE(p.batch);
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.invalid_members, 1u);
  EXPECT_EQ(ParseJsonRpc("[]").status, JsonRpcStatus::kEmptyBatch);
  EXPECT_EQ(ParseJsonRpc("[1,2]").status, JsonRpcStatus::kNotJsonRpc);
}

TEST(JsonRpcTest, MalformedClasses) {
  struct Case {
    const char* in;
    JsonRpcStatus want;
  };
  const Case cases[] = {
      {"", JsonRpcStatus::kInvalidJson},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,", JsonRpcStatus::kInvalidJson},
      {"\x01\x02\xff\xfe", JsonRpcStatus::kInvalidJson},
      {"42", JsonRpcStatus::kNotJsonRpc},
      {R"({"id":1,"method":"x"})", JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"1.0","id":1,"method":"x"})", JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","id":{},"method":"x"})", JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","id":1,"method":5})", JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","id":1,"method":"x","params":3})",
       JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","id":1,"result":1,"error":{}})",
       JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","result":1})", JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","id":1,"error":{"message":"no code"}})",
       JsonRpcStatus::kNotJsonRpc},
      {R"({"jsonrpc":"2.0","id":1})", JsonRpcStatus::kNotJsonRpc},
  };
  for (const auto& c : cases) {
    auto p = ParseJsonRpc(c.in);
    EXPECT_EQ(p.status, c.want) << c.in << " -> " << p.error;
    EXPECT_FALSE(p.error.empty()) << c.in;
  }
  EXPECT_EQ(ParseJsonRpc(std::string(100, ' '), 10).status,
            JsonRpcStatus::kOversize);
}

TEST(JsonRpcTest, EveryPrefixOfAMessageIsRejectedCleanly) {
  const std::string m =
      R"({"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"x","arguments":{"q":"\u00e9\n"}}})";
  for (size_t n = 0; n < m.size(); ++n) {
    auto p = ParseJsonRpc(std::string_view(m).substr(0, n));
    EXPECT_NE(p.status, JsonRpcStatus::kOk) << n;
  }
  EXPECT_EQ(ParseJsonRpc(m).status, JsonRpcStatus::kOk);
}

// Requests a server acts on are decoded whatever their ids and bytes:
// ids past 64 bits kept as their text, invalid UTF-8 replaced; each noted.
TEST(JsonRpcTest, BigIdsAndInvalidUtf8AreDecodedWithANote) {
  for (const std::string id : {"18446744073709551616", "1e400", "-99999999999999999999999"}) {
    auto p = ParseJsonRpc(R"({"jsonrpc":"2.0","id":)" + id +
                          R"(,"method":"tools/call","params":{"name":"t","arguments":{"n":)" + id +
                          "}}}");
    ASSERT_EQ(p.status, JsonRpcStatus::kOk) << id << ": " << p.error;
    EXPECT_EQ(p.messages[0].id, id);
    EXPECT_EQ(p.messages[0].params, R"({"name":"t","arguments":{"n":)" + id + "}}");
    EXPECT_EQ(p.messages[0].note, "numbers out of range kept as text");
    // Its response carries the same id text: they pair.
    auto r = ParseJsonRpc(R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":{}})");
    ASSERT_EQ(r.status, JsonRpcStatus::kOk);
    EXPECT_EQ(r.messages[0].id, id);
  }
  auto u = ParseJsonRpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                        "\"params\":{\"name\":\"t\",\"_meta\":{\"x\":\"a\xff\xc3(b\"}}}");
  ASSERT_EQ(u.status, JsonRpcStatus::kOk) << u.error;
  EXPECT_EQ(u.messages[0].method, "tools/call");
  EXPECT_EQ(u.messages[0].note, "invalid UTF-8 replaced");
  EXPECT_NE(u.messages[0].params.find("a\xEF\xBF\xBD\xEF\xBF\xBD(b"), std::string::npos)
      << u.messages[0].params;
  // A user's string that looks like a marker stays as it was.
  auto mk = ParseJsonRpc("{\"jsonrpc\":\"2.0\",\"id\":1e999,\"method\":\"m\","
                         "\"params\":{\"s\":\"\\u0001n:x\\\"y\",\"t\":\"\xff\"}}");
  ASSERT_EQ(mk.status, JsonRpcStatus::kOk) << mk.error;
  EXPECT_EQ(mk.messages[0].id, "1e999");
  EXPECT_NE(mk.messages[0].params.find(R"("s":"\u0001n:x\"y")"), std::string::npos)
      << mk.messages[0].params;
  // Many out-of-range numbers: one pass, not one per number.
  std::string many = R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[)";
  for (int i = 0; i < 100000; ++i) many += "1e999,";
  many += "1]}}";
  auto big = ParseJsonRpc(many, 1 << 22);
  ASSERT_EQ(big.status, JsonRpcStatus::kOk) << big.error;
  const size_t at = many.find(R"("params":)") + 9;
  EXPECT_EQ(big.messages[0].params, many.substr(at, many.size() - at - 1));
  // Not JSON at all stays an error.
  EXPECT_EQ(ParseJsonRpc("{\"jsonrpc\":\"2.0\",\xff}").status, JsonRpcStatus::kInvalidJson);
  EXPECT_EQ(ParseJsonRpc(R"({"jsonrpc":"2.0","id":5})").status, JsonRpcStatus::kNotJsonRpc);
}

TEST(JsonRpcTest, TheHeadOfACutFrame) {
  const std::string full =
      R"({"jsonrpc":"2.0","id":"w-7","method":"tools/call","params":{"name":"write_file",)"
      R"("arguments":{"path":"/tmp/a","content":")" + std::string(5000, 'x') + R"("}}})";
  for (size_t cut : {size_t{80}, size_t{200}, size_t{3000}}) {
    auto p = ParseJsonRpcHead(std::string_view(full).substr(0, cut));
    ASSERT_EQ(p.status, JsonRpcStatus::kOk) << cut << ": " << p.error;
    const auto& m = p.messages[0];
    EXPECT_EQ(m.kind, JsonRpcKind::kRequest);
    EXPECT_EQ(m.id, "\"w-7\"");
    EXPECT_EQ(m.method, "tools/call");
    EXPECT_EQ(m.params, R"({"name":"write_file"})");
    EXPECT_EQ(m.note, "truncated: decoded from its first " + std::to_string(cut) + " bytes");
  }
  // A result cut in its bulk pairs by its id.
  auto r = ParseJsonRpcHead(R"({"jsonrpc":"2.0","id":12,"result":{"content":[{"type":"text","te)");
  ASSERT_EQ(r.status, JsonRpcStatus::kOk);
  EXPECT_EQ(r.messages[0].kind, JsonRpcKind::kResult);
  EXPECT_EQ(r.messages[0].id, "12");
  // A notification: no id, nothing to pair.
  auto n = ParseJsonRpcHead(R"({"jsonrpc":"2.0","method":"notifications/message","params":{"le)");
  ASSERT_EQ(n.status, JsonRpcStatus::kOk);
  EXPECT_EQ(n.messages[0].kind, JsonRpcKind::kNotification);
  // Cut before anything to go by, or not JSON-RPC.
  EXPECT_NE(ParseJsonRpcHead(R"({"jsonrpc":"2.0","i)").status, JsonRpcStatus::kOk);
  EXPECT_NE(ParseJsonRpcHead("\xff\xfe binary").status, JsonRpcStatus::kOk);
  // Whole params, then the id: still a request; an escaped method name.
  auto late = ParseJsonRpcHead(R"({"jsonrpc":"2.0","method":"tools\/call","params":{"name":"t"},"id":7,"x":"aaa)");
  ASSERT_EQ(late.status, JsonRpcStatus::kOk) << late.error;
  EXPECT_EQ(late.messages[0].kind, JsonRpcKind::kRequest);
  EXPECT_EQ(late.messages[0].id, "7");
  EXPECT_EQ(late.messages[0].method, "tools/call");
  // Members in another order: an id and a result are enough to pair.
  EXPECT_EQ(ParseJsonRpcHead(R"({"id":3,"result":)").status, JsonRpcStatus::kOk);
}

// The end of a long write: the id an SDK writes after the result.
TEST(JsonRpcTest, TheIdFromTheTailOfACutFrame) {
  EXPECT_EQ(JsonRpcIdFromTail(R"(aaaa"}]},"jsonrpc":"2.0","id":42})" "\n"), "42");
  EXPECT_EQ(JsonRpcIdFromTail(R"(x"}]} , "id" : "req-7" } )"), R"("req-7")");
  EXPECT_EQ(JsonRpcIdFromTail(R"(,"id":"a\"b"})"), R"("a\"b")");
  EXPECT_EQ(JsonRpcIdFromTail(R"({"id":1e400})"), "1e400");
  EXPECT_EQ(JsonRpcIdFromTail(R"(]},"id":-3}{"next":1})" "\n" R"({"jsonrpc":"2.0","id":9})"),
            "")
      << "only the cut frame's own end, up to the first newline";
  EXPECT_EQ(JsonRpcIdFromTail(R"(aa"}],"meta":{"id":5}}})"), "") << "a nested object's id";
  EXPECT_EQ(JsonRpcIdFromTail(R"("text":"a,\"id\":5}"}})"), "") << "an id inside a string";
  EXPECT_EQ(JsonRpcIdFromTail(R"(aaaa"}]},"jsonrpc":"2.0"})"), "") << "no id last";
  EXPECT_EQ(JsonRpcIdFromTail(R"(xid":5})"), "") << "a key that only ends in id";
  EXPECT_EQ(JsonRpcIdFromTail(""), "");
  EXPECT_EQ(JsonRpcIdFromTail("}"), "");
  EXPECT_EQ(JsonRpcIdFromTail(R"("id":"})"), "");
}

}  // namespace
}  // namespace agentwatch
