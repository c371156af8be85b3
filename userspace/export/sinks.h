// Where alerts go: sinks. Each takes a batch of formatted alert versions
// and delivers all of them or fails (the delivery loop then retries the
// whole batch: at-least-once, receivers dedupe by the key in each).
//
//   file    JSON lines, rotated by size (backups, gzip), mode 0600
//   syslog  RFC 5424 over UDP, TCP (octet counting, RFC 6587) or TLS
//           (RFC 5425; CA check, optional client certificate)
//   http    libcurl: Splunk HEC (token, index, sourcetype), Elasticsearch/
//           OpenSearch _bulk (create by key: a repeat is a 409, taken as
//           delivered) or a webhook (JSON array; HMAC-SHA256 signature,
//           custom headers); gzip, mTLS
//   clickhouse  the fleet-wide store over ClickHouse's HTTP interface:
//           alerts, chains, calls and effects as JSONEachRow
#ifndef AGENTWATCH_EXPORT_SINKS_H_
#define AGENTWATCH_EXPORT_SINKS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agentwatch/v1/agentwatch.pb.h"
#include "export/format.h"
#include "store/store.h"

namespace agentwatch {

struct SinkConfig {
  std::string name;                      // unique; names its cursor
  std::string type;                      // file, syslog
  std::string min_severity = "info";
  std::vector<std::string> rules;        // globs over rule ids; empty = all
  std::vector<std::string> agents;       // globs over agent exe; empty = all
  std::string format = "ocsf";           // ocsf, native
  // file
  std::string path;
  uint64_t max_size = 100ull << 20;      // rotate above this (0 = never)
  uint32_t backups = 5;
  bool compress = true;
  // syslog
  std::string address;                   // host:port
  std::string protocol = "tcp";          // udp, tcp, tls
  int facility = 16;                     // local0
  std::string ca_file, cert_file, key_file;  // tls
  std::string server_name;               // tls: name to verify (default: host)
  // http
  std::string url;
  std::string flavor = "webhook";        // hec, elasticsearch, webhook
  std::string token;                     // hec
  std::string index;                     // hec, elasticsearch
  std::string sourcetype = "agentwatch:alert";  // hec
  std::string hmac_secret;               // webhook: X-Agentwatch-Signature
  std::vector<std::string> headers;      // "Name: value"
  bool gzip = false;
  uint32_t timeout_ms = 10000;
  // clickhouse (url above: its HTTP interface)
  std::string database = "agentwatch";
  std::string user, password;
  // Credentials over plain http:// to another host, or syslog in clear
  // text off this host, taken as a deliberate choice.
  bool allow_insecure = false;
};

// "" or what is wrong with c (names the sink and the field).
std::string ValidateSink(const SinkConfig& c);
// What is allowed but unsafe about c (one line each, naming the sink):
// alerts in clear text off this host. Empty when allow_insecure.
std::vector<std::string> SinkWarnings(const SinkConfig& c);

class Sink {
 public:
  virtual ~Sink() = default;
  // Delivers every entry (already formatted: one message each) or returns
  // the error; a failure leaves the sink ready for a retry.
  virtual std::string Send(const std::vector<std::string>& messages) = 0;
  // Sinks that also take the store's chains, calls and effects (ClickHouse)
  // send what was written since their cursors; rows_sent grows by what
  // went. "" or the error.
  virtual std::string Tail(Store* /*store*/, const std::string& /*name*/,
                           const FormatContext& /*ctx*/, uint64_t* /*rows_sent*/) {
    return "";
  }
};

// The sink for c (valid), or null with *err.
std::unique_ptr<Sink> MakeSink(const SinkConfig& c, std::string* err);

// Splits a batch for an HTTP sink into its request body (exposed for tests).
std::string HttpBody(const SinkConfig& c, const std::vector<std::string>& messages);
// hex(HMAC-SHA256(secret, body)).
std::string HmacSha256Hex(const std::string& secret, const std::string& body);

// One alert version as the sink sends it: JSON (file) or a syslog message.
std::string FormatFor(const SinkConfig& c, const v1::Alert& a, const FormatContext& ctx);

}  // namespace agentwatch

#endif  // AGENTWATCH_EXPORT_SINKS_H_
