// The CLI's connections: the endpoints it asks (one or several), their
// channels (unix sockets as they are, TCP over TLS with a client
// certificate), the error text of a failed call, and how the output of
// several nodes is told apart (a section per node, or JSON lines with an
// "endpoint" key).
#ifndef AGENTWATCH_CLI_CONNECTION_H_
#define AGENTWATCH_CLI_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "agentwatch/v1/agentwatch.grpc.pb.h"

namespace agentwatch::cli {

inline constexpr char kDefaultEndpoint[] = "unix:///run/agentwatch/agentwatch.sock";

// --tls-ca, --tls-cert, --tls-key and --tls-server-name.
struct TlsFlags {
  std::string ca, cert, key, server_name;
};

// One daemon the CLI asks.
struct Node {
  std::string endpoint;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AgentWatch::Stub> stub;
};

// A channel to one endpoint: unix sockets as they are, anything else over
// TLS with the client certificate. nullptr, with error, when the TLS flags
// are missing or a file of theirs cannot be read.
std::shared_ptr<grpc::Channel> Connect(const std::string& endpoint, const TlsFlags& tls,
                                       std::string* error);

// A node for each endpoint, in order; false, with error, at the first that
// cannot be connected.
bool ConnectAll(const std::vector<std::string>& endpoints, const TlsFlags& tls,
                std::vector<Node>* nodes, std::string* error);

// Prints a failed call ("agentwatch: <message>", with a hint when the daemon
// is unavailable) and returns the exit code 1.
int Fail(const grpc::Status& s, const std::string& endpoint);

// The deadline of a unary call (10 s); returns ctx.
grpc::ClientContext* Deadline(grpc::ClientContext* ctx);

// `"endpoint":"<endpoint>",` into each JSON line of text (a record's own
// "node" is the daemon's node name).
std::string TagJsonLines(const std::string& text, const std::string& endpoint);

// Runs run once per node with its standard output captured, then prints it
// as a section "== <endpoint> ==" (or, with json, as JSON lines tagged with
// the endpoint). Returns the last nonzero exit code, else 0.
int RunPerNode(std::vector<Node>& nodes, bool json, const std::function<int(Node&)>& run);

}  // namespace agentwatch::cli

#endif  // AGENTWATCH_CLI_CONNECTION_H_
