// ha/route_builder.h — the route this node's proxy follows (DESIGN I3):
// the primary of the current epoch, only once the epoch is `ready`, and
// only for as long as the raft leader granted it.
//
// Route grants. "Heard the leader within lease/2" is not enough: under a
// one-way cut a member can hear the leader's heartbeats without learning new
// commits, and a member silent to the new primary may still be fresh. So the
// raft leader's status message carries a grant — routes to epoch E's
// primary may be used for G ms from receipt — and every route expires with
// its grant. The leader grants only while a quorum answers it (its own
// freshness) and never past the moment it could replace the holder:
//   G = min(quorum_contact + lease/2 − now,
//           (LeaseWatch::remaining(E) − loop_interval) / (1 + max_drift))
// When the holder stops renewing, grants shrink to zero before the decider
// may propose a new primary, so at failover no member can still route to the
// old one, whoever was silent to whom. A grant stays usable until it
// expires across a change of raft leader: any later decider's lease wait
// starts no earlier than the sender's (it applies the same renewals later),
// so the bound holds for it too, and followers need not stop routing while
// a new leader gets its first quorum answer. Routes are also capped by the node's
// own leader contact + lease/2, and on the holder by its lease − fence_margin,
// so a process resumed from SIGSTOP cannot forward on a stale route.
#pragma once

#include "ha/agent_context.h"
#include "proxy/route.h"

namespace pw::node {

proxy::Route build_route(const AgentContext& ctx);
/// Whether the lock holder's PostgreSQL takes new clients: our own view on
/// the holder itself, else its last fresh status (no news = yes; only the
/// holder's explicit "not serving" holds new clients).
bool primary_serving(const AgentContext& ctx, int64_t now);
/// The grant this node, as raft leader, gives for the current epoch (0 = none).
int64_t leader_grant_ms(const AgentContext& ctx);

}  // namespace pw::node
