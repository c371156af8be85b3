// agentwatchd: the agentwatch daemon.
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <boost/program_options.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "detect/rules.h"
#include "export/sinks.h"
#include "redact/redacting_sink.h"
#include "redact/redactor.h"

namespace po = boost::program_options;
using agentwatch::Config;

namespace {

constexpr char kDefaultConfig[] = "/etc/agentwatch/agentwatch.yaml";

struct Flags {
  std::string config_path = kDefaultConfig;
  bool config_explicit = false;
  po::variables_map vm;
};

// Flags override the file: applied after it, on start and on every reload.
std::string ApplyFlags(const po::variables_map& vm, Config* cfg) {
  if (vm.count("endpoint")) cfg->endpoint = vm["endpoint"].as<std::string>();
  if (vm.count("state-dir")) cfg->state_dir = vm["state-dir"].as<std::string>();
  if (vm.count("log-level")) cfg->log_level = vm["log-level"].as<std::string>();
  if (vm.count("ringbuf-size"))
    cfg->ringbuf_bytes = vm["ringbuf-size"].as<uint32_t>();
  if (vm.count("argv-max")) cfg->argv_max = vm["argv-max"].as<uint32_t>();
  if (vm.count("dns-port")) cfg->dns_port = vm["dns-port"].as<uint32_t>();
  if (vm.count("payload-max"))
    cfg->payload_max = vm["payload-max"].as<uint32_t>();
  if (vm.count("record")) cfg->record_file = vm["record"].as<std::string>();
  if (vm.count("no-builtin-rules")) cfg->builtin_watch_rules = false;
  if (vm.count("no-discovery")) cfg->discover_stdio = cfg->discover_http = false;
  if (vm.count("hooks")) cfg->hooks = vm["hooks"].as<std::string>();
  if (vm.count("store")) cfg->store_path = vm["store"].as<std::string>();
  if (vm.count("no-store")) cfg->store_enabled = false;
  if (vm.count("full-content")) cfg->full_content = true;
  if (vm.count("rules-dir")) cfg->rules_dir = vm["rules-dir"].as<std::string>();
  if (vm.count("metrics-listen"))
    cfg->metrics_listen = vm["metrics-listen"].as<std::string>();
  if (vm.count("console-listen"))
    cfg->console_listen = vm["console-listen"].as<std::string>();
  if (vm.count("watch-pid")) {
    for (uint32_t pid : vm["watch-pid"].as<std::vector<uint32_t>>())
      cfg->watch_pids.push_back(pid);
  }
  if (vm.count("watch-exe")) {
    for (const auto& g : vm["watch-exe"].as<std::vector<std::string>>()) {
      agentwatch::WatchRule r;
      r.name = "flag:--watch-exe=" + g;
      r.exe = g;
      cfg->watch_rules.push_back(r);
    }
  }
  return agentwatch::ValidateConfig(*cfg);
}

std::string LoadAll(const Flags& f, Config* cfg) {
  *cfg = Config{};
  if (std::string e = agentwatch::LoadConfigFile(f.config_path,
                                                 f.config_explicit, cfg);
      !e.empty())
    return e;
  return ApplyFlags(f.vm, cfg);
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes early (a scraper, a syslog receiver over TLS) makes
  // a write fail with EPIPE instead of ending the daemon.
  signal(SIGPIPE, SIG_IGN);
  po::options_description desc(
      "agentwatchd: eBPF monitor for AI agents and MCP servers\n\n"
      "Usage: agentwatchd [options]\n"
      "Runs as root (or with CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE,\n"
      "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH): loads the kernel probes, serves\n"
      "the gRPC API on a unix socket (mode 0660; on TCP only with mTLS,\n"
      "api.tcp_listen), and /metrics, /healthz and /readyz on 127.0.0.1:9590.\n"
      "SIGHUP reloads the config file; SIGTERM stops cleanly.\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("version", "print the version")
    ("config,c", po::value<std::string>(),
     "YAML config file (default /etc/agentwatch/agentwatch.yaml; "
     "used only if present unless given here)")
    ("endpoint", po::value<std::string>(),
     "API endpoint (default unix:///run/agentwatch/agentwatch.sock)")
    ("state-dir", po::value<std::string>(),
     "state directory (default /var/lib/agentwatch)")
    ("log-level", po::value<std::string>(),
     "trace, debug, info, warn, error, off (default info)")
    ("ringbuf-size", po::value<uint32_t>(),
     "kernel ring buffer bytes, a power of two (default 16777216)")
    ("argv-max", po::value<uint32_t>(),
     "argv bytes captured per exec, 64..4096 (default 1024)")
    ("dns-port", po::value<uint32_t>(),
     "UDP port whose datagrams are decoded as DNS queries (default 53)")
    ("payload-max", po::value<uint32_t>(),
     "bytes captured per read/write of a watched pipe or socket, "
     "0 = no payload capture (default 16384)")
    ("watch-pid", po::value<std::vector<uint32_t>>()->composing(),
     "watch this process and its future children (repeatable)")
    ("watch-exe", po::value<std::vector<std::string>>()->composing(),
     "watch processes whose executable matches this glob (repeatable)")
    ("no-builtin-rules", "do not apply the built-in MCP server watch rules")
    ("no-discovery", "do not probe processes for MCP traffic (stdio after "
     "exec, accepted TCP connections); only rules mark servers")
    ("hooks", po::value<std::string>(),
     "auto (preferred hook per capability, fallback when refused) or "
     "fallback (always the fallback variants: classic tracepoints)")
    ("store", po::value<std::string>(),
     "the SQLite store of chains, calls, agents, servers and tools "
     "(default: <state-dir>/agentwatch.db)")
    ("no-store", "keep chains in memory only (lost on restart)")
    ("full-content", "keep whole redacted tool arguments and results (up to "
     "1 MiB each) instead of bounded previews")
    ("rules-dir", po::value<std::string>(),
     "local detection rules (*.yaml and *.yml, in name order) over the built-in pack "
     "(default /etc/agentwatch/rules.d)")
    ("console-listen", po::value<std::string>(),
     "the read-only web console on this host:port (default 127.0.0.1:9591; "
     "\"\" = off; a non-loopback address needs tls.* in the config: clients "
     "must present a certificate)")
    ("metrics-listen", po::value<std::string>(),
     "/metrics, /healthz and /readyz over plain HTTP on this loopback "
     "host:port (default 127.0.0.1:9590; \"\" = off; other addresses: "
     "metrics.tls_listen in the config, with client certificates)")
    ("record", po::value<std::string>(),
     "write every decoded event to this trace file")
    ("replay", po::value<std::string>(),
     "run a trace file through the pipeline offline (no root, no kernel) "
     "and print the resulting events as JSON lines")
    ("check-config", "validate the configuration and exit");
  // clang-format on

  Flags flags;
  try {
    po::store(po::parse_command_line(argc, argv, desc), flags.vm);
    po::notify(flags.vm);
  } catch (const po::error& e) {
    std::cerr << "agentwatchd: " << e.what() << "\n(see --help)\n";
    return 2;
  }
  if (flags.vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (flags.vm.count("version")) {
    std::cout << "agentwatchd " << agentwatch::kVersion << "\n";
    return 0;
  }
  if (flags.vm.count("config")) {
    flags.config_path = flags.vm["config"].as<std::string>();
    flags.config_explicit = true;
  }

  // Every log line passes the redaction stage (a process argv or an error
  // text may carry a secret).
  auto logger = std::make_shared<spdlog::logger>(
      "agentwatchd", std::make_shared<agentwatch::RedactingSink>(
                         std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e level=%l %v");

  Config cfg;
  if (std::string e = LoadAll(flags, &cfg); !e.empty()) {
    std::cerr << "agentwatchd: config error: " << e << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  agentwatch::RuleSet rules;
  if (std::string e = agentwatch::LoadRules(cfg.rules_dir, &rules); !e.empty()) {
    std::cerr << "agentwatchd: rules error: " << e << "\n";
    return 2;
  }
  agentwatch::SecretCatalogue secrets;
  if (std::string e = agentwatch::LoadSecretCatalogue(cfg.secrets_dir, &secrets); !e.empty()) {
    std::cerr << "agentwatchd: secrets error: " << e << "\n";
    return 2;
  }
  if (std::string e = agentwatch::CheckSecretCatalogue(secrets); !e.empty()) {
    std::cerr << "agentwatchd: secrets error: " << e << "\n";
    return 2;
  }
  if (flags.vm.count("check-config")) {
    for (const auto& sink : cfg.sinks)
      for (const auto& w : agentwatch::SinkWarnings(sink)) std::cerr << "warning: " << w << "\n";
    std::cout << "configuration OK (" << cfg.EffectiveWatchRules().size()
              << " watch rules, " << rules.rules.size() << " detection rules, "
              << secrets.rules.size() << " credential formats)\n";
    return 0;
  }
  if (flags.vm.count("replay")) {
    return agentwatch::RunReplay(cfg, flags.vm["replay"].as<std::string>(),
                                 std::cout);
  }
  return agentwatch::RunLive(
      cfg, [flags](Config* next) { return LoadAll(flags, next); });
}
