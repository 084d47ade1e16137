// ha/restart_controller.h — day-two operations this node carries out from
// the committed state (docs/operations.md, "Day two"):
//   * its turn in a restart plan (`ctl restart`, cluster_state.h restarts):
//     drains clients, stops PostgreSQL, lets the role's controller start it
//     again — a primary in place, under the same lease and epoch, so the
//     start path re-arms the fencer with the new postmaster (I2) — and
//     proposes restart_done once it serves (primary) or streams (standby)
//     again, which hands the turn to the next member;
//   * a scheduled switchover that is due, when this node is the primary;
//   * a committed `reload` that names this node (pg_reload_conf).
#pragma once

#include <cstdint>
#include <string>

#include "ha/agent_context.h"

namespace pw::node {

class RestartController {
 public:
  explicit RestartController(AgentContext& ctx) : ctx_(ctx) {}
  /// One loop turn; true when it started an operation (the caller's
  /// reconcile then waits for it).
  bool run();
  /// A committed reload was applied: pg_reload_conf when it names us.
  void reload_applied(const Command& c);

 private:
  enum class Phase { idle, draining, stopping, starting };
  void finish(const std::string& why);
  void run_scheduled_switchover();

  AgentContext& ctx_;
  Phase phase_ = Phase::idle;
  bool drained_ = false;
  bool was_primary_ = false;
  uint64_t done_proposed_index_ = 0;  // raft applied index when restart_done was proposed
  std::string done_for_;              // ... and for which plan entry (member@at)
  int64_t switchover_proposed_at_ = 0;  // the scheduled time we proposed a switchover for
};

}  // namespace pw::node
