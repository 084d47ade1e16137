// base/clock.h — monotonic and wall time helpers. Every timeout and lease
// uses the monotonic clock; wall time is only for logs and history.
#pragma once

#include <cstdint>
#include <ctime>

namespace pw {

/// Monotonic milliseconds since an arbitrary origin (CLOCK_MONOTONIC).
inline int64_t mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
/// Monotonic microseconds (for latency figures).
inline int64_t mono_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
/// Wall-clock milliseconds since the Unix epoch (logs and history only).
inline int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace pw
