// ha/bootstrap_controller.h — runs the bootstrap this node claimed
// (DESIGN §5, I5): initdb, first start, replication role, slots, then
// `bootstrap_done`; and disposes of the remains of an attempt that did not
// become the cluster (moved aside, never deleted).
//
// A restarted node replays an old claim before it knows whether the claim
// is still current, so before initdb it reads the claim back through the
// log (a barrier proposed and applied here: everything committed before it
// is then applied), and before every later step it checks again that the
// same claim is still its own.
#pragma once

#include <cstdint>

#include "ha/agent_context.h"

namespace pw::node {

class BootstrapController {
 public:
  explicit BootstrapController(AgentContext& ctx) : ctx_(ctx) {}
  /// The claim is ours: run (or wait for) the bootstrap.
  void reconcile();
  /// True while this process runs a bootstrap chain (its PostgreSQL is
  /// read-write before the lease exists: nothing to protect yet).
  bool running() const { return running_; }
  /// The cluster moved on (claim gone, or our bootstrap became the cluster).
  void settle();
  /// A directory left by an attempt of ours that did not become the
  /// cluster: stop PostgreSQL / move it aside. Returns true if it acted.
  bool dispose_abandoned();
  /// The claim at `claim_index` is ours and still current in the applied state.
  bool claim_is_current(uint64_t claim_index) const;

 private:
  bool abandoned_dir() const;
  void run_chain(uint64_t claim);
  void fail(uint64_t claim, const std::string& step, const std::string& error);
  /// Proposes `bootstrap_done` for `claim`, again while its outcome is unknown.
  void commit_done(const Command& c, uint64_t claim);

  AgentContext& ctx_;
  bool running_ = false;
  uint64_t failed_claim_ = 0;      // claim index whose bootstrap failed here
  uint64_t confirm_claim_ = 0;     // claim whose read-back barrier is in flight / done
  uint64_t confirm_index_ = 0;     // the barrier's committed index (0 = not yet)
};

}  // namespace pw::node
