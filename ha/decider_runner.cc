// ha/decider_runner.cc — see decider_runner.h.
#include "ha/decider_runner.h"

#include "base/log.h"

namespace pw::node {

void DeciderRunner::run() {
  consensus::RaftNode* raft = ctx_.raft;
  if (!raft || !raft->is_leader()) {
    diags_.clear();
    return;
  }
  // A new leader may not have applied every entry committed before its term.
  // Deciding on that older view could replace a holder whose renewal is
  // already committed, so the decider waits until a barrier of its own term
  // is applied: everything before it is then applied.
  uint64_t term = raft->term();
  if (barrier_term_ != term) {
    barrier_term_ = term;
    barrier_index_ = 0;
    Command b;
    b.type = CmdType::barrier;
    b.node = ctx_.self();
    raft->propose(b.encode(), [this, term](const consensus::ProposalResult& r) {
      if (barrier_term_ != term) return;
      if (r.committed) barrier_index_ = r.index;
      else barrier_term_ = 0;  // retry next turn
      ctx_.kick();
    });
    return;
  }
  if (barrier_index_ == 0 || ctx_.sm.last_index() < barrier_index_) return;
  if (inflight_) return;
  const ClusterState& s = ctx_.state();
  Decision d = decide(input());
  diags_ = d.diagnostics;
  if (!d.propose) return;
  d.propose->wall_ms = ctx_.world.wall_ms();
  PW_INFO("decider", "proposing %s node=%s epoch=%llu term=%llu reason=\"%s\"", cmd_name(d.propose->type),
          d.propose->node.c_str(), static_cast<unsigned long long>(s.epoch), static_cast<unsigned long long>(term),
          d.propose->reason.c_str());
  inflight_ = true;
  raft->propose(d.propose->encode(), [this](const consensus::ProposalResult& r) {
    inflight_ = false;
    if (!r.committed) PW_INFO("decider", "proposal %s: %s", r.maybe_committed ? "outcome unknown" : "dropped",
                              r.error.c_str());
    // Unknown (consensus timed it out): it may still commit. Decide again
    // only after a new barrier is applied — the decision is then in the
    // applied state or never will be, and the next one starts from that.
    if (r.maybe_committed) barrier_term_ = 0;
    ctx_.kick();
  });
}

DeciderInput DeciderRunner::input() const {
  const ClusterState& s = ctx_.state();
  const conf::Config& cfg = ctx_.cfg;
  int64_t now = ctx_.now();
  DeciderInput in;
  in.state = &s;
  in.members = ctx_.member_names();
  in.seen = ctx_.members.seen(now);
  in.self = ctx_.self();
  in.now_ms = now;
  const LeaseWatch& w = ctx_.lease.watch;
  in.lease_expired = !s.primary.empty() && w.expired(s.epoch, now);
  in.holder_gone_ms = s.primary.empty() ? w.last_renewal(s.epoch) : w.last_renewal(s.epoch) + ctx_.lease.params.wait_ms();
  // A status carries its probe's age (MemberStatus::probe_age_ms); this
  // margin covers the transit on top, and a version-3 sender, whose age is
  // unknown, sends the previous loop turn's probe: up to two turns old plus
  // the probe's own duration.
  in.status_lag_ms = 3 * cfg.ha_loop_interval_ms;
  in.claim_age_ms = now - ctx_.lease.claim_applied_at;
  in.bootstrap_timeout_ms = cfg.ha_bootstrap_timeout_ms;
  in.claimant_silence_ms = cfg.ha_lease_ms;  // as long as a holder may stay silent
  in.maximum_lag_on_failover = cfg.ha_maximum_lag_on_failover;
  in.synchronous_mode = cfg.ha_synchronous_mode;
  in.reinit_when_all_empty = cfg.bootstrap_reinit_when_all_empty;
  in.wall_ms = ctx_.world.wall_ms();
  in.applied_index = ctx_.sm.last_index();
  return in;
}

}  // namespace pw::node
