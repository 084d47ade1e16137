// consensus/progress.cc — see progress.h. Flow control follows the usual
// probe → replicate → (snapshot) cycle: probing sends one app and waits,
// replicating streams within a window, a snapshot pauses until installed.
#include "consensus/progress.h"

#include <algorithm>

namespace pw::consensus {

const char* progress_state_name(Progress::State s) {
  switch (s) {
    case Progress::State::probe:
      return "probe";
    case Progress::State::replicate:
      return "replicate";
    case Progress::State::snapshot:
      return "snapshot";
  }
  return "?";
}

void Progress::become_probe() {
  // Coming back from a snapshot, assume it was installed: the follower will
  // reject (and we back off) if it was not.
  if (state == State::snapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = State::probe;
  probe_sent = false;
  pending_snapshot = 0;
  stall_ticks = 0;
  inflight.clear();
}

void Progress::become_replicate() {
  state = State::replicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  stall_ticks = 0;
  inflight.clear();
}

void Progress::become_snapshot(uint64_t snapshot_index) {
  state = State::snapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  stall_ticks = 0;
  inflight.clear();
}

bool Progress::maybe_update(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
    stall_ticks = 0;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(uint64_t rejected, uint64_t match_hint) {
  if (state == State::replicate) {
    if (rejected < match) return false;  // stale: we already know it matches further
    next = match + 1;
    return true;
  }
  // probe/snapshot: only the answer to the outstanding probe counts. The
  // caller has checked the term (a rejection of another term never gets
  // here), so (rejected index, term) names the one probe in flight.
  if (next == 0 || next - 1 != rejected) return false;
  if (state == State::probe && rejected == match && match_hint < match) {
    // The follower rejects the very entry it acknowledged earlier in this
    // term: a live follower never truncates below an entry of the current
    // leader, so it lost its log (a wiped or replaced state directory).
    // Forget what it had and probe from what it has now; if those entries
    // were compacted, maybe_send_append falls back to a snapshot. Lowering
    // match only withdraws a vote from the commit count: it never commits
    // anything that was not already committed.
    match = match_hint;
    next = match_hint + 1;
    probe_sent = false;
    return true;
  }
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::sent(uint64_t last, size_t entries) {
  if (state == State::replicate) {
    if (entries > 0) {
      next = last + 1;
      inflight.push_back(last);
    }
  } else if (state == State::probe) {
    probe_sent = true;
  }
}

void Progress::free_inflight(uint64_t index) {
  while (!inflight.empty() && inflight.front() <= index) inflight.pop_front();
}

bool Progress::is_paused(size_t max_inflight) const {
  switch (state) {
    case State::probe:
      return probe_sent;
    case State::replicate:
      return inflight.size() >= max_inflight;
    case State::snapshot:
      return true;
  }
  return true;
}

}  // namespace pw::consensus
