// Each component's options from the configuration, and the small pieces
// of start-up that live and replay runs share.
#ifndef AGENTWATCH_DAEMON_WIRING_H_
#define AGENTWATCH_DAEMON_WIRING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/caps.h"
#include "daemon/config.h"
#include "kube/kube.h"
#include "pipeline/pipeline.h"
#include "sensor/sensor.h"
#include "session/mcp_tracker.h"
#include "store/store.h"

namespace agentwatch {

Pipeline::Options PipelineOptions(const Config& cfg);
Store::Options StoreOptions(const Config& cfg);
SensorOptions SensorOptionsFrom(const Config& cfg);

// The built-in rule pack and the files in dir, into the pipeline's engine.
// Returns "" or the error (the engine keeps what it had).
std::string LoadDetectionRules(const std::string& dir, Pipeline* pipeline, size_t* rules_loaded);

// What the tracker knows that changed since `since`, for the store.
void TrackerSnapshot(const McpTracker& t, int64_t since, Store::Snapshot* out);

// The pod metadata client, when configured or (auto) when this runs in a
// pod with a service account token; null otherwise.
std::unique_ptr<KubeClient> MakeKubeClient(const Config& cfg, PodDirectory* pods);

// Capabilities the daemon runs without (empty when it has all, or cannot
// tell).
std::vector<CapabilityNeed> OwnMissingCapabilities();

std::string KernelRelease();

// The redaction stage for this install: the built-in catalogue and the
// files in cfg.secrets_dir, the fingerprint key from cfg.state_dir
// (created there when missing, if create_key; else a random key for this
// run), installed as the process's redactor. "" or the error; on error
// the running redactor stays. *formats gets the catalogue's size.
std::string InstallRedactor(const Config& cfg, bool create_key, size_t* formats);

}  // namespace agentwatch

#endif  // AGENTWATCH_DAEMON_WIRING_H_
