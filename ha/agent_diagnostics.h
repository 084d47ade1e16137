// ha/agent_diagnostics.h — what this node tells the operator about
// itself (no quorum, a raft state the other members refuse as left from an
// earlier cluster, members it refuses for that, foreign or unusable data
// directory, a failing clone, a dead fencer), followed by what the decider
// reports. Reads structured state only.
#pragma once

#include "ha/agent_context.h"
#include "ha/diagnostic.h"
#include "ha/fencer_port.h"

namespace pw::node {

Diagnostics local_diagnostics(const AgentContext& ctx, const FencerHealth& fencer, int64_t started_ms);

}  // namespace pw::node
