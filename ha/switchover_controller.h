// ha/switchover_controller.h — the old primary's side of a planned
// switchover (DESIGN §6): wait until every member's proxy withdrew the route
// (bounded), let the proxies' connects in flight and running
// statements finish (bounded wait for client sessions), stop PostgreSQL cleanly (shutdown checkpoint), wait
// until the target replayed the final WAL, then release the lock to it.
// Aborts (clear_switchover) when no target can take over.
#pragma once

#include <cstdint>
#include <string>

#include "ha/agent_context.h"
#include "ha/decider_runner.h"

namespace pw::node {

class SwitchoverController {
 public:
  SwitchoverController(AgentContext& ctx, const DeciderRunner& decider) : ctx_(ctx), decider_(decider) {}
  /// A switchover from this node is committed: one turn of it.
  void reconcile();
  /// The switchover entry was applied at raft index `index`: every member's
  /// route built at or after it holds new clients.
  void applied_at(uint64_t index) { committed_index_ = index; }
  /// No switchover (any more): forget a stopped one.
  void reset();
  /// True from the clean stop until the lock is handed over: PostgreSQL
  /// is stopped on purpose, so fencing must not interfere.
  bool switching() const { return switching_; }

 private:
  void abort(const std::string& why);
  /// The fresh members (status v6) whose proxy has not published a route
  /// past withdraw_index_ yet, comma-separated; "" = none.
  std::string not_withdrawn(int64_t now) const;

  AgentContext& ctx_;
  const DeciderRunner& decider_;
  bool switching_ = false;
  int64_t started_ = 0;
  int64_t drain_until_ = 0;  // a drain is running (its bound), 0 = none
  bool drained_ = false;     // client sessions gone (or the drain's bound passed)
  int64_t withdraw_since_ = 0;   // waiting for the members' proxies since (0 = not yet)
  uint64_t withdraw_index_ = 0;  // ... to publish a route built at this raft index or later
  uint64_t committed_index_ = 0; // index of the switchover entry (0 = not seen: restored from a snapshot)
  std::string target_;
};

}  // namespace pw::node
