// ha/lease_renewer.h — the holder's side of I1: proposes `renew` every
// lease/6 (renewal_period_ms, lease.h) while this node holds the lock, and
// at once again when the raft leader changes under a renewal not yet
// confirmed (a renewal sent to a vanished leader is never answered; waiting
// for it would run into the fence margin).
#pragma once

#include <cstdint>

#include "ha/agent_context.h"

namespace pw::node {

class LeaseRenewer {
 public:
  explicit LeaseRenewer(AgentContext& ctx) : ctx_(ctx) {}
  /// One loop turn. A holder that fenced keeps renewing: if its renewals get
  /// through again it is still the lock holder and restarts PostgreSQL; if
  /// not, the decider replaces it after the lease wait. (Refusing to renew
  /// after a fence left a cluster without primary when no standby could take
  /// over, e.g. all on an older timeline — found by sim_ha.)
  void run();
  /// The raft leader changed: a renewal not yet confirmed may be lost.
  void leader_changed();
  /// Proposes a renewal now (if this node holds the lock), whatever the
  /// period: an in-place restart wants a whole lease for the new image.
  void renew_now() {
    last_proposed_ = 0;
    run();
  }

 private:
  AgentContext& ctx_;
  uint64_t seq_ = 0;
  int64_t last_proposed_ = 0;  // when the newest renewal was proposed (0: renew next turn)
};

}  // namespace pw::node
