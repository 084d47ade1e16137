// ha/agent_ops.cc — operator requests (switchover, failover, pause,
// reinit, reset-cluster): validated against this node's view, then
// committed through Raft. Any node may receive them; Raft forwards the
// proposal to the leader. Failover and reset-cluster are committed as
// *requests* that the decider carries out after its barrier and the lease
// wait (I1): the receiving node's view may lag, so it never moves the lock.
#include "ha/agent.h"

#include <algorithm>

#include "base/log.h"

namespace pw::node {

namespace {
// Tagged nofailover by its last status: never made primary, --force or not
// (a DR replica is not a place to run the cluster from).
bool tagged_nofailover(const AgentContext& ctx, const std::string& m) {
  const auto seen = ctx.members.seen(ctx.now());
  auto it = seen.find(m);
  return it != seen.end() && it->second.status.nofailover;
}

// The answer to an operator whose request was not known to commit: 503 when
// it certainly did not (safe to retry), 504 when its outcome is unknown (it
// may still take effect: look before asking again).
OpResult not_committed(ProposalOutcome o, const std::string& what) {
  if (o == ProposalOutcome::unknown)
    return {504, "the outcome of the " + what + " is unknown (no quorum reachable from this node?): it may still "
                 "take effect; check `pgwarden ctl list` before asking again"};
  return {503, "the " + what + " could not be committed (no quorum?)"};
}
}  // namespace

void Agent::switchover(const std::string& to, bool force, int64_t at_ms, OpDone done) {
  const ClusterState& s = state();
  if (at_ms != 0 && s.scheduled_switchover)
    return done({409, "a switchover is already scheduled (from " + s.scheduled_switchover->from + "); cancel it "
                      "first with `pgwarden ctl flush switchover`"});
  if (s.init != InitKind::done || s.primary.empty() || s.ready_epoch != s.epoch)
    return done({409, "no ready primary to switch over from; use failover --to instead"});
  if (s.switchover) return done({409, "a switchover is already pending: " + s.switchover->first + " -> " + s.switchover->second});
  if (!to.empty()) {
    if (!ctx_.is_member(to)) return done({404, "unknown member '" + to + "'"});
    if (to == s.primary) return done({409, to + " is already the primary"});
    if (tagged_nofailover(ctx_, to)) return done({409, to + " is tagged nofailover: it is never made primary"});
    if (to == s.removing) return done({409, to + " is being removed (pgwarden ctl member remove): never made primary"});
    if (!force) {
      Ranking r = rank_candidates(decider_.input(), s.primary, false);
      if (auto it = r.excluded.find(to); it != r.excluded.end())
        return done({409, to + " cannot take over: " + it->second + " (use --force to try anyway)"});
    }
  }
  Command c;
  c.type = CmdType::switchover;
  c.node = s.primary;
  c.to = to;
  if (at_ms != 0) {
    c.type = CmdType::schedule_switchover;
    c.seq = static_cast<uint64_t>(at_ms);
    return ctx_.propose(c, [this, done, to, primary = s.primary, at_ms](ProposalOutcome o) {
      if (o != ProposalOutcome::committed) return done(not_committed(o, "scheduled switchover"));
      const ClusterState& now = state();
      if (!now.scheduled_switchover || now.scheduled_switchover->at_ms != at_ms)
        return done({409, "the cluster changed meanwhile (a new primary, or another switchover scheduled); check "
                          "`pgwarden ctl list`"});
      done({200, "switchover from " + primary + " to " + (to.empty() ? "the best standby" : to) +
                     " scheduled; `pgwarden ctl flush switchover` cancels it"});
    });
  }
  ctx_.propose(c, [done, to, primary = s.primary](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "switchover"));
    done({200, "switchover from " + primary + " to " + (to.empty() ? "the best standby" : to) + " started"});
  });
}

void Agent::failover(const std::string& to, bool accept_data_loss, const std::string& confirm, OpDone done) {
  const ClusterState& s = state();
  if (to.empty()) return done({400, "failover needs a target: --to <member>"});
  if (accept_data_loss && confirm != ctx_.cfg.cluster_name)
    return done({400, "failover --accept-data-loss needs --confirm " + ctx_.cfg.cluster_name + " (the cluster name)"});
  if (!ctx_.is_member(to)) return done({404, "unknown member '" + to + "'"});
  if (s.init != InitKind::done) return done({409, "the cluster is not bootstrapped"});
  if (to == s.primary) return done({409, to + " is already the primary"});
  if (tagged_nofailover(ctx_, to)) return done({409, to + " is tagged nofailover: it is never made primary"});
  if (to == s.removing) return done({409, to + " is being removed (pgwarden ctl member remove): never made primary"});
  const bool holder_alive = !s.primary.empty() && !ctx_.lease.watch.expired(s.epoch, ctx_.now());
  if (holder_alive && s.ready_epoch == s.epoch)
    return switchover(to, true, std::move(done));  // a healthy primary: hand over cleanly
  DeciderInput in = decider_.input();
  in.maximum_lag_on_failover = UINT64_MAX;  // the operator accepts the lag
  if (accept_data_loss) in.synchronous_mode = false;  // ... and the loss (the decider re-checks)
  Ranking r = rank_candidates(in, s.primary);
  // Only behind the newest timeline: waived with the loss too, as the
  // decider does (decide_requests; its failover_blocked_timeline advises it).
  const bool behind = std::find(r.behind.begin(), r.behind.end(), to) != r.behind.end();
  if (auto it = r.excluded.find(to); it != r.excluded.end() && !holder_alive && !(accept_data_loss && behind))
    return done({409, to + " cannot be promoted: " + it->second +
                          (!accept_data_loss && (behind || (ctx_.cfg.ha_synchronous_mode &&
                                                            it->second.rfind("synchronous mode", 0) == 0))
                               ? "; if the members that may hold the latest acknowledged commits are gone for "
                                 "good: add --accept-data-loss --confirm " + ctx_.cfg.cluster_name
                               : std::string())});
  Command c;
  c.type = CmdType::request_failover;
  c.node = to;
  c.epoch = s.epoch;
  c.flag = accept_data_loss;
  c.reason = "failover: manual to " + to;
  if (accept_data_loss)
    PW_WARN("agent", "failover to %s requested accepting the loss of acknowledged writes epoch=%llu", to.c_str(),
            static_cast<unsigned long long>(s.epoch));
  std::string holder = s.primary;
  ctx_.propose(c, [this, done, to, holder, accept_data_loss, epoch = s.epoch](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "failover request"));
    const ClusterState& now = state();
    if (now.epoch != epoch && now.primary == to) return done({200, "failover to " + to + " done"});
    if (now.failover_to != to || now.failover_epoch != epoch)
      return done({409, "the cluster changed meanwhile; check `pgwarden ctl list`"});
    done({200, "failover to " + to + " requested" + (accept_data_loss ? " (data loss accepted)" : "") +
                   ": the decider promotes it once " +
                   (holder.empty() ? std::string("it is eligible") : "the lease of " + holder + " has expired") +
                   "; follow it with `pgwarden ctl list`" +
                   (accept_data_loss ? ", the accepted loss is recorded in `pgwarden ctl history`" : "")});
  });
}

void Agent::set_paused(bool paused, OpDone done) {
  Command c;
  c.type = CmdType::pause;
  c.flag = paused;
  ctx_.propose(c, [done, paused](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, paused ? "pause" : "resume"));
    done({200, paused ? "paused: no automatic failover until resume" : "resumed"});
  });
}

void Agent::reinit(const std::string& member, OpDone done) {
  const ClusterState& s = state();
  if (!ctx_.is_member(member)) return done({404, "unknown member '" + member + "'"});
  if (member == s.primary) return done({409, member + " is the primary; switch over first"});
  if (s.primary.empty() || s.ready_epoch != s.epoch)
    return done({409, "no ready primary to clone from: reinit would leave " + member +
                          " empty (and its data moved aside) until there is one; retry once a primary runs"});
  if (ctx_.cfg.ha_synchronous_mode) {
    // I4: a member of the committed synchronous set (or, with no primary,
    // the last holder) may be the only one with some acknowledged commits;
    // moved aside, they could only be brought back by hand.
    if (in_sync_set(s, member))
      return done({409, member + " is in the synchronous standby set and may hold acknowledged commits no "
                                 "other standby has; stop its PostgreSQL (the primary then drops it from the "
                                 "set) and reinit it after that"});
  }
  Command c;
  c.type = CmdType::reinit;
  c.node = member;
  ctx_.propose(c, [done, member](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "reinit request"));
    done({200, member + " will move its data directory aside and clone again"});
  });
}

void Agent::reset_cluster(const std::string& confirm, OpDone done) {
  const ClusterState& s = state();
  if (confirm != ctx_.cfg.cluster_name)
    return done({400, "reset-cluster needs --confirm " + ctx_.cfg.cluster_name + " (the cluster name)"});
  if (!s.primary.empty() && !ctx_.lease.watch.expired(s.epoch, ctx_.now()))
    return done({409, s.primary + " holds a live lease; reset-cluster is for a cluster without a primary"});
  Command c;
  c.type = CmdType::request_reset;
  c.reason = "reset-cluster by operator";
  ctx_.propose(c, [done](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "reset-cluster request"));
    done({200, "reset-cluster requested: the members will bootstrap again once no primary can write "
               "(existing data is adopted, never deleted)"});
  });
}

void Agent::restart(const std::vector<std::string>& members, const std::string& role, bool pending_only,
                    int64_t at_ms, OpDone done) {
  const ClusterState& s = state();
  if (s.init != InitKind::done) return done({409, "the cluster is not bootstrapped"});
  if (!role.empty() && role != "any" && role != "primary" && role != "replica")
    return done({400, "--role must be primary, replica or any, not '" + role + "'"});
  if (!s.restarts.empty())
    return done({409, "a restart is already scheduled or running (" + s.restarts.front().member +
                      "'s turn); wait for it or cancel it with `pgwarden ctl flush restart`"});
  std::vector<std::string> chosen = members.empty() ? ctx_.member_names() : members;
  for (const auto& m : chosen)
    if (!ctx_.is_member(m)) return done({404, "unknown member '" + m + "'"});
  // Replicas first, in the order given, one at a time; the primary last, so
  // that it restarts once, onto standbys already running the new settings.
  std::vector<std::string> order;
  bool primary_too = false;
  for (const auto& m : chosen) {
    if (std::find(order.begin(), order.end(), m) != order.end()) continue;
    if (m == s.primary) primary_too = true;
    else if (role != "primary") order.push_back(m);
  }
  if (primary_too && role != "replica") order.push_back(s.primary);
  if (order.empty()) return done({409, "no member matches --role " + role});
  Command c;
  c.type = CmdType::schedule_restart;
  c.members = order;
  c.flag = pending_only;
  c.seq = static_cast<uint64_t>(at_ms);
  std::string list;
  for (const auto& m : order) list += (list.empty() ? "" : ", ") + m;
  ctx_.propose(c, [done, list, at_ms, pending_only](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "restart request"));
    done({200, std::string(at_ms ? "restart scheduled" : "restarting") + " PostgreSQL on " + list +
                   " in that order, one at a time" + (pending_only ? " (those with a pending restart)" : "") +
                   "; follow it with `pgwarden ctl list`"});
  });
}

void Agent::reload(const std::vector<std::string>& members, OpDone done) {
  for (const auto& m : members)
    if (!ctx_.is_member(m)) return done({404, "unknown member '" + m + "'"});
  Command c;
  c.type = CmdType::reload;
  c.members = members;
  ctx_.propose(c, [done, all = members.empty()](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "reload request"));
    done({200, std::string("PostgreSQL reloads its configuration on ") + (all ? "every member" : "the members named") +
                   " (pg_reload_conf); parameters that need a restart show as pending restart in `pgwarden ctl list`"});
  });
}

void Agent::flush(const std::string& member, const std::string& what, OpDone done) {
  const ClusterState& s = state();
  if (what != "restart" && what != "switchover")
    return done({400, "flush cancels 'restart' or 'switchover', not '" + what + "'"});
  if (what == "switchover" && !s.scheduled_switchover) return done({404, "no switchover is scheduled"});
  if (what == "restart") {
    bool any = std::any_of(s.restarts.begin(), s.restarts.end(),
                           [&](const ScheduledRestart& r) { return member.empty() || r.member == member; });
    if (!any) return done({404, "no restart is scheduled" + (member.empty() ? std::string() : " for " + member)});
  }
  Command c;
  c.type = CmdType::flush;
  c.node = what == "restart" ? member : "";
  c.reason = what;
  ctx_.propose(c, [done, what, member](ProposalOutcome o) {
    if (o != ProposalOutcome::committed) return done(not_committed(o, "flush"));
    done({200, "scheduled " + what + (member.empty() || what != "restart" ? "" : " of " + member) +
                   " cancelled (a restart already under way on a member completes)"});
  });
}

// Raft forwards the request to the leader, which catches the target up and
// sends it TimeoutNow; the answer only says it was asked. The leader moves
// leadership back to the lock holder once the holder has been a healthy
// voter for a while (LeaderPlacement), so this is for tests and short
// maintenance of the raft leader's host, not a lasting placement.
void Agent::transfer_leadership(const std::string& to, OpDone done) {
  if (!ctx_.raft) return done({503, "raft is not running yet"});
  uint64_t id = ctx_.member_id(to);
  if (id == 0) return done({404, "unknown member '" + to + "'"});
  auto it = std::find_if(ctx_.roster().begin(), ctx_.roster().end(),
                         [id](const AgentContext::RosterEntry& e) { return e.id == id; });
  if (it == ctx_.roster().end() || !it->voter) return done({409, to + " is not a voter: it cannot lead"});
  if (ctx_.raft->leader_id() == id) return done({200, to + " already leads"});
  if (ctx_.raft->leader_id() == 0) return done({503, "no raft leader known to hand over from"});
  ctx_.raft->transfer_leadership(id);
  done({200, "asked " + ctx_.member_name(ctx_.raft->leader_id()) + " to hand raft leadership to " + to +
                 "; follow it with `pgwarden ctl list` (decider)"});
}

}  // namespace pw::node
