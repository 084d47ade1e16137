// ha/standby_controller.h — this node as a standby (DESIGN §6, I6):
// clone when empty, rewind a former primary before it follows anyone,
// start as standby, point a running standby at the current ready primary,
// re-clone on an operator's reinit, and stop to rewind when following does
// not work or replay went past the new primary's fork. A data directory
// is moved aside, never deleted.
#pragma once

#include <cstdint>
#include <string>

#include "ha/agent_context.h"

namespace pw::node {

class StandbyController {
 public:
  explicit StandbyController(AgentContext& ctx) : ctx_(ctx) {}
  void reconcile();

 private:
  bool primary_alive(const std::string& name) const;
  bool run_reinit();
  /// A running standby replayed past the point where the ready primary's
  /// timeline left ours (*fork): it must be rewound before it can follow.
  bool past_fork(uint64_t* fork);
  /// Stops PostgreSQL (fast) and marks the directory for a rewind (I6).
  void stop_to_rewind();

  AgentContext& ctx_;
  int64_t not_streaming_since_ = 0;  // running standby not streaming from a ready primary
  int64_t settings_restart_at_ = 0;  // last restart to raise settings to the primary's
  bool reinit_started_ = false;
};

}  // namespace pw::node
