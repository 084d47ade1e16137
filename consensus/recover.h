// consensus/recover.h — getting out of a lost quorum: rewriting the
// membership of one survivor's Raft log to the members that are left
// (`pgwarden recover --force-members`). Offline only: the daemon of this
// node must be stopped.
//
// What it writes: one config entry after the last entry of this node's log,
// in a term above every term it has seen, naming the survivors (as voters;
// the dropped members' ids are never reused, so their old disks are refused
// if they come back), and a hard state that commits it. Every entry this
// node holds is kept and so becomes committed, including those it could not
// prove were committed (they were proposed by a legitimate leader, so
// committing them is a history Raft allowed); entries only the dropped
// members hold are lost. Before writing, the whole state directory is
// copied aside (nothing a user may want back is deleted).
//
// With several survivors, run it on one; the others start from an empty
// state directory (their old one moved aside) and are caught up by it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/raft_node.h"

namespace pw::consensus {

struct ForcedMembershipPlan {
  std::string state_dir;
  Membership in_force;     ///< the latest membership in this log
  Membership forced;       ///< what will be written (epoch = its index)
  std::vector<std::string> dropped;
  uint64_t term = 0;       ///< the current term here
  uint64_t commit = 0;     ///< committed here
  uint64_t last_index = 0;
  uint64_t new_term = 0;   ///< the term of the forced entry
  /// Human-readable: what is kept, what may be lost, what will happen.
  std::string describe() const;
};

/// Reads `opts.state_dir` (cluster name checked) and plans to keep only
/// `keep` (member names; must include this node and be members in force).
/// Throws std::runtime_error saying what is wrong and what to do.
ForcedMembershipPlan plan_forced_membership(const RaftOptions& opts,
                                            const std::vector<std::string>& keep);

/// Carries the plan out: copies the state directory to `backup_dir` (which
/// must not exist), then appends the forced config entry and commits it.
/// Throws std::runtime_error on any I/O error (the copy is left in place).
void apply_forced_membership(const RaftOptions& opts, const ForcedMembershipPlan& plan,
                             const std::string& backup_dir);

}  // namespace pw::consensus
