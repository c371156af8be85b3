// The CLI's paging against a daemon that answers two items a page: the
// verbs get the whole answer, in order, up to their limit.
#include "cli/paging.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

namespace agentwatch::cli {
namespace {

constexpr int kPerPage = 2;

// A daemon's list answers over fixed records, kPerPage a page.
class PagedService final : public v1::AgentWatch::Service {
 public:
  PagedService() {
    for (uint64_t id = 1; id <= 9; ++id) {
      v1::McpCall c;
      c.set_call_id(id);
      c.set_started_ktime_ns(1000 - id);  // started in the reverse order
      calls_.push_back(c);
      v1::Alert a;
      a.set_id(id);
      alerts_.push_back(a);
      v1::Chain ch;
      ch.set_id(id);
      chains_.push_back(ch);
      chain_.add_entries()->mutable_call()->set_call_id(id);
    }
    chain_.set_id(7);
  }
  grpc::Status ListCalls(grpc::ServerContext*, const v1::ListCallsRequest* req,
                         v1::ListCallsResponse* out) override {
    ++asked;
    int n = 0;
    for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
      if (req->before_call_id() != 0 && it->call_id() >= req->before_call_id()) continue;
      if (n == std::min<int>(kPerPage, req->limit())) {
        out->set_next_before_call_id(out->calls(out->calls_size() - 1).call_id());
        break;
      }
      *out->add_calls() = *it;
      ++n;
    }
    return grpc::Status::OK;
  }
  grpc::Status ListAlerts(grpc::ServerContext*, const v1::ListAlertsRequest* req,
                          v1::ListAlertsResponse* out) override {
    ++asked;
    for (auto it = alerts_.rbegin(); it != alerts_.rend(); ++it) {
      if (req->before_id() != 0 && it->id() >= req->before_id()) continue;
      if (out->alerts_size() == std::min<int>(kPerPage, req->limit())) {
        out->set_next_before_id(out->alerts(out->alerts_size() - 1).id());
        break;
      }
      *out->add_alerts() = *it;
    }
    return grpc::Status::OK;
  }
  grpc::Status ListChains(grpc::ServerContext*, const v1::ListChainsRequest* req,
                          v1::ListChainsResponse* out) override {
    ++asked;
    for (auto it = chains_.rbegin(); it != chains_.rend(); ++it) {
      if (req->before_id() != 0 && it->id() >= req->before_id()) continue;
      if (out->chains_size() == std::min<int>(kPerPage, req->limit())) {
        out->set_next_before_id(out->chains(out->chains_size() - 1).id());
        break;
      }
      *out->add_chains() = *it;
    }
    return grpc::Status::OK;
  }
  grpc::Status GetChain(grpc::ServerContext*, const v1::GetChainRequest* req,
                        v1::Chain* out) override {
    ++asked;
    if (req->id() != chain_.id()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no chain");
    *out = chain_;
    out->clear_entries();
    const int from = static_cast<int>(req->entry_offset());
    for (int i = from; i < chain_.entries_size() && i < from + kPerPage; ++i)
      *out->add_entries() = chain_.entries(i);
    out->set_entries_total(static_cast<uint32_t>(chain_.entries_size()));
    out->set_entries_offset(static_cast<uint32_t>(from));
    return grpc::Status::OK;
  }
  int asked = 0;

 private:
  std::vector<v1::McpCall> calls_;
  std::vector<v1::Alert> alerts_;
  std::vector<v1::Chain> chains_;
  v1::Chain chain_;
};

class PagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::AgentWatch::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  PagedService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgentWatch::Stub> stub_;
};

TEST_F(PagingTest, CallsAreAllGatheredInStartOrder) {
  v1::ListCallsRequest req;
  req.set_limit(100000);
  std::vector<v1::McpCall> calls;
  ASSERT_TRUE(ListAllCalls(*stub_, req, &calls).ok());
  ASSERT_EQ(calls.size(), 9u);
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].call_id(), 9 - i);
  EXPECT_EQ(service_.asked, 5);
}

TEST_F(PagingTest, CallsStopAtTheLimit) {
  v1::ListCallsRequest req;
  req.set_limit(3);
  std::vector<v1::McpCall> calls;
  ASSERT_TRUE(ListAllCalls(*stub_, req, &calls).ok());
  ASSERT_EQ(calls.size(), 3u);  // the newest three, in start order
  EXPECT_EQ(calls[0].call_id(), 9u);
  EXPECT_EQ(calls[2].call_id(), 7u);
  EXPECT_EQ(service_.asked, 2);
}

TEST_F(PagingTest, AlertsNewestFirstAndWhetherThereIsMore) {
  v1::ListAlertsRequest req;
  req.set_limit(5);
  std::vector<v1::Alert> alerts;
  bool more = false;
  ASSERT_TRUE(ListAllAlerts(*stub_, req, &alerts, &more).ok());
  ASSERT_EQ(alerts.size(), 5u);
  for (size_t i = 0; i < alerts.size(); ++i) EXPECT_EQ(alerts[i].id(), 9 - i);
  EXPECT_TRUE(more);
  req.set_limit(100);
  ASSERT_TRUE(ListAllAlerts(*stub_, req, &alerts, &more).ok());
  EXPECT_EQ(alerts.size(), 9u);
  EXPECT_FALSE(more);
}

TEST_F(PagingTest, ChainsGiveTheCursorPastThem) {
  v1::ListChainsRequest req;
  req.set_limit(4);
  std::vector<v1::Chain> chains;
  uint64_t next = 0;
  ASSERT_TRUE(ListAllChains(*stub_, req, &chains, &next).ok());
  ASSERT_EQ(chains.size(), 4u);
  EXPECT_EQ(chains.back().id(), 6u);
  EXPECT_EQ(next, 6u);
  req.set_limit(0);  // the default, 100
  ASSERT_TRUE(ListAllChains(*stub_, req, &chains, &next).ok());
  EXPECT_EQ(chains.size(), 9u);
  EXPECT_EQ(next, 0u);
}

TEST_F(PagingTest, AChainIsReassembledFromItsWindows) {
  v1::Chain c;
  ASSERT_TRUE(GetWholeChain(*stub_, 7, &c).ok());
  ASSERT_EQ(c.entries_size(), 9);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(c.entries(i).call().call_id(), i + 1u);
  EXPECT_EQ(c.entries_total(), 0u);  // a whole chain, no window
  EXPECT_EQ(service_.asked, 5);
  EXPECT_EQ(GetWholeChain(*stub_, 8, &c).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace agentwatch::cli
