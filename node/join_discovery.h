// node/join_discovery.h — how a node added with `pgwarden ctl member add`
// learns its raft id. Its id was given by the cluster (ids are never
// reused), so its place in [cluster] members cannot say it. On a node that
// has never taken part in raft (no hard state yet), the daemon asks the
// listed members' APIs for the committed membership (GET /membership) and,
// if one of them lists this node's name, joins with that membership and
// that id. A brand-new cluster (nobody answers yet) starts from the file.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "conf/config.h"
#include "consensus/membership.h"

namespace pw::node {

/// True when `state_dir` holds no raft hard state: this node never voted
/// or followed anyone, so adopting another id is safe.
bool never_in_raft(const std::string& state_dir);

/// Asks each other member listed in `cfg` (1 s each). Returns the first
/// membership of this cluster that lists cfg.node_name, nullopt otherwise.
std::optional<consensus::Membership> discover_membership(const conf::Config& cfg);

/// GET /membership's document as a Membership (nullopt + *error when malformed).
std::optional<consensus::Membership> membership_from_json(const nlohmann::json& v, std::string* error);

}  // namespace pw::node
