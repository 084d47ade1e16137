// ha/lease.cc — see lease.h.
#include "ha/lease.h"

#include <algorithm>

namespace pw::node {

bool LeaseWatch::expired(uint64_t epoch, int64_t now_ms) const { return remaining(epoch, now_ms) == 0; }

int64_t LeaseWatch::remaining(uint64_t epoch, int64_t now_ms) const {
  auto it = last_.find(epoch);
  // Never saw the epoch start on this node: treat "now" as its start. The
  // caller records epoch starts and restores, so this only guards misuse.
  if (it == last_.end()) return p_.wait_ms();
  return std::max<int64_t>(0, it->second + p_.wait_ms() - now_ms);
}

void LeaseWatch::prune(uint64_t keep_from) {
  while (!last_.empty() && last_.begin()->first + 2 < keep_from) last_.erase(last_.begin());
}

void LeaseHold::proposed(uint64_t epoch, uint64_t seq, int64_t now_ms) {
  pending_[seq] = {epoch, now_ms};
  while (pending_.size() > 64) pending_.erase(pending_.begin());
}

void LeaseHold::applied(uint64_t epoch, uint64_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end() || it->second.first != epoch) return;  // not ours / restarted since
  int64_t until = it->second.second + p_.lease_ms;
  if (epoch != epoch_) {
    epoch_ = epoch;
    until_ms_ = until;
  } else {
    until_ms_ = std::max(until_ms_, until);
  }
  pending_.erase(pending_.begin(), std::next(it));
}

}  // namespace pw::node
