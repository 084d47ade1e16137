// node/route_builder.h — the route this node's proxy follows (DESIGN I3):
// the primary of the current epoch, only once the epoch is `ready` and only
// while this node's view is fresh — it heard the current raft leader (or,
// as leader, a quorum) within lease/2 — and valid until that contact plus
// lease/2, so a process resumed from SIGSTOP cannot forward on a stale route.
#pragma once

#include "node/agent_context.h"
#include "proxy/route.h"

namespace pw::node {

proxy::Route build_route(const AgentContext& ctx);

}  // namespace pw::node
