// consensus/progress.h — the leader's view of one follower's log: how far it
// is known to match (match), what to send next (next), and the flow-control
// state that decides whether more may be sent right now.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace pw::consensus {

struct Progress {
  enum class State : uint8_t {
    probe,      ///< match unknown: one app at a time, wait for the answer
    replicate,  ///< in sync: stream apps optimistically, bounded by the inflight window
    snapshot,   ///< a snapshot was sent; wait until the follower reports it installed
  };

  uint64_t match = 0;  ///< highest index known to be replicated on the follower
  uint64_t next = 1;   ///< next index to send
  State state = State::probe;
  bool probe_sent =
      false;  ///< probe: an app is outstanding; pause until an answer or heartbeat reply
  uint64_t pending_snapshot = 0;  ///< snapshot: index of the snapshot sent
  bool recent_active = false;     ///< heard from since the last check-quorum round
  int stall_ticks =
      0;  ///< ticks without progress while behind (replicate/snapshot): resync trigger
  std::deque<uint64_t> inflight;  ///< replicate: last index of each app still unacknowledged
  /// Core::ticks() when the follower last answered (app_resp or
  /// heartbeat_resp) in this term; -1 = not yet. Feeds the leader's
  /// contact age (I3), unlike recent_active it is never cleared.
  int64_t last_answer_tick = -1;

  void become_probe();
  void become_replicate();
  void become_snapshot(uint64_t snapshot_index);
  /// The follower acknowledged `n`. Returns true if match advanced.
  bool maybe_update(uint64_t n);
  /// The follower rejected an app whose preceding index was `rejected`;
  /// `match_hint` is the highest index that may match. Returns false for a
  /// stale rejection (nothing changed). In probe state, a rejection of the
  /// probe at `match` itself with a hint below it (the follower lost the
  /// entries it had acknowledged: its state dir was wiped) lowers `match` to
  /// the hint; any other rejection never moves `next` below `match + 1`.
  /// Callers pass only rejections of the current term.
  bool maybe_decr_to(uint64_t rejected, uint64_t match_hint);
  /// Records that an app ending at `last` was sent (`entries` > 0 entries).
  void sent(uint64_t last, size_t entries);
  /// Drops inflight records up to and including `index`.
  void free_inflight(uint64_t index);
  bool is_paused(size_t max_inflight) const;
};

const char* progress_state_name(Progress::State s);

}  // namespace pw::consensus
