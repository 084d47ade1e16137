// ha/lease_renewer.cc — see lease_renewer.h.
#include "ha/lease_renewer.h"

#include <algorithm>

namespace pw::node {

void LeaseRenewer::leader_changed() {
  if (!ctx_.raft || ctx_.raft->leader_id() == 0) return;  // a proposal now would be dropped
  // The newest renewal was not confirmed: in flight to the old leader, or
  // dropped while no leader was known. Renew at once through the new one
  // rather than a period later: a leader change costs an election timeout
  // of the lease already (removing the raft leader fenced the primary). A
  // late commit of the older one extends nothing the new one does not.
  if (last_proposed_ > ctx_.lease.hold.confirmed_ms()) {
    last_proposed_ = 0;  // renew on the next turn, through the new leader
    ctx_.kick();
  }
}

void LeaseRenewer::run() {
  const ClusterState& s = ctx_.state();
  if (!ctx_.raft || s.init != InitKind::done || s.primary != ctx_.self()) return;
  if (ctx_.release_proposed == s.epoch) return;
  int64_t now = ctx_.now();
  int64_t period = renewal_period_ms(ctx_.cfg.ha_lease_ms);
  // Also while one is in flight: a renewal not committed within a period
  // is followed by another (the holder's route would lapse otherwise); a
  // late commit of the first extends nothing the second does not.
  if (now - last_proposed_ < period) return;
  // Sequence numbers must not repeat across restarts: a replayed renewal of
  // an earlier life with the same epoch and seq would otherwise extend our
  // lease from the time of a newer, maybe uncommitted, proposal.
  if (seq_ == 0) seq_ = static_cast<uint64_t>(ctx_.world.wall_ms()) << 20;
  uint64_t seq = ++seq_;
  Command c;
  c.type = CmdType::renew;
  c.node = ctx_.self();
  c.epoch = s.epoch;
  c.seq = seq;
  c.wall_ms = ctx_.world.wall_ms();
  ctx_.lease.hold.proposed(s.epoch, seq, now);
  last_proposed_ = now;
  // Its fate arrives through the log (LeaseHold::applied), not here.
  ctx_.raft->propose(c.encode(), [](const consensus::ProposalResult&) {});
}

}  // namespace pw::node
