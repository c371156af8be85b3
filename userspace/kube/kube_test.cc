#include "kube/kube.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

std::string ReadTestdata(const std::string& name) {
  std::ifstream f(std::string(AW_KUBE_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(KubeTest, ParsesPodList) {
  std::vector<PodMeta> pods;
  ASSERT_EQ(ParsePodList(ReadTestdata("podlist.json"), &pods), "");
  ASSERT_EQ(pods.size(), 3u);
  const PodMeta& a = pods[0];
  EXPECT_EQ(a.name, "research-agent-7d9f8b6c4-x2k8p");
  EXPECT_EQ(a.namespace_, "agents");
  EXPECT_EQ(a.uid, "3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  // The ReplicaSet's hash suffix comes off: the workload is the Deployment.
  EXPECT_EQ(a.workload_kind, "Deployment");
  EXPECT_EQ(a.workload_name, "research-agent");
  EXPECT_EQ(a.service_account, "research-agent");
  EXPECT_EQ(a.node_name, "node-a");
  EXPECT_EQ(a.labels.at("team"), "ml");
  EXPECT_EQ(a.containers.size(), 3u);  // with the init container
  EXPECT_EQ(a.containers.at("1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"),
            "mcp-filesystem");
  EXPECT_EQ(pods[1].workload_kind, "StatefulSet");
  EXPECT_EQ(pods[1].workload_name, "vector-db");
  EXPECT_TRUE(pods[1].containers.empty());  // pending: no containers yet
  EXPECT_EQ(pods[2].workload_kind, "Pod");  // a bare pod is its own workload
  EXPECT_EQ(pods[2].workload_name, "debug-shell");
  EXPECT_EQ(pods[2].containers.count(std::string(64, '2')), 1u);  // cri-o:// prefix removed
}

TEST(KubeTest, ReplicaSetWithoutHashStaysReplicaSet) {
  std::vector<PodMeta> pods;
  ASSERT_EQ(ParsePodList(R"({"kind":"Pod","metadata":{"name":"p","namespace":"n","uid":"u",
      "ownerReferences":[{"kind":"ReplicaSet","name":"bare-rs","controller":true}]}})",
                         &pods),
            "");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].workload_kind, "ReplicaSet");
  EXPECT_EQ(pods[0].workload_name, "bare-rs");
}

TEST(KubeTest, BadInputIsAnError) {
  std::vector<PodMeta> pods;
  EXPECT_NE(ParsePodList("{not json", &pods), "");
  EXPECT_NE(ParsePodList("", &pods), "");
  // What the API server answers without the RBAC to list pods.
  const std::string forbidden = ParsePodList(
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:agentwatch:agentwatch\" cannot list resource \"pods\"","reason":"Forbidden","code":403})",
      &pods);
  EXPECT_NE(forbidden.find("forbidden"), std::string::npos) << forbidden;
  EXPECT_TRUE(pods.empty());
  EXPECT_EQ(StripRuntimePrefix("containerd://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("abc"), "abc");
}

TEST(KubeTest, DirectoryFillsAndCountsUnresolved) {
  std::vector<PodMeta> pods;
  ASSERT_EQ(ParsePodList(ReadTestdata("podlist.json"), &pods), "");
  PodDirectory dir;
  v1::Kubernetes k;
  k.set_pod_uid("3f7c1a2b-8d4e-4f6a-9b0c-1d2e3f4a5b6c");
  k.set_container_id("9d8a2b7e6c5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b");
  // Before any list: unknown, counted once however often it is asked for.
  EXPECT_FALSE(dir.Fill(&k));
  EXPECT_FALSE(dir.Fill(&k));
  EXPECT_EQ(dir.unresolved(), 1u);
  EXPECT_TRUE(dir.HasMisses());
  dir.Replace(pods);
  EXPECT_FALSE(dir.HasMisses());
  // Late metadata: the same identity now resolves.
  ASSERT_TRUE(dir.Fill(&k));
  EXPECT_EQ(k.pod_name(), "research-agent-7d9f8b6c4-x2k8p");
  EXPECT_EQ(k.namespace_(), "agents");
  EXPECT_EQ(k.container_name(), "agent");
  EXPECT_EQ(k.workload_kind(), "Deployment");
  EXPECT_EQ(k.labels().at("app.kubernetes.io/name"), "research-agent");
  std::string name, ns;
  EXPECT_TRUE(dir.Names("01234567-89ab-cdef-0123-456789abcdef", &name, &ns));
  EXPECT_EQ(ns + "/" + name, "data/vector-db-0");
  EXPECT_FALSE(dir.Names("00000000-0000-0000-0000-000000000000", &name, &ns));
  EXPECT_EQ(dir.unresolved(), 2u);
}

// The client against a loopback HTTP server standing in for the API
// server: the request it makes (path, field selector, bearer token) and
// what it does with the answer.
TEST(KubeTest, ClientListsThisNodesPods) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string body = ReadTestdata("podlist.json");
  std::string request;
  std::thread server([&] {
    int c = accept(lfd, nullptr, nullptr);
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)!write(c, resp.data(), resp.size());
    close(c);
  });
  char tmpl[] = "/tmp/aw-kube-token-XXXXXX";
  int tfd = mkstemp(tmpl);
  ASSERT_GE(tfd, 0);
  (void)!write(tfd, "tok-123\n", 8);
  close(tfd);
  PodDirectory dir;
  KubeClient::Options o;
  o.api_server = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.token_file = tmpl;
  o.node_name = "node-a";
  KubeClient client(o, &dir);
  EXPECT_EQ(client.SyncOnce(), "");
  server.join();
  close(lfd);
  EXPECT_NE(request.find("GET /api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a HTTP/1.1"),
            std::string::npos)
      << request;
  EXPECT_NE(request.find("Authorization: Bearer tok-123\r\n"), std::string::npos) << request;
  EXPECT_EQ(dir.size(), 3u);
  // Nothing listening: an error, the directory kept.
  o.api_server = "http://127.0.0.1:1";
  KubeClient down(o, &dir);
  const std::string refused = down.SyncOnce();
  EXPECT_NE(refused, "");
  EXPECT_NE(refused.find("GET http://127.0.0.1:1/api/v1/pods"), std::string::npos) << refused;
  EXPECT_EQ(dir.size(), 3u);
  // No token to send: an error naming the file.
  unlink(tmpl);
  EXPECT_NE(KubeClient(o, &dir).SyncOnce().find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace agentwatch
