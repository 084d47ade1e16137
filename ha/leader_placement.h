// ha/leader_placement.h — keeps the raft leader on the lock holder.
//
// The holder's lease renewals commit through the raft leader. When the
// leader is another member, that member's trouble (isolation, a crash, a
// frozen host) starts an election during which no renewal commits, and a
// long enough election runs the holder into its fence point: a standby's
// fault stopped the primary (issue 21). With the leader on the holder, a
// standby's fault costs the holder nothing, and the holder's own fault is a
// failover anyway.
//
// On every node: the holder asks its raft node to stand first when the
// leader is lost, the others to defer to it while they believe it alive
// (RaftNode::set_election_priority): the election then ends about one
// election timeout after the loss, with the holder leading.
//
// The raft leader, when it is not the holder, hands leadership to it
// (Raft's TimeoutNow, consensus/core.h transfer_leadership) once the holder
// is a healthy voter: its epoch is ready, its PostgreSQL serves, its status
// is fresh and its renewals reach this leader (so its raft log is current).
//   * at once when the epoch became ready recently (a failover or a
//     switchover just finished: the new holder gets the leadership);
//   * otherwise only after the holder has stayed healthy for settle_ms
//     (hysteresis: a holder whose network flaps does not pull leadership
//     back and forth, and an operator's transfer holds for that long);
//   * never more often than once per settle_ms.
#pragma once

#include <cstdint>

#include "ha/agent_context.h"

namespace pw::node {

class LeaderPlacement {
 public:
  explicit LeaderPlacement(AgentContext& ctx) : ctx_(ctx) {}
  /// One loop turn: the election priority on every node, transfers on the
  /// raft leader.
  void run();
  /// How long a holder must stay healthy under another leader before
  /// leadership moves to it (and the least time between two attempts).
  static int64_t settle_ms(const conf::Config& cfg) { return 3 * cfg.raft_election_timeout_ms; }
  /// The `ready` of the current epoch was applied here at `now_ms`.
  void epoch_ready(int64_t now_ms) { ready_applied_ms_ = now_ms; }

 private:
  bool holder_healthy(uint64_t holder_id, int64_t now) const;
  AgentContext& ctx_;
  int64_t healthy_since_ = 0;    // holder healthy under our leadership continuously since (0 = not)
  uint64_t healthy_term_ = 0;    // raft term of healthy_since_
  int64_t last_attempt_ = 0;     // when we last asked for a transfer
  int64_t ready_applied_ms_ = 0; // when this node applied the current epoch's `ready`
};

}  // namespace pw::node
