// The gRPC API over a real unix socket: status, event streaming with
// filters, the health service, server reflection and the socket's mode.
#include "api/service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "health_client.grpc.pb.h"
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>

#include "testing/events.h"

namespace agentwatch {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aw-api-XXXXXX";
    dir_ = mkdtemp(tmpl);
    endpoint_ = "unix://" + dir_ + "/run/aw.sock";
    service_ = std::make_unique<AgentWatchService>(&hub_, [] {
      v1::Status s;
      s.set_version("test");
      s.set_mode("live");
      return s;
    });
    ASSERT_EQ(server_.Start(endpoint_, service_.get()), "");
    channel_ = grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials());
    stub_ = v1::AgentWatch::NewStub(channel_);
  }
  void TearDown() override {
    server_.Shutdown();
    std::filesystem::remove_all(dir_);
  }

  v1::Event Ev(uint32_t pid, v1::EventType t) { return events::Event(t).Seq(++seq_).Pid(pid); }

  std::string dir_, endpoint_;
  Hub hub_{100};
  std::unique_ptr<AgentWatchService> service_;
  ApiServer server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentWatch::Stub> stub_;
  uint64_t seq_ = 0;
};

TEST_F(ApiTest, SocketIsNotWorldAccessible) {
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/run/aw.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u);
}

TEST_F(ApiTest, GetStatus) {
  grpc::ClientContext ctx;
  v1::Status s;
  ASSERT_TRUE(stub_->GetStatus(&ctx, {}, &s).ok());
  EXPECT_EQ(s.version(), "test");
}

TEST_F(ApiTest, StreamBacklogFiltered) {
  hub_.Publish(Ev(10, v1::EVENT_TYPE_EXEC), {10, 1});
  hub_.Publish(Ev(11, v1::EVENT_TYPE_FILE_OPEN), {11, 10, 1});
  hub_.Publish(Ev(20, v1::EVENT_TYPE_FILE_OPEN), {20, 1});
  v1::StreamEventsRequest req;
  req.add_pids(10);
  req.add_types(v1::EVENT_TYPE_FILE_OPEN);
  req.set_backlog(100);
  grpc::ClientContext ctx;
  auto r = stub_->StreamEvents(&ctx, req);
  v1::Event e;
  std::vector<uint32_t> pids;
  while (r->Read(&e)) pids.push_back(e.process().pid());
  EXPECT_TRUE(r->Finish().ok());
  EXPECT_EQ(pids, std::vector<uint32_t>{11});
}

TEST_F(ApiTest, StreamFollowsLiveEvents) {
  v1::StreamEventsRequest req;
  req.set_follow(true);
  grpc::ClientContext ctx;
  auto r = stub_->StreamEvents(&ctx, req);
  // Publish until the subscription is registered and the event arrives.
  std::thread pub([&] {
    for (int i = 0; i < 100 && hub_.subscribers() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hub_.Publish(Ev(42, v1::EVENT_TYPE_EXEC), {42});
  });
  v1::Event e;
  ASSERT_TRUE(r->Read(&e));
  EXPECT_EQ(e.process().pid(), 42u);
  ctx.TryCancel();
  pub.join();
  r->Finish();
}

TEST_F(ApiTest, BadTypeIsInvalidArgument) {
  v1::StreamEventsRequest req;
  req.add_types(static_cast<v1::EventType>(12345));
  grpc::ClientContext ctx;
  auto r = stub_->StreamEvents(&ctx, req);
  v1::Event e;
  EXPECT_FALSE(r->Read(&e));
  EXPECT_EQ(r->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ApiTest, HealthService) {
  auto h = grpc::health::v1::Health::NewStub(channel_);
  for (const char* svc : {"", "agentwatch.v1.AgentWatch"}) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(svc);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(h->Check(&ctx, req, &resp).ok()) << svc;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  server_.SetServing(false);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(h->Check(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

// What `grpcurl list` does: a ServerReflectionInfo stream with one
// list_services request. The message types come from the generated pool
// (libgrpc++_reflection registers them); the call is a generic one.
TEST_F(ApiTest, ReflectionListsServices) {
  namespace pb = google::protobuf;
  const pb::Descriptor* req_d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
      "grpc.reflection.v1alpha.ServerReflectionRequest");
  const pb::Descriptor* resp_d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
      "grpc.reflection.v1alpha.ServerReflectionResponse");
  ASSERT_NE(req_d, nullptr);
  ASSERT_NE(resp_d, nullptr);
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> req(factory.GetPrototype(req_d)->New());
  req->GetReflection()->SetString(req.get(), req_d->FindFieldByName("list_services"), "");
  std::string wire = req->SerializeAsString();

  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  void* tag;
  bool ok;
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice slice(wire);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  std::unique_ptr<pb::Message> resp(factory.GetPrototype(resp_d)->New());
  ASSERT_TRUE(resp->ParseFromString(bytes));
  const pb::Message& list = resp->GetReflection()->GetMessage(
      *resp, resp_d->FindFieldByName("list_services_response"));
  const pb::FieldDescriptor* service_f = list.GetDescriptor()->FindFieldByName("service");
  std::set<std::string> names;
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_f); ++i) {
    const pb::Message& svc = list.GetReflection()->GetRepeatedMessage(list, service_f, i);
    names.insert(svc.GetReflection()->GetString(svc, svc.GetDescriptor()->FindFieldByName("name")));
  }
  EXPECT_TRUE(names.count("agentwatch.v1.AgentWatch")) << resp->ShortDebugString();
  EXPECT_TRUE(names.count("grpc.health.v1.Health")) << resp->ShortDebugString();
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(st.ok()) << st.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace agentwatch
