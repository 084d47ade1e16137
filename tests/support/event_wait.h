// tests/support/event_wait.h — wait_until (wait.h) for a test that owns a
// libevent loop on its own thread: each step turns the loop once, so the
// callbacks that make the condition true can run (header-only:
// pw_test_support links only base; the test links libevent via its module).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>

#include "support/wait.h"

namespace pw::test {

/// Turns `base` until `pred()` holds or `timeout_ms` passes.
inline bool run_until(event_base* base, const std::function<bool()>& pred, int64_t timeout_ms = kWaitMs) {
  // A periodic no-op timer: a loop turn returns at least this often even
  // when nothing happens, so the deadline is checked.
  event* tick = event_new(
      base, -1, EV_PERSIST, [](int, short, void*) {}, nullptr);
  timeval tv{0, 10000};
  event_add(tick, &tv);
  bool ok = wait_until(pred, timeout_ms, [base] { event_base_loop(base, EVLOOP_ONCE); });
  event_free(tick);
  return ok;
}

}  // namespace pw::test
