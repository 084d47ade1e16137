// proxy/refusal_backoff.cc — see refusal_backoff.h.
#include "proxy/refusal_backoff.h"

#include <algorithm>

namespace pw::proxy {

bool RefusalBackoff::admit(int64_t now_ms) {
  if (cooling(now_ms)) return false;
  // The probe: the others wait as if it had been refused already, and its
  // answer (refused() or reset()) decides what comes next.
  if (active()) next_ms_ = now_ms + interval_ms_;
  return true;
}

void RefusalBackoff::refused(int64_t started_ms, int64_t now_ms, const BackoffPolicy& p) {
  int64_t initial = std::max<int64_t>(std::min(p.initial_ms, p.max_ms), 1);
  if (!active()) {
    interval_ms_ = initial;
  } else if (started_ms >= since_ms_) {
    interval_ms_ = std::min(std::max(interval_ms_ * 2, initial), std::max(p.max_ms, initial));
  } else {
    return;  // sent before the current wait was set: already accounted for
  }
  since_ms_ = now_ms;
  next_ms_ = now_ms + interval_ms_;
}

}  // namespace pw::proxy
