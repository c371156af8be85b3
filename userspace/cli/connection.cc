#include "cli/connection.h"

#include <chrono>
#include <iostream>
#include <sstream>
#include <utility>

#include "common/text.h"

namespace agentwatch::cli {

std::shared_ptr<grpc::Channel> Connect(const std::string& endpoint, const TlsFlags& tls,
                                       std::string* error) {
  // List answers are paged under 4 MiB (cli/paging.h); the answers that
  // are not (servers, sessions, agents, a tool inventory, baselines) are
  // bounded by the daemon's tables and get room to spare.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (endpoint.rfind("unix:", 0) == 0)
    return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  if (tls.ca.empty() || tls.cert.empty() || tls.key.empty()) {
    *error = endpoint + ": TCP endpoints need --tls-ca, --tls-cert and --tls-key (the daemon "
             "accepts only clients with a certificate)";
    return nullptr;
  }
  grpc::SslCredentialsOptions o;
  for (auto [path, out] : {std::pair<const std::string*, std::string*>{&tls.ca, &o.pem_root_certs},
                           {&tls.cert, &o.pem_cert_chain},
                           {&tls.key, &o.pem_private_key}}) {
    if (!ReadFileText(*path, out)) {
      *error = "cannot read " + *path;
      return nullptr;
    }
  }
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(o), args);
}

bool ConnectAll(const std::vector<std::string>& endpoints, const TlsFlags& tls,
                std::vector<Node>* nodes, std::string* error) {
  for (const auto& ep : endpoints) {
    auto channel = Connect(ep, tls, error);
    if (!channel) return false;
    nodes->push_back(Node{ep, channel, v1::AgentWatch::NewStub(channel)});
  }
  return true;
}

int Fail(const grpc::Status& s, const std::string& endpoint) {
  std::cerr << "agentwatch: " << s.error_message();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << " (is agentwatchd running and is " << endpoint
              << " readable by you?)";
  }
  std::cerr << "\n";
  return 1;
}

grpc::ClientContext* Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

std::string TagJsonLines(const std::string& text, const std::string& endpoint) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') {
      out += "{\"endpoint\":" + JsonString(endpoint) + (line.size() > 2 ? "," : "") +
             line.substr(1);
    } else {
      out += line;
    }
    out += "\n";
  }
  return out;
}

int RunPerNode(std::vector<Node>& nodes, bool json, const std::function<int(Node&)>& run) {
  int rc = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::ostringstream buf;
    std::streambuf* old = std::cout.rdbuf(buf.rdbuf());
    const int r = run(nodes[i]);
    std::cout.rdbuf(old);
    if (json) {
      std::cout << TagJsonLines(buf.str(), nodes[i].endpoint);
    } else {
      std::cout << (i > 0 ? "\n" : "") << "== " << nodes[i].endpoint << " ==\n" << buf.str();
    }
    if (r != 0) rc = r;
  }
  return rc;
}

}  // namespace agentwatch::cli
