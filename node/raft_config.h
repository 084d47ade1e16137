// node/raft_config.h — the Raft options of this node, from its configuration
// (shared by `pgwarden run` and `pgwarden recover`).
#pragma once

#include "conf/config.h"
#include "consensus/raft_node.h"

namespace pw::node {

/// Member i of [cluster] members is raft id i + 1 (the seed list).
consensus::RaftOptions raft_options(const conf::Config& c);

}  // namespace pw::node
