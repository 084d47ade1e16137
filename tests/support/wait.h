// tests/support/wait.h — the one polling wait of the tests: check a
// condition until it holds or a generous deadline passes. The deadline only
// bounds a failing test; no test asserts how long something took.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "base/clock.h"

namespace pw::test {

/// Default deadline: long enough for a loaded 2-core machine.
constexpr int64_t kWaitMs = 60000;

/// Checks `cond` until it is true or `timeout_ms` passed; returns its last
/// value (checked once more at the deadline, so a condition that became true
/// during the last step is not reported as a timeout). Between checks it
/// runs `step`: by default a 5 ms sleep; a test that owns an event loop
/// turns the loop instead (event_wait.h), so the condition can change.
inline bool wait_until(const std::function<bool()>& cond, int64_t timeout_ms = kWaitMs,
                       const std::function<void()>& step = nullptr) {
  int64_t end = pw::mono_ms() + timeout_ms;
  while (pw::mono_ms() < end) {
    if (cond()) return true;
    if (step) step();
    else std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace pw::test
