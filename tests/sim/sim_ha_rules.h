// tests/sim/sim_ha_rules.h — the checker's own reading of the failover rules
// (docs/operations.md, "Failover"), from the simulation's ground truth: once
// every fault but the hosts lost for good has healed, does a rule say a
// writable primary must come back by itself? sim_ha then requires one
// within a bounded simulated time, and a failure names the rule.
//
// Deliberately conservative and independent of ha/decider.cc: it decides
// from the disks (who holds this cluster's data, on which timeline) and the
// committed state (C, q, the recorded timeline), not from the statuses the
// agents exchange. Where it says "not required", sim_ha still waits, then
// acts as an operator following pgwarden's advice (the override), and
// requires a primary after that.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "ha/cluster_state.h"
#include "sim_ha_world.h"

namespace pw::sim {

struct FailoverRule {
  bool required = false;
  std::string rule;  // required: the rule and the member(s) that satisfy it; else what blocks it
};

/// `members`: the voters of the committed raft membership. Hosts with
/// SimNode::lost are the lost ones; every other member is up (healed).
FailoverRule failover_rule(HaWorld& w, const node::ClusterState& s, const std::set<std::string>& members);

}  // namespace pw::sim
