// ha/primary_controller.h — this node as primary (DESIGN I2, §6): fences
// PostgreSQL when the lease is gone or nearly gone; when it holds the lock,
// starts or promotes PostgreSQL only under the lease and after every member
// acknowledged the epoch (I3), prepares the role and slots, announces
// `ready`, and releases the lock when its PostgreSQL stays dead.
#pragma once

#include <cstdint>

#include "ha/agent_context.h"

namespace pw::node {

class PrimaryController {
 public:
  explicit PrimaryController(AgentContext& ctx) : ctx_(ctx) {}
  /// I2: stops a writable PostgreSQL this node may no longer run
  /// read-write. `exempt` (bootstrap before the lease, a switchover's own
  /// clean stop) skips it. Returns true when it started the demotion.
  bool fence_if_needed(bool exempt);
  /// The lock is ours: drive PostgreSQL to a prepared primary (running
  /// read-write under the lease, role and slots in place). Returns true once
  /// it is.
  bool reconcile();
  /// Proposes `ready` for the current epoch (clients may come). Returns true
  /// once it is applied.
  bool announce_ready();
  /// Our PostgreSQL exited on its own while we were primary.
  void postgres_died();
  /// A fence's clean (fast) stop is under way but the lease is confirmed
  /// again (a renewal got through after an election): stop at once instead,
  /// so PostgreSQL restarts now. A fast shutdown waits for every walsender
  /// to deliver the shutdown checkpoint, and one streaming to an unreachable
  /// standby held the holder down until that standby came back (issue 21).
  void hurry_fence();

 private:
  /// Right after start(primary): arms the fencer with the new postmaster's
  /// pid and our lease's end, before the start is reported.
  void arm_while_starting();

  AgentContext& ctx_;
  uint64_t ready_proposed_ = 0;
  int64_t pg_down_since_ = 0;  // our PostgreSQL found dead while primary
  bool fencing_fast_ = false;  // a fence's fast stop is in progress
};

}  // namespace pw::node
