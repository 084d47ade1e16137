// pgctl/defer.h — run a closure on the next loop turn. Used so that a
// callback is never invoked from inside the call that requested the work
// (callers can rely on "the callback runs later, on the loop").
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <utility>

namespace pw::pgctl {

inline void defer(event_base* base, std::function<void()> fn) {
  auto* heap = new std::function<void()>(std::move(fn));
  timeval tv{0, 0};
  if (event_base_once(
          base, -1, EV_TIMEOUT,
          [](int, short, void* arg) {
            auto* f = static_cast<std::function<void()>*>(arg);
            (*f)();
            delete f;
          },
          heap, &tv) != 0) {
    delete heap;  // the loop cannot schedule: nothing sensible left to do
  }
}

/// Like defer(), but skipped if `owner` (an object's liveness token) has
/// been destroyed by then: for closures that capture `this`.
inline void defer(event_base* base, std::weak_ptr<void> owner, std::function<void()> fn) {
  defer(base, [owner = std::move(owner), fn = std::move(fn)] {
    if (owner.lock()) fn();
  });
}

/// Liveness token: a member `Alive alive_;` whose weak_ptr closures check.
struct Alive {
  std::shared_ptr<int> token = std::make_shared<int>(0);
  std::weak_ptr<void> weak() const { return token; }
};

}  // namespace pw::pgctl
