// ha/route_builder.cc — see route_builder.h.
#include "ha/route_builder.h"

#include <algorithm>

namespace pw::node {

int64_t leader_grant_ms(const AgentContext& ctx) {
  const ClusterState& s = ctx.state();
  if (!ctx.raft || !ctx.raft->is_leader() || s.init != InitKind::done || s.primary.empty() ||
      s.ready_epoch != s.epoch)
    return 0;
  int64_t now = ctx.now();
  int64_t contact = ctx.fresh_since();
  if (contact == 0) return 0;
  const conf::Config& cfg = ctx.cfg;
  int64_t by_quorum = contact + cfg.ha_lease_ms / 2 - now;
  // Routes end before the holder starts demoting (it does when less than
  // fence_margin of its lease is left), not only before the lease ends: a
  // client sent to a server that is shutting down gets a FATAL error.
  int64_t left = ctx.lease.watch.remaining(s.epoch, now) - cfg.ha_fence_margin_ms - cfg.ha_loop_interval_ms;
  int64_t by_lease = static_cast<int64_t>(static_cast<double>(left) / (1.0 + cfg.ha_max_clock_drift));
  return std::max<int64_t>(0, std::min(by_quorum, by_lease));
}

bool primary_serving(const AgentContext& ctx, int64_t now) {
  const ClusterState& s = ctx.state();
  if (s.primary == ctx.self()) return ctx.serving();
  const MemberStatus* st = ctx.members.fresh(s.primary, now);
  return !st || !st->serving_known || st->serving;
}

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
  if (ctx.raft->is_leader()) {
    r.valid_until_ms = std::min(r.valid_until_ms, now + leader_grant_ms(ctx));
  } else {
    // Any unexpired grant for this epoch, also one of an earlier leader
    // (Agent::on_status_message): each is safe until it expires.
    const RouteGrant& g = ctx.grant;
    r.valid_until_ms = std::min(r.valid_until_ms, g.epoch == s.epoch ? g.until_ms : 0);
  }
  bool ok = r.valid_until_ms > now;
  if (!ok) r.unavailable_reason = "the leader does not confirm the primary's lease";
  if (s.primary == ctx.self()) {
    const LeaseHold& hold = ctx.lease.hold;
    ok = ok && hold.holds(s.epoch, now) && !hold.must_fence(s.epoch, now);
    r.valid_until_ms = std::min({r.valid_until_ms, hold.until_ms() - cfg.ha_fence_margin_ms,
                                 hold.confirmed_ms() + holder_route_window_ms(cfg.ha_lease_ms)});
    ok = ok && r.valid_until_ms > now;
    if (!ok) r.unavailable_reason = "the primary's lease is expiring";
  }
  if (ok) {
    r.has_primary = true;
    r.primary = {ctx.host_of(s.primary), cfg.pg_port, 0};
    if (s.switchover) {
      // Planned switchover: statements in flight finish, new clients wait
      // for the new primary instead of meeting a shutting-down server.
      r.hold_new = true;
      r.unavailable_reason = "switchover in progress";
    } else if (!primary_serving(ctx, now)) {
      // Its PostgreSQL restarts, fences or stops: new clients wait (up to
      // hold_timeout) rather than meet "the database system is starting up".
      r.hold_new = true;
      r.unavailable_reason = "PostgreSQL on " + s.primary + " is not accepting writes right now";
    }
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
