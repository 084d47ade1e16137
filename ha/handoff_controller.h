// ha/handoff_controller.h — the leaving image's side of an in-place restart
// of pgwarden (ha/handoff.h; the daemon then execve()s itself, node/reexec.h).
// It brings this node to a point where a new image can take over without
// touching PostgreSQL, in three steps, each bounded:
//   1. settle: no pgctl operation in flight, no bootstrap or switchover of
//      ours, and a primary fully serving (state `primary`): nothing
//      half-done is lost with the old image's callbacks. Refused past the
//      bound (the caller says why).
//   2. raft leadership handed to another voter (the lock holder first): the
//      new image comes back as a follower of a leader that never left, so
//      its first renewal commits at once instead of after an election. Past
//      the bound it goes on without (a one-node cluster has nobody to hand
//      it to).
//   3. a primary's renewal proposed now and applied: the new image starts
//      with a whole lease to re-arm the fencer in. Refused past the bound
//      (a lease that cannot be renewed now would not be later either).
// From step 2 on the agent starts no new operation (frozen()), but fencing
// still runs: I2 never waits for a restart.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ha/agent_context.h"

namespace pw::node {

class LeaseRenewer;
class MembershipController;

class HandoffController {
 public:
  /// "" = ready: the agent's state may be carried over now.
  using Done = std::function<void(const std::string& error)>;
  HandoffController(AgentContext& ctx, LeaseRenewer& renewer, MembershipController& membership)
      : ctx_(ctx), renewer_(renewer), membership_(membership) {}

  /// Starts preparing; `done` runs once, from run() (or at once when a
  /// hand-off is already being prepared: refused).
  void begin(Done done);
  bool active() const { return step_ != Step::idle; }
  /// Past settling (and, once ready, until the image is replaced): the
  /// agent must start nothing new.
  bool frozen() const { return step_ == Step::leadership || step_ == Step::renewal || step_ == Step::ready; }
  /// One loop turn. `blocker` is what keeps the agent from settling ("" =
  /// settled; Agent::handoff_blocker()).
  void run(const std::string& blocker);

 private:
  enum class Step { idle, settling, leadership, renewal, ready };
  void enter(Step s);
  void finish(const std::string& error);

  AgentContext& ctx_;
  LeaseRenewer& renewer_;
  MembershipController& membership_;
  Step step_ = Step::idle;
  int64_t step_since_ = 0;
  int64_t renew_asked_ = 0;  // when step 3 asked for the renewal (0 = not yet)
  Done done_;
};

}  // namespace pw::node
