// api/metrics.h — the content of GET /metrics: which metrics exist,
// their names, types and labels (docs/api.md lists them). The text format
// itself is api/prometheus.h's job.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/backend.h"
#include "api/view.h"

namespace pw::node {

struct MetricsInput {
  const HealthFacts* health = nullptr;
  const ClusterFacts* cluster = nullptr;
  const std::vector<MemberRow>* rows = nullptr;
  const RaftFacts* raft = nullptr;
  const proxy::Counters* proxy = nullptr;  // nullptr: no proxy metrics
  const FencerFacts* fencer = nullptr;     // nullptr or !known: no fencer metrics
};

std::string metrics_text(const MetricsInput& in);

}  // namespace pw::node
