// ha/membership_controller.h — membership changes as the agent carries
// them out (consensus/membership.h for the Raft side): `ctl member add`
// (a learner first), `ctl member remove` (raft leadership handed over
// first when the leader is the one removed), promoting a learner once its
// PostgreSQL streams, and keeping pg_hba's member addresses in line with
// the membership.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ha/agent_context.h"
#include "ha/op_result.h"

namespace pw::node {

class MembershipController {
 public:
  explicit MembershipController(AgentContext& ctx) : ctx_(ctx) {}
  /// One loop turn: pg_hba follows the membership; on the raft leader,
  /// caught-up learners are promoted and a pending removal proceeds.
  void run();
  /// Adds `name` at host:port (port 0 = this node's raft port) as a
  /// learner; `stay_learner` keeps it one (never promoted, e.g. a DR replica).
  void add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
           OpDone done);
  void remove(const std::string& name, OpDone done);
  /// The voter that takes raft leadership from `leaving` (0: none known alive).
  uint64_t handover_target(const consensus::Membership& m, uint64_t leaving) const;

 private:
  void propose(consensus::Membership to, const std::string& what, OpDone done);
  void sync_hba();
  void promote_learners();
  void continue_removal();

  AgentContext& ctx_;
  uint64_t hba_epoch_ = UINT64_MAX;  // roster epoch pg_hba was last written for
  bool hba_busy_ = false;
  bool changing_ = false;            // a change of ours is in flight
  struct PendingRemoval {
    std::string name;
    OpDone done;
    int64_t deadline = 0;            // propose anyway after this (the leader then steps down)
  };
  std::optional<PendingRemoval> removal_;
};

}  // namespace pw::node
