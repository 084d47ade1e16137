// ha/sync_controller.h — synchronous mode on the primary (I4).
//
// PostgreSQL runs with synchronous_standby_names = "ANY k (S)" (or "" =
// asynchronous) and the log holds the committed set C with a number q
// (ClusterState::sync_acks). The invariant kept is
//     every acknowledged commit is on at least q members of C, or C = ∅.
// Failover (decider.cc) then needs to hear |C| - q + 1 members of C — any
// acknowledged commit is on one of them — and promotes the most advanced of
// those heard; with C = ∅ only the last holder itself may come back.
// A commit acknowledged under "ANY k (S)" is on k members of S, so the
// setting (S, k) is safe against the committed (C, q) when
//     C = ∅, or S ≠ ∅, S ⊆ C and q ≤ k.
// Every step below changes (C, q) or (S, k) alone and keeps that: to go
// asynchronous, commit C = ∅ first; from asynchronous, set (S, k) = (D, kD)
// while C = ∅; to change (S, k) otherwise, first commit (C ∪ D, min(q, kD))
// when D ⊄ C or q > kD (widening: more members to hear), then set it; to
// commit (D, kD) over a wider or weaker (C, q) (narrowing, or raising q, or
// leaving asynchronous mode), wait until kD members of D have replayed past
// the primary's position measured after (S, k) = (D, kD) took effect:
// commits acknowledged before (by members that left S, by fewer members, or
// asynchronously) are then on kD members of D. Until then (C, q) still
// names the members that left, and a failover in that window waits to hear
// from them. (A first attempt at this wait broke I4 in sim_ha seed
// 680164127357; the cause was the decider counting a restarted member's
// first status — no probe yet, LSN 0 — as its position, closed by
// MemberStatus::probe_age_ms.)
//
// D, the members PostgreSQL should wait for: [ha] synchronous_node_count
// (k) of the streaming members that could be promoted, kD = min(k, |D|);
// members already in S are kept (no churn), then members of C, then by
// priority tag, replay position and name. The other streaming standbys are
// asynchronous: never waited for, never failover candidates. nofailover
// members are never in D (a commit acknowledged by a DR replica alone would
// leave failover without a candidate), nor members with a pending reinit
// (they stop, and move their data aside once C no longer names them), nor
// a member being removed (ClusterState::removing: narrowed out, then the
// raft leader removes it; membership_controller.h).
//
// No member in D: the primary goes asynchronous (commit C = ∅, then
// S = ""), logged and shown as the `sync_degraded` diagnostic — unless
// [ha] synchronous_mode_strict, which keeps S as it is (or sets a name no
// standby has): commits wait until a standby streams again.
//
// At a new epoch PostgreSQL's setting is unknown (inherited), so the first
// steps are C = ∅ then S = "" (strict: the placeholder name): no `ready`
// (no client) before that.
//
// A commit of C whose outcome is unknown (consensus timed it out: this node
// was cut off) may still apply later, out of step with S. The controller
// then proposes a barrier and decides nothing until one of its barriers
// commits: a proposal of this node is then applied or never will be (raft
// commits a node's proposals to one leader in the order they were sent, and
// an entry of an older term behind a newer committed one is dead).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ha/agent_context.h"

namespace pw::node {

/// The name strict mode puts in synchronous_standby_names when no standby
/// can be waited for: no member has it, so commits wait.
inline constexpr const char* kNoSyncStandbyName = "pgwarden.no-synchronous-standby";

/// "ANY k ("a","b")", or "" for no names: the value the agent writes.
std::string synchronous_standby_names(const std::vector<std::string>& names, size_t k);

class SyncController {
 public:
  explicit SyncController(AgentContext& ctx) : ctx_(ctx) {}
  /// One turn on the primary. Returns true while work is pending.
  bool reconcile();
  /// PostgreSQL's setting is known and safe for `epoch`.
  bool configured(uint64_t epoch) const { return epoch_ == epoch; }
  /// Before PostgreSQL starts as primary: makes it start with the committed
  /// set (a restarted daemon's PostgreSQL would otherwise start with an empty
  /// setting — asynchronous — under a non-empty committed set, while the
  /// epoch is already ready and clients are routed to it). Returns true while
  /// that is in progress.
  bool prepare_start();
  /// What the primary's PostgreSQL does without a synchronous standby, for
  /// the diagnostics: "" (it has one, or this node manages nothing for the
  /// current epoch), else a sentence.
  std::string degraded(uint64_t epoch) const;
  /// In-place restart (ha/handoff.h): what PostgreSQL's setting is, and
  /// for which epoch; the new image resumes from it instead of treating
  /// the setting as unknown (a reset to asynchronous and back).
  void carry(uint64_t* epoch, std::vector<std::string>* names, size_t* k) const {
    *epoch = epoch_;
    *names = pg_sync_;
    *k = pg_k_;
  }
  void resume(uint64_t epoch, std::vector<std::string> names, size_t k) {
    epoch_ = epoch;
    pg_sync_ = std::move(names);
    pg_k_ = pg_sync_.empty() ? 0 : std::max<size_t>(1, k);
  }

 private:
  void commit(std::vector<std::string> members, size_t acks, const char* what);
  /// False while a set_sync of ours ended with an unknown outcome and no
  /// barrier of ours has committed since (one is proposed).
  bool settled();
  void set_names(const std::vector<std::string>& names, size_t k);
  /// D: up to k streaming, promotable members (see the file comment).
  std::vector<std::string> choose(const std::vector<std::string>& committed) const;

  AgentContext& ctx_;
  uint64_t epoch_ = 0;                // epoch whose synchronous_standby_names we manage
  std::vector<std::string> pg_sync_;  // S: names PostgreSQL waits for (sorted)
  size_t pg_k_ = 0;                   // k: how many of them (ANY k)
  bool inflight_ = false;
  bool unsettled_ = false;    // a set_sync's outcome was unknown: confirm through a barrier first
  uint64_t probe_mark_ = 0;   // S changed: a probe numbered past this saw it (0 = caught up since)
  uint64_t catch_up_lsn_ = 0; // ... and the primary's position it reported (0 = not yet)
  bool degraded_logged_ = false;  // the asynchronous fallback was logged (once per occurrence)
};

}  // namespace pw::node
