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

/// Never silent while clients cannot write (issue 21): when this node's
/// route has had no writable primary for at least `loop_ms`
/// (`unwritable_for_ms`, 0 = it has one) and no diagnostic in `d` speaks
/// of the cluster (only this node's own matters, or none), adds
/// `no_writable_primary` with the route's reason, so neither the log's
/// "all clear" nor an empty list in `ctl list` / `/cluster` can show then.
void name_missing_primary(Diagnostics& d, int64_t unwritable_for_ms, int64_t loop_ms, const std::string& reason);

}  // namespace pw::node
