// tests/support/api_loop.h — an event loop on its own thread for
// tests that serve the API on real sockets while the test thread acts as
// the client. run() executes a function on the loop thread and waits, so
// the server and its fake backend are only ever touched there.
#pragma once

#include <event2/event.h>
#include <event2/thread.h>

#include <functional>
#include <future>
#include <thread>

namespace pw::test {

class LoopThread {
 public:
  LoopThread() {
    static bool once = (evthread_use_pthreads(), true);
    (void)once;
    base_ = event_base_new();
    thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
  }
  ~LoopThread() {
    run([this] { event_base_loopbreak(base_); });
    thread_.join();
    event_base_free(base_);
  }
  void run(std::function<void()> fn) {
    std::promise<void> done;
    struct Job {
      std::function<void()> fn;
      std::promise<void>* done;
    };
    auto* job = new Job{std::move(fn), &done};
    timeval zero{0, 0};
    event_base_once(
        base_, -1, EV_TIMEOUT,
        [](int, short, void* arg) {
          auto* j = static_cast<Job*>(arg);
          j->fn();
          j->done->set_value();
          delete j;
        },
        job, &zero);
    done.get_future().wait();
  }
  event_base* base() const { return base_; }

 private:
  event_base* base_;
  std::thread thread_;
};

}  // namespace pw::test
