// ha/leader_placement.cc — see leader_placement.h.
#include "ha/leader_placement.h"

#include <algorithm>

#include "base/log.h"

namespace pw::node {

bool LeaderPlacement::holder_healthy(uint64_t holder_id, int64_t now) const {
  const ClusterState& s = ctx_.state();
  if (s.ready_epoch != s.epoch || s.switchover) return false;
  const auto& roster = ctx_.roster();
  auto it = std::find_if(roster.begin(), roster.end(), [&](const auto& e) { return e.id == holder_id; });
  if (it == roster.end() || !it->voter) return false;
  const MemberStatus* st = ctx_.members.fresh(s.primary, now);
  if (!st || !st->pg_running || !st->serving_known || !st->serving) return false;
  // Its renewals reach us: it applies them to hold its lease, so its raft
  // log is current too (a lagging target would only be caught up first).
  int64_t renewed = ctx_.lease.watch.last_renewal(s.epoch);
  return renewed != 0 && now - renewed <= 2 * renewal_period_ms(ctx_.cfg.ha_lease_ms);
}

void LeaderPlacement::run() {
  consensus::RaftNode* raft = ctx_.raft;
  if (!raft) return;
  {
    // The holder stands first in an election and the others, while they
    // believe it alive, defer to it (Core::set_election_priority): losing a
    // leader that is not the holder ends with the holder leading about one
    // election timeout later, well inside its fence point.
    const ClusterState& s = ctx_.state();
    const int64_t now = ctx_.now();
    using P = consensus::ElectionPriority;
    P p = P::normal;
    if (s.primary == ctx_.self() && ctx_.lease.hold.holds(s.epoch, now)) p = P::first;
    else if (!s.primary.empty() && s.primary != ctx_.self() && !ctx_.lease.watch.expired(s.epoch, now)) p = P::defer;
    raft->set_election_priority(p);
  }
  if (!raft->is_leader()) {
    healthy_since_ = 0;
    return;
  }
  const int64_t now = ctx_.now();
  if (raft->term() != healthy_term_) {
    healthy_term_ = raft->term();
    healthy_since_ = 0;
  }
  const ClusterState& s = ctx_.state();
  uint64_t holder = s.init == InitKind::done && !s.primary.empty() ? ctx_.member_id(s.primary) : 0;
  if (holder == 0 || holder == raft->self_id() || !holder_healthy(holder, now)) {
    healthy_since_ = 0;
    return;
  }
  if (healthy_since_ == 0) healthy_since_ = now;
  const int64_t settle = settle_ms(ctx_.cfg);
  if (last_attempt_ != 0 && now - last_attempt_ < settle) return;
  const bool just_ready = ready_applied_ms_ != 0 && now - ready_applied_ms_ < settle;
  if (!just_ready && now - healthy_since_ < settle) return;
  last_attempt_ = now;
  PW_INFO("agent", "raft leadership: handing it to the lock holder %s epoch=%llu term=%llu (%s)", s.primary.c_str(),
          static_cast<unsigned long long>(s.epoch), static_cast<unsigned long long>(raft->term()),
          just_ready ? "its epoch just became ready" : "it has been healthy under another leader");
  raft->transfer_leadership(holder);
}

}  // namespace pw::node
