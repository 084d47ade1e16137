// node/agent_ops.cc — operator requests (switchover, failover, pause,
// reinit, reset-cluster): validated against the committed state and the
// members' status, then proposed through Raft. Any node may receive them;
// Raft forwards the proposal to the leader, so callers need not know it.
#include "base/clock.h"
#include "base/log.h"
#include "node/agent.h"

namespace pw::node {

namespace {
bool is_member(const conf::Config& cfg, const std::string& name) {
  for (const auto& m : cfg.members)
    if (m.name == name) return true;
  return false;
}
}  // namespace

void Agent::switchover(const std::string& to, bool force, OpDone done) {
  const ClusterState& s = state();
  if (s.init != InitKind::done || s.primary.empty() || s.ready_epoch != s.epoch)
    return done({409, "no ready primary to switch over from; use failover --to instead"});
  if (s.switchover) return done({409, "a switchover is already pending: " + s.switchover->first + " -> " + s.switchover->second});
  if (!to.empty()) {
    if (!is_member(cfg_, to)) return done({404, "unknown member '" + to + "'"});
    if (to == s.primary) return done({409, to + " is already the primary"});
    if (!force) {
      DeciderInput in = decider_input();
      Ranking r = rank_candidates(in, s.primary);
      if (auto it = r.excluded.find(to); it != r.excluded.end())
        return done({409, to + " cannot take over: " + it->second + " (use --force to try anyway)"});
    }
  }
  Command c;
  c.type = CmdType::switchover;
  c.node = s.primary;
  c.to = to;
  propose(c, [done, to, primary = s.primary](bool ok) {
    if (!ok) return done({503, "the switchover could not be committed (no quorum?)"});
    done({200, "switchover from " + primary + " to " + (to.empty() ? "the best standby" : to) + " started"});
  });
}

void Agent::failover(const std::string& to, OpDone done) {
  const ClusterState& s = state();
  if (to.empty()) return done({400, "failover needs a target: --to <member>"});
  if (!is_member(cfg_, to)) return done({404, "unknown member '" + to + "'"});
  if (s.init != InitKind::done) return done({409, "the cluster is not bootstrapped"});
  if (to == s.primary) return done({409, to + " is already the primary"});
  if (!s.primary.empty() && s.ready_epoch == s.epoch && !watch_.expired(s.epoch, mono_ms()))
    return switchover(to, true, std::move(done));  // a healthy primary: hand over cleanly
  DeciderInput in = decider_input();
  in.maximum_lag_on_failover = UINT64_MAX;  // the operator accepts the lag
  Ranking r = rank_candidates(in, s.primary);
  if (auto it = r.excluded.find(to); it != r.excluded.end() && to != s.primary)
    return done({409, to + " cannot be promoted: " + it->second});
  if (!s.primary.empty() && !watch_.expired(s.epoch, mono_ms()))
    return done({409, "the lease of " + s.primary + " has not expired yet; retry in " +
                          std::to_string(watch_.remaining(s.epoch, mono_ms())) + " ms"});
  Command c;
  c.type = CmdType::set_primary;
  c.node = to;
  c.epoch = s.epoch;
  c.reason = "failover: manual to " + to;
  propose(c, [this, done, to, epoch = s.epoch](bool ok) {
    if (!ok) return done({503, "the failover could not be committed (no quorum?)"});
    if (state().primary == to && state().epoch == epoch + 1) return done({200, "failover to " + to + " committed"});
    done({409, "the cluster changed meanwhile; check `pgwarden ctl list`"});
  });
}

void Agent::set_paused(bool paused, OpDone done) {
  Command c;
  c.type = CmdType::pause;
  c.flag = paused;
  propose(c, [done, paused](bool ok) {
    if (!ok) return done({503, "could not be committed (no quorum?)"});
    done({200, paused ? "paused: no automatic failover until resume" : "resumed"});
  });
}

void Agent::reinit(const std::string& member, OpDone done) {
  const ClusterState& s = state();
  if (!is_member(cfg_, member)) return done({404, "unknown member '" + member + "'"});
  if (member == s.primary) return done({409, member + " is the primary; switch over first"});
  Command c;
  c.type = CmdType::reinit;
  c.node = member;
  propose(c, [done, member](bool ok) {
    if (!ok) return done({503, "could not be committed (no quorum?)"});
    done({200, member + " will move its data directory aside and clone again"});
  });
}

void Agent::reset_cluster(const std::string& confirm, OpDone done) {
  const ClusterState& s = state();
  if (confirm != cfg_.cluster_name)
    return done({400, "reset-cluster needs --confirm " + cfg_.cluster_name + " (the cluster name)"});
  if (!s.primary.empty() && !watch_.expired(s.epoch, mono_ms()))
    return done({409, s.primary + " holds a live lease; reset-cluster is for a cluster without a primary"});
  Command c;
  c.type = CmdType::reset_cluster;
  c.reason = "reset-cluster by operator";
  propose(c, [done](bool ok) {
    if (!ok) return done({503, "could not be committed (no quorum?)"});
    done({200, "cluster state reset: the members will bootstrap again (existing data is adopted, never deleted)"});
  });
}

}  // namespace pw::node
