// ha/membership_controller.h — membership changes as the agent carries
// them out (consensus/membership.h for the Raft side): `ctl member add`
// (a learner first), `ctl member remove`, promoting a learner once its
// PostgreSQL streams, and keeping pg_hba's member addresses in line with
// the membership.
//
// `member remove X` runs in two phases through the log, because the node
// that takes the request decides on its own view and the raft leader may
// change the configuration much later (it hands leadership over first when
// it is X itself):
//  1. the receiving node checks its view (fast refusals), then proposes
//     `mark_removal X`. Once that is applied, no command makes X the lock
//     holder or adds it to the synchronous set (cluster_state.cc refuses
//     them at apply), the decider never promotes it and the primary's sync
//     controller narrows it out of the set by the usual rule.
//  2. the raft leader, once it has applied its term's barrier, re-runs the
//     refusals on the *applied* state: X holds the lock, X may hold the only
//     copy of the data, the members left could not form a quorum → the mark
//     is withdrawn (`end_removal`, logged with the reason); X in the
//     committed synchronous set → it waits up to removal_wait_ms() for the
//     primary to narrow X out, then withdraws. Otherwise it changes the raft
//     configuration (handing leadership over first when it is X) and then
//     ends the removal. Because the mark stays until then, the checks still
//     hold when the change commits. A new leader finds the mark in the state
//     and finishes or withdraws it the same way.
// The receiving node answers its caller once the removal is committed (200)
// or withdrawn (409 with the reason), or 504 when neither is seen in time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ha/agent_context.h"
#include "ha/decider_runner.h"
#include "ha/op_result.h"

namespace pw::node {

class MembershipController {
 public:
  MembershipController(AgentContext& ctx, const DeciderRunner& decider) : ctx_(ctx), decider_(decider) {}
  /// One loop turn: pg_hba follows the membership; on the raft leader,
  /// caught-up learners are promoted and a pending removal proceeds (phase
  /// 2); a caller waiting here for a removal is answered once it ended.
  void run();
  /// Adds `name` at host:port (port 0 = this node's raft port) as a
  /// learner; `stay_learner` keeps it one (never promoted, e.g. a DR replica).
  void add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
           OpDone done);
  /// Phase 1 (see the file comment); `done` once the removal ended.
  void remove(const std::string& name, OpDone done);
  /// The voter that takes raft leadership from `leaving` (0: none known alive).
  uint64_t handover_target(const consensus::Membership& m, uint64_t leaving) const;
  /// How long the leader waits for the primary to narrow a member being
  /// removed out of the committed synchronous set before it withdraws.
  int64_t removal_wait_ms() const;

 private:
  /// Why removing `name` is refused on this node's view of the applied
  /// state ("" = it is not), not counting the synchronous set.
  std::string refusal(const std::string& name) const;
  void propose(consensus::Membership to, const std::string& what, OpDone done);
  void sync_hba();
  void promote_learners();
  void drive_removal();
  void end_removal(const std::string& name, bool removed, const std::string& note);
  void answer_waiter();

  AgentContext& ctx_;
  const DeciderRunner& decider_;
  uint64_t hba_epoch_ = UINT64_MAX;  // roster epoch pg_hba was last written for
  bool hba_busy_ = false;
  bool changing_ = false;            // a change of ours is in flight
  bool ending_ = false;              // an end_removal of ours is in flight
  struct Waiter {                    // this node's caller of `member remove`
    std::string name;
    OpDone done;
    int64_t deadline = 0;            // answer 504 (outcome unknown) after this
    bool marked = false;             // the mark was applied here
  };
  std::optional<Waiter> waiter_;
  struct Drive {                     // phase 2, on the raft leader
    std::string name;
    uint64_t term = 0;
    int64_t since = 0;               // when this leader took it up (its clock)
    bool waiting_logged = false;
  };
  std::optional<Drive> drive_;
};

}  // namespace pw::node
