// node/sync_controller.h — synchronous mode on the primary (I4): keeps
// PostgreSQL's synchronous_standby_names = ANY 1 (every streaming member)
// and the committed `sync` set such that the committed set always contains
// every standby PostgreSQL may wait for: commit the union before widening
// the setting, narrow the setting before committing the smaller set.
//
// Which standby holds an acknowledged commit is not known (ANY 1: any one
// of them), so failover must hear every member of the committed set and
// take the most advanced one (decider.cc, docs/operations.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/agent_context.h"

namespace pw::node {

class SyncController {
 public:
  explicit SyncController(AgentContext& ctx) : ctx_(ctx) {}
  /// One turn on a ready primary. Returns true while work is pending.
  bool reconcile();

 private:
  AgentContext& ctx_;
  uint64_t epoch_ = 0;                // epoch whose synchronous_standby_names we manage
  std::vector<std::string> pg_sync_;  // names PostgreSQL waits for (ANY 1)
  bool inflight_ = false;
};

}  // namespace pw::node
