// Pages of the list answers over a real pipeline: recorded scenarios
// replayed with the built-in rules, then each list asked for page by page
// with a small page size. The pages together are the whole answer, each
// page stays within its bytes, and the cursors end.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/service.h"
#include "detect/rules.h"
#include "pipeline/pipeline.h"
#include "pipeline/trace_file.h"

namespace agentwatch {
namespace {

constexpr size_t kSmallPage = 4096;

class PagingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pipeline_ = new Pipeline(Pipeline::Options{}, nullptr,
                             [](const v1::Event& ev, const std::vector<uint32_t>& lineage) {
                               hub_->Publish(ev, lineage);
                             });
    RuleSet rules;
    ASSERT_EQ(LoadRules("", &rules), "");
    ASSERT_EQ(pipeline_->SetDetectionRules(rules), "");
    for (const char* name : {"benign-edit-project", "benign-everything-stdio",
                             "fastmcp-key-read-then-post", "server-runs-shell",
                             "rug-pull-after-use", "poisoned-tool-description",
                             "ssh-key-read-then-fetch", "benign-memory-graph"}) {
      TraceReader reader;
      ASSERT_EQ(reader.Open(std::string(AW_SCENARIO_TRACES) + "/" + name + ".awtrace"), "");
      v1::Event ev;
      std::string err;
      while (reader.Next(&ev, &err) == TraceReader::Result::kOk) pipeline_->Process(ev);
    }
    service_ = new AgentWatchService(
        hub_, [] { return v1::Status(); }, &pipeline_->mcp_tracker(), &pipeline_->correlator(),
        nullptr, &pipeline_->engine());
  }
  void TearDown() override { service_->SetPageBytes(AgentWatchService::kPageBytes); }

  static Hub* hub_;
  static Pipeline* pipeline_;
  static AgentWatchService* service_;
};
Hub* PagingTest::hub_ = new Hub(10000);
Pipeline* PagingTest::pipeline_ = nullptr;
AgentWatchService* PagingTest::service_ = nullptr;

TEST_F(PagingTest, CallsPageByCursorToTheWhole) {
  v1::ListCallsRequest req;
  req.set_limit(100000);
  v1::ListCallsResponse whole;
  ASSERT_TRUE(service_->ListCalls(nullptr, &req, &whole).ok());
  ASSERT_GT(whole.ByteSizeLong(), 4 * kSmallPage);  // several pages' worth
  EXPECT_EQ(whole.next_before_call_id(), 0u);
  std::multiset<uint64_t> want;
  for (const auto& c : whole.calls()) want.insert(c.call_id());

  service_->SetPageBytes(kSmallPage);
  std::multiset<uint64_t> got;
  int pages = 0;
  for (;;) {
    v1::ListCallsResponse page;
    ASSERT_TRUE(service_->ListCalls(nullptr, &req, &page).ok());
    ++pages;
    ASSERT_GT(page.calls_size(), 0);
    if (page.calls_size() > 1) EXPECT_LE(page.ByteSizeLong(), kSmallPage);
    for (int i = 1; i < page.calls_size(); ++i)  // oldest first in each page
      EXPECT_LE(page.calls(i - 1).started_ktime_ns(), page.calls(i).started_ktime_ns());
    for (const auto& c : page.calls()) {
      if (req.before_call_id() != 0) EXPECT_LT(c.call_id(), req.before_call_id());
      got.insert(c.call_id());
    }
    if (page.next_before_call_id() == 0) break;
    ASSERT_LT(pages, 10000);
    req.set_before_call_id(page.next_before_call_id());
  }
  EXPECT_GT(pages, 4);
  EXPECT_EQ(got, want);
}

TEST_F(PagingTest, CallsAtTheLimitSayThereIsMore) {
  v1::ListCallsRequest req;
  req.set_limit(3);
  v1::ListCallsResponse first;
  ASSERT_TRUE(service_->ListCalls(nullptr, &req, &first).ok());
  ASSERT_EQ(first.calls_size(), 3);
  ASSERT_NE(first.next_before_call_id(), 0u);
  req.set_before_call_id(first.next_before_call_id());
  v1::ListCallsResponse second;
  ASSERT_TRUE(service_->ListCalls(nullptr, &req, &second).ok());
  ASSERT_GT(second.calls_size(), 0);
  for (const auto& c : second.calls()) EXPECT_LT(c.call_id(), first.next_before_call_id());
}

TEST_F(PagingTest, AlertsPageByCursorToTheWhole) {
  v1::ListAlertsRequest req;
  req.set_limit(100000);
  v1::ListAlertsResponse whole;
  ASSERT_TRUE(service_->ListAlerts(nullptr, &req, &whole).ok());
  ASSERT_GT(whole.alerts_size(), 3);
  EXPECT_EQ(whole.next_before_id(), 0u);
  std::vector<uint64_t> want;
  for (const auto& a : whole.alerts()) want.push_back(a.id());

  // One alert a page: the page's bytes are below any alert's.
  service_->SetPageBytes(64);
  std::vector<uint64_t> got;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10000);
    v1::ListAlertsResponse page;
    ASSERT_TRUE(service_->ListAlerts(nullptr, &req, &page).ok());
    ASSERT_EQ(page.alerts_size(), 1);
    got.push_back(page.alerts(0).id());
    if (page.next_before_id() == 0) break;
    EXPECT_EQ(page.next_before_id(), page.alerts(0).id());
    req.set_before_id(page.next_before_id());
  }
  EXPECT_EQ(got, want);  // newest first, each once
}

TEST_F(PagingTest, ChainsPageByCursorToTheWhole) {
  v1::ListChainsRequest req;
  req.set_limit(100000);
  v1::ListChainsResponse whole;
  ASSERT_TRUE(service_->ListChains(nullptr, &req, &whole).ok());
  ASSERT_GT(whole.chains_size(), 3);
  std::vector<uint64_t> want;
  for (const auto& c : whole.chains()) want.push_back(c.id());
  service_->SetPageBytes(64);
  std::vector<uint64_t> got;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10000);
    v1::ListChainsResponse page;
    ASSERT_TRUE(service_->ListChains(nullptr, &req, &page).ok());
    ASSERT_EQ(page.chains_size(), 1);
    got.push_back(page.chains(0).id());
    if (page.next_before_id() == 0) break;
    req.set_before_id(page.next_before_id());
  }
  EXPECT_EQ(got, want);
}

TEST_F(PagingTest, AChainTooLargeForOnePageIsReadByWindows) {
  // The chain with the most entries.
  v1::ListChainsRequest lreq;
  lreq.set_limit(100000);
  v1::ListChainsResponse list;
  ASSERT_TRUE(service_->ListChains(nullptr, &lreq, &list).ok());
  uint64_t id = 0;
  v1::Chain whole;
  for (const auto& c : list.chains()) {
    v1::GetChainRequest req;
    req.set_id(c.id());
    v1::Chain got;
    ASSERT_TRUE(service_->GetChain(nullptr, &req, &got).ok());
    if (got.entries_size() > whole.entries_size()) {
      whole = got;
      id = c.id();
    }
  }
  ASSERT_GT(whole.entries_size(), 10);
  EXPECT_EQ(whole.entries_total(), 0u);  // it fits one page: no window

  service_->SetPageBytes(kSmallPage);
  v1::GetChainRequest req;
  req.set_id(id);
  v1::Chain first;
  ASSERT_TRUE(service_->GetChain(nullptr, &req, &first).ok());
  ASSERT_LT(first.entries_size(), whole.entries_size());
  EXPECT_EQ(first.entries_total(), static_cast<uint32_t>(whole.entries_size()));
  EXPECT_EQ(first.entries_offset(), 0u);
  std::vector<std::string> got;
  for (const auto& e : first.entries()) got.push_back(e.SerializeAsString());
  int pages = 1;
  while (got.size() < first.entries_total()) {
    req.set_entry_offset(static_cast<uint32_t>(got.size()));
    v1::Chain part;
    ASSERT_TRUE(service_->GetChain(nullptr, &req, &part).ok());
    ASSERT_GT(part.entries_size(), 0);
    EXPECT_EQ(part.entries_offset(), got.size());
    if (part.entries_size() > 1) EXPECT_LE(part.ByteSizeLong(), kSmallPage + 1024);
    for (const auto& e : part.entries()) got.push_back(e.SerializeAsString());
    ++pages;
  }
  EXPECT_GT(pages, 2);
  ASSERT_EQ(got.size(), static_cast<size_t>(whole.entries_size()));
  for (int i = 0; i < whole.entries_size(); ++i)
    EXPECT_EQ(got[i], whole.entries(i).SerializeAsString()) << "entry " << i;
}

TEST_F(PagingTest, AlertLimitsAreChecked) {
  v1::ListAlertsRequest req;
  req.set_limit(100001);
  v1::ListAlertsResponse out;
  EXPECT_EQ(service_->ListAlerts(nullptr, &req, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace agentwatch
