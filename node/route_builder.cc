// node/route_builder.cc — see route_builder.h.
#include "node/route_builder.h"

#include <algorithm>

namespace pw::node {

proxy::Route build_route(const AgentContext& ctx) {
  const ClusterState& s = ctx.state();
  const conf::Config& cfg = ctx.cfg;
  int64_t now = ctx.now();
  proxy::Route r;
  r.epoch = s.epoch;
  int64_t contact = ctx.fresh_since();
  if (contact == 0) {
    r.unavailable_reason = "no quorum: this node cannot reach the cluster's leader";
    return r;
  }
  if (s.init != InitKind::done) {
    r.unavailable_reason = "the cluster is not bootstrapped yet";
    return r;
  }
  if (s.primary.empty()) {
    r.unavailable_reason = "failover in progress: no primary";
    return r;
  }
  if (s.ready_epoch != s.epoch) {
    r.unavailable_reason = "failover in progress: " + s.primary + " is being promoted";
    return r;
  }
  r.valid_until_ms = contact + cfg.ha_lease_ms / 2;
  bool ok = true;
  if (s.primary == ctx.self()) {
    const LeaseHold& hold = ctx.lease.hold;
    ok = hold.holds(s.epoch, now) && !hold.must_fence(s.epoch, now);
    r.valid_until_ms = std::min(r.valid_until_ms, hold.until_ms() - cfg.ha_fence_margin_ms);
  }
  if (ok) {
    r.has_primary = true;
    r.primary = {ctx.host_of(s.primary), cfg.pg_port, 0};
    if (s.switchover) {
      // Planned switchover: statements in flight finish, new clients wait
      // for the new primary instead of meeting a shutting-down server.
      r.hold_new = true;
      r.unavailable_reason = "switchover in progress";
    }
  } else {
    r.unavailable_reason = "the primary's lease is expiring";
  }
  auto all = ctx.members.seen(now);
  uint64_t primary_lsn = 0;
  if (auto it = all.find(s.primary); it != all.end()) primary_lsn = it->second.status.lsn;
  for (const auto& [name, st] : all) {
    if (name == s.primary || !st.fresh || !st.status.streaming || st.status.system_id != s.system_id) continue;
    uint64_t lag = primary_lsn > st.status.replay_lsn ? primary_lsn - st.status.replay_lsn : 0;
    r.replicas.push_back({ctx.host_of(name), cfg.pg_port, lag});
  }
  return r;
}

}  // namespace pw::node
