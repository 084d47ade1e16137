// ha/decider_runner.h — runs the decider (decider.h) when this node is
// the raft leader: first a barrier of its own term (so every entry
// committed before the term — a lease renewal, say — is applied here),
// then decide() on this node's view, proposing at most one command at a
// time. Also builds the DeciderInput the operator checks use.
#pragma once

#include <cstdint>

#include "ha/agent_context.h"
#include "ha/decider.h"

namespace pw::node {

class DeciderRunner {
 public:
  explicit DeciderRunner(AgentContext& ctx) : ctx_(ctx) {}
  /// One turn: barrier, then decide and propose. Clears the diagnostics
  /// when this node is not the leader.
  void run();
  /// Everything the decider's rules read, from this node's view.
  DeciderInput input() const;
  /// This node is the raft leader and has applied its term's barrier: its
  /// applied state holds everything committed before its term.
  bool caught_up() const {
    return ctx_.raft && ctx_.raft->is_leader() && barrier_term_ == ctx_.raft->term() && barrier_index_ != 0 &&
           ctx_.sm.last_index() >= barrier_index_;
  }
  /// What blocks the decider (empty unless this node is the leader).
  const Diagnostics& diagnostics() const { return diags_; }

 private:
  AgentContext& ctx_;
  uint64_t barrier_term_ = 0;   // term whose barrier was proposed
  uint64_t barrier_index_ = 0;  // its committed index (0 = not yet)
  bool inflight_ = false;
  Diagnostics diags_;
};

}  // namespace pw::node
