// consensus/raft_log.h — the core's in-memory view of the replicated log:
// the latest snapshot, the entries after it, and the three watermarks
// (stable <= persisted, committed, applied). Storage is the caller's job;
// this class only tracks what has been handed out for persisting (stable)
// and applying (applied).
//
// Invariant: entries_[k].index == snapshot_.index + 1 + k, and
// applied <= committed <= last_index, snapshot_.index <= applied.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "consensus/message.h"

namespace pw::consensus {

class RaftLog {
 public:
  /// Loads the persisted state: `snap` (may be empty), then `entries`
  /// (contiguous; those <= snap.index are skipped; the first kept one must
  /// be snap.index + 1), commit clamped into [snap.index, last_index].
  /// Everything loaded counts as stable; applied = snap.index.
  /// Throws std::invalid_argument on a gap or a term mismatch at snap.index.
  void load(const Snapshot& snap, const std::vector<Entry>& entries, uint64_t commit);

  uint64_t first_index() const { return snapshot_.index + 1; }
  uint64_t last_index() const { return snapshot_.index + entries_.size(); }
  uint64_t last_term() const { return *term(last_index()); }
  /// Term of entry `i`; the snapshot index answers with the snapshot term
  /// (0 for index 0). nullopt when `i` is compacted away or beyond the log.
  std::optional<uint64_t> term(uint64_t i) const;
  bool match_term(uint64_t i, uint64_t t) const;
  /// Raft's §5.4.1 rule: is a log ending at (last_idx, last_term) at least as up to date as ours?
  bool is_up_to_date(uint64_t last_idx, uint64_t last_term) const;
  /// Entry `i` or nullptr if not in memory.
  const Entry* entry(uint64_t i) const;

  /// Follower append: if the entry at `index` has `log_term`, appends
  /// `ents` (replacing a conflicting suffix, never a committed entry),
  /// commits up to min(committed, index + ents.size()) and returns the last
  /// index of the new entries; otherwise returns nullopt. Aborts if a
  /// committed entry would be overwritten (a broken Raft invariant).
  std::optional<uint64_t> maybe_append(uint64_t index, uint64_t log_term, uint64_t committed,
                                       const std::vector<Entry>& ents);
  /// Appends `ents` whose first index is <= last_index()+1, truncating any
  /// suffix from ents[0].index on. Returns the new last index.
  uint64_t append(const std::vector<Entry>& ents);
  /// Entries in [lo, hi) up to `max_bytes` of data (at least one entry).
  /// Requires first_index() <= lo <= hi <= last_index()+1.
  std::vector<Entry> slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;
  /// Fast back-off: the largest index <= `index` whose term <= `term`, and
  /// that term. A compacted index is returned as is with term 0.
  std::pair<uint64_t, uint64_t> find_conflict_by_term(uint64_t index, uint64_t term) const;

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t stable() const { return stable_; }
  /// Raises committed to `c` (never lowers). Aborts if c > last_index().
  void commit_to(uint64_t c);
  /// Leader commit: raises committed to `idx` if idx > committed and term(idx) == `term`.
  bool maybe_commit(uint64_t idx, uint64_t term);
  void applied_to(uint64_t i);
  /// Marks entries up to `i` as persisted if entry `i` still has term `t`.
  void stable_to(uint64_t i, uint64_t t);

  std::vector<Entry> unstable_entries() const;
  bool has_unstable() const { return stable_ < last_index(); }
  /// Committed entries not yet handed out for applying: (applied, committed].
  std::vector<Entry> next_committed() const;
  bool has_next_committed() const { return committed_ > applied_; }

  /// Latest snapshot (empty if none).
  const Snapshot& snapshot() const { return snapshot_; }
  /// A snapshot received from the leader, not yet handed out for persisting.
  bool has_pending_snapshot() const { return pending_snapshot_; }
  void snapshot_persisted() { pending_snapshot_ = false; }
  /// Replaces the whole log with `s` (received from the leader): committed =
  /// applied = stable = s.index once persisted; pending until snapshot_persisted().
  void restore(const Snapshot& s);
  /// Application-driven compaction at applied index `index` (see Core::compact).
  void compact(uint64_t index, std::string data, std::string config = {});

 private:
  Snapshot snapshot_;
  std::vector<Entry> entries_;
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
  uint64_t stable_ = 0;
  bool pending_snapshot_ = false;
};

}  // namespace pw::consensus
