// ha/decider.h — what the raft leader proposes next (DESIGN §5, §6).
// A pure function of the committed cluster state, the members' gossiped
// status, the lease watch and the clock: no I/O, so the simulation and unit
// tests drive exactly the code production runs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ha/cluster_state.h"
#include "ha/diagnostic.h"
#include "ha/member_status.h"

namespace pw::node {

struct SeenStatus {
  MemberStatus status;
  bool fresh = false;   // received within the freshness window
  int64_t received_ms = 0;  // deciding node's monotonic time of arrival (self: when built)
};

struct DeciderInput {
  const ClusterState* state = nullptr;
  std::vector<std::string> members;             // configured, in config order
  std::map<std::string, SeenStatus> seen;       // by member name (self included)
  std::string self;
  int64_t now_ms = 0;
  bool lease_expired = false;                   // LeaseWatch says the holder of state->epoch is gone
  int64_t holder_gone_ms = 0;                   // since when (monotonic) no holder can write: lease
                                                // expiry, or the epoch's start when nobody holds it
  int64_t status_lag_ms = 0;                    // margin on top of a status's probe age
                                                // (transit; the probe period if age unknown)
  int64_t claim_age_ms = 0;                     // since this node applied the current claim
  int64_t bootstrap_timeout_ms = 120000;
  int64_t claimant_silence_ms = 3000;           // a claimant silent this long is presumed dead
  uint64_t maximum_lag_on_failover = 1 << 20;
  bool synchronous_mode = false;
  bool reinit_when_all_empty = false;
  int64_t wall_ms = 0;                          // for history entries
  uint64_t applied_index = 0;                   // the state's last applied raft index
};

struct Decision {
  std::optional<Command> propose;
  Diagnostics diagnostics;
};

Decision decide(const DeciderInput& in);

/// Failover candidates ranked best first, and for every excluded member the
/// reason (for the "no failover candidate" diagnostic and `ctl list`).
struct Ranking {
  std::vector<std::string> ranked;
  std::map<std::string, std::string> excluded;
  /// Synchronous mode, failover: the members not heard since the holder
  /// stopped that may hold the latest acknowledged commit ("" = none).
  std::string sync_unheard;
  /// The newest timeline known: recorded in the state (the last ready
  /// primary's, survives daemon restarts) or reported by any member. A
  /// candidate on an older one lacks what was written after that timeline
  /// began — possibly acknowledged commits — and is not promoted.
  uint32_t timeline = 0;
  /// Members excluded only because they are on an older timeline.
  std::vector<std::string> behind;
};
/// `failover`: the holder is gone (in.holder_gone_ms). In synchronous mode a
/// failover candidate must then be proven to hold every acknowledged commit:
/// |C| - sync_acks + 1 members of the committed sync set C must have
/// reported since the holder was gone (sync_needed), and the candidate must
/// be a member of C (or the last holder) with the highest LSN among them
/// (I4). A switchover (false) needs none of that: the old primary hands over
/// only once its target replayed its final WAL.
Ranking rank_candidates(const DeciderInput& in, const std::string& exclude, bool failover = true);

}  // namespace pw::node
