// How alerts leave the daemon: JSON in the OCSF Detection Finding class
// (2004) or agentwatch's own (the Alert message as JSON), and RFC 5424
// syslog messages carrying either. Pure functions.
#ifndef AGENTWATCH_EXPORT_FORMAT_H_
#define AGENTWATCH_EXPORT_FORMAT_H_

#include <cstdint>
#include <string>

#include "agentwatch/v1/agentwatch.pb.h"
#include "common/text.h"  // JsonString

namespace agentwatch {

struct FormatContext {
  std::string hostname;
  std::string version;  // agentwatchd's
  uint32_t pid = 0;     // agentwatchd's, for syslog PROCID
};

// The idempotency key of an alert version: receivers drop a key they have
// seen. "<host>/<alert id>/<count>" (a folded repeat is a new version).
std::string AlertKey(const v1::Alert& a, const FormatContext& ctx);

// OCSF Detection Finding, one JSON object (no newline): finding_info,
// evidences (the alert's evidence, with the chain's call ids), attacks,
// remediation, and agentwatch's own fields under unmapped.
std::string OcsfJson(const v1::Alert& a, const FormatContext& ctx);
// The Alert message as JSON (proto field names), with the alert version's
// key as delivery_key and the host.
std::string NativeJson(const v1::Alert& a, const FormatContext& ctx);

// RFC 5424: <PRI>1 TIMESTAMP HOST agentwatch PID RULE [SD] MSG, with the
// facility given (16 = local0) and the severity mapped (critical 2 ... info
// 6); structured data agentwatch@32473 carries id, key, rule, severity,
// chain, agent and server; MSG is json.
std::string Rfc5424(const v1::Alert& a, const FormatContext& ctx, int facility,
                    const std::string& json);

// Rows of the fleet-wide ClickHouse tables (deploy/clickhouse/schema.sql),
// one JSONEachRow object each; times as UTC "YYYY-MM-DD hh:mm:ss" for the
// DateTime('UTC') columns, and nanoseconds beside them.
std::string ClickHouseAlertRow(const v1::Alert& a, const FormatContext& ctx);
std::string ClickHouseCallRow(const v1::McpCall& c, uint64_t chain_id, int64_t ord,
                              const FormatContext& ctx);
std::string ClickHouseChainRow(const v1::Chain& c, const FormatContext& ctx);
// unix_ns as a JSON string for a DateTime('UTC') column.
std::string ClickHouseTime(int64_t unix_ns);


}  // namespace agentwatch

#endif  // AGENTWATCH_EXPORT_FORMAT_H_
