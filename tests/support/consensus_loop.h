// tests/support/consensus_loop.h — helpers for consensus integration tests
// (header-only: pw_test_support links only base, these need libevent).
// LoopThread: an event_base running on its own thread, with run() to execute
// a function on it and wait for the result, and pause()/resume() to freeze
// the loop (a peer that stops reading). Also brings LogCapture
// (log_capture.h) and strf (strf.h), which every consensus test uses.
#pragma once

#include <event2/event.h>
#include <event2/thread.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/log_capture.h"
#include "support/strf.h"
#include "support/wait.h"

namespace pw::test {

class LoopThread {
 public:
  LoopThread() {
    static std::once_flag once;
    std::call_once(once, [] { evthread_use_pthreads(); });
    base_ = event_base_new();
    if (!base_) throw std::runtime_error("event_base_new failed");
    thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
  }
  ~LoopThread() {
    resume();
    event_base_loopbreak(base_);
    thread_.join();
    event_base_free(base_);
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  event_base* base() const { return base_; }

  /// Runs `f` on the loop thread and returns its result (exceptions are
  /// rethrown here).
  template <class F>
  auto run(F f) -> decltype(f()) {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    auto fut = task->get_future();
    auto* holder = new std::function<void()>([task] { (*task)(); });
    timeval zero{0, 0};
    if (event_base_once(base_, -1, EV_TIMEOUT, &LoopThread::trampoline, holder, &zero) != 0) {
      delete holder;
      throw std::runtime_error("event_base_once failed");
    }
    return fut.get();
  }

  /// wait_until (support/wait.h) with `pred` evaluated on the loop thread,
  /// so it may read loop-owned state. It must not call run() itself (use
  /// the free wait_until then).
  template <class P>
  bool wait_until(P pred, int64_t timeout_ms = kWaitMs) {
    return pw::test::wait_until([&] { return run([&] { return static_cast<bool>(pred()); }); }, timeout_ms);
  }

  /// Blocks the loop thread until resume(): the node stops reading sockets.
  void pause() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      paused_ = true;
    }
    std::promise<void> entered;
    auto fut = entered.get_future();
    auto* holder = new std::function<void()>([this, &entered] {
      entered.set_value();
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return !paused_; });
    });
    timeval zero{0, 0};
    event_base_once(base_, -1, EV_TIMEOUT, &LoopThread::trampoline, holder, &zero);
    fut.get();
  }
  void resume() {
    std::lock_guard<std::mutex> lk(mu_);
    paused_ = false;
    cv_.notify_all();
  }

 private:
  static void trampoline(int, short, void* arg) {
    auto* f = static_cast<std::function<void()>*>(arg);
    (*f)();
    delete f;
  }
  event_base* base_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
};

}  // namespace pw::test
