// node/lease_renewer.h — the holder's side of I1: proposes `renew` every
// lease/4 while this node holds the lock, and at once again when the raft
// leader changes under a renewal in flight (a renewal sent to a vanished
// leader is never answered; waiting for it would run into the fence margin).
#pragma once

#include <cstdint>

#include "node/agent_context.h"

namespace pw::node {

class LeaseRenewer {
 public:
  explicit LeaseRenewer(AgentContext& ctx) : ctx_(ctx) {}
  /// One loop turn; `blocked_epoch` is an epoch we fenced or released (no
  /// renewal for it).
  void run(uint64_t blocked_epoch);
  /// The raft leader changed: a renewal in flight may be lost.
  void leader_changed();
  /// Forget everything (a restarted process starts with no lease).
  int64_t last_proposed() const { return last_proposed_; }

 private:
  AgentContext& ctx_;
  uint64_t seq_ = 0;
  int64_t last_proposed_ = 0;
  bool inflight_ = false;
  uint64_t inflight_leader_ = 0;  // raft leader known when the renewal in flight was proposed
};

}  // namespace pw::node
