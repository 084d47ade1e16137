// ha/switchover_controller.h — the old primary's side of a planned
// switchover (DESIGN §6): let the proxies withdraw the route and running
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
  /// No switchover (any more): forget a stopped one.
  void reset();
  /// True from the clean stop until the lock is handed over: PostgreSQL
  /// is stopped on purpose, so fencing must not interfere.
  bool switching() const { return switching_; }

 private:
  void abort(const std::string& why);

  AgentContext& ctx_;
  const DeciderRunner& decider_;
  bool switching_ = false;
  int64_t started_ = 0;
  int64_t drain_until_ = 0;  // a drain is running (its bound), 0 = none
  bool drained_ = false;     // client sessions gone (or the drain's bound passed)
  std::string target_;
};

}  // namespace pw::node
