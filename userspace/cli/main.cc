// agentwatch: command-line client of agentwatchd. The global options and
// the connections here; each verb in the *_verbs.cc of its family, their
// table and the usage in verbs.cc.
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/connection.h"
#include "cli/verbs.h"

namespace po = boost::program_options;
namespace cli = agentwatch::cli;

namespace {

po::options_description GlobalOptions() {
  po::options_description global("Global options");
  // clang-format off
  global.add_options()
    ("help,h", "show this help")
    ("endpoint,e", po::value<std::vector<std::string>>()->composing(),
     "daemon endpoint: unix:///path, or host:port over TLS (repeat for several "
     "nodes; default unix:///run/agentwatch/agentwatch.sock)")
    ("tls-ca", po::value<std::string>(), "CA bundle the daemon's certificate must chain to")
    ("tls-cert", po::value<std::string>(), "this client's certificate (PEM)")
    ("tls-key", po::value<std::string>(), "this client's private key (PEM)")
    ("tls-server-name", po::value<std::string>(), "the name to expect in the daemon's "
     "certificate, when it is not the endpoint's host")
    ("json", "machine output: one JSON object per line")
    ("command", po::value<std::string>(), "command")
    ("args", po::value<std::vector<std::string>>(), "command arguments");
  // clang-format on
  return global;
}

cli::TlsFlags TlsOptions(const po::variables_map& vm) {
  cli::TlsFlags tls;
  if (vm.count("tls-ca")) tls.ca = vm["tls-ca"].as<std::string>();
  if (vm.count("tls-cert")) tls.cert = vm["tls-cert"].as<std::string>();
  if (vm.count("tls-key")) tls.key = vm["tls-key"].as<std::string>();
  if (vm.count("tls-server-name")) tls.server_name = vm["tls-server-name"].as<std::string>();
  return tls;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const po::options_description global = GlobalOptions();
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  po::variables_map vm;
  std::vector<std::string> rest;
  try {
    auto parsed = po::command_line_parser(argc, argv)
                      .options(global)
                      .positional(pos)
                      .allow_unregistered()
                      .run();
    po::store(parsed, vm);
    po::notify(vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const po::error& e) {
    std::cerr << "agentwatch: " << e.what() << "\n" << cli::kUsage;
    return 2;
  }
  if (!vm.count("command")) {
    std::cout << cli::kUsage << "\n" << global << "\n";
    return vm.count("help") ? 0 : 2;
  }
  const std::string cmd = vm["command"].as<std::string>();
  if (!rest.empty() && rest.front() == cmd) rest.erase(rest.begin());
  // Options after the command that are global ones.
  bool json = vm.count("json") > 0;
  std::vector<std::string> args;
  for (const auto& a : rest) {
    if (a == "--json") {
      json = true;
    } else {
      args.push_back(a);
    }
  }
  const std::vector<std::string> endpoints =
      vm.count("endpoint") ? vm["endpoint"].as<std::vector<std::string>>()
                           : std::vector<std::string>{cli::kDefaultEndpoint};
  std::vector<cli::Node> nodes;
  if (std::string error; !cli::ConnectAll(endpoints, TlsOptions(vm), &nodes, &error)) {
    std::cerr << "agentwatch: " << error << "\n";
    return 2;
  }
  return cli::Dispatch(cmd, nodes, json, vm.count("help") > 0, args);
}
