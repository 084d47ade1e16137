// pgctl/process_watch.h — tells the event loop when a process exits, without
// SIGCHLD and without waitpid(-1): a pidfd (Linux ≥ 5.3) becomes readable
// when the process ends. This works for many concurrent children and never
// steals another module's exit status. For our own children the status is
// then reaped with waitpid(pid, WNOHANG); for a process we did not fork (an
// adopted postmaster) the status is unknown (-1). Kernels without pidfd fall
// back to polling every 100 ms (waitpid for children, kill(pid, 0) otherwise).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>

struct event_base;
struct event;

namespace pw::pgctl {

class ProcessWatch {
 public:
  /// `status` is the raw wait status, or -1 when it cannot be known.
  using ExitFn = std::function<void(int status)>;
  /// Starts watching `pid`; `is_child` = we forked it (reap it). The
  /// callback runs once, on the loop; the watch may be destroyed inside it.
  ProcessWatch(event_base* base, pid_t pid, bool is_child, ExitFn on_exit);
  ~ProcessWatch();
  ProcessWatch(const ProcessWatch&) = delete;
  ProcessWatch& operator=(const ProcessWatch&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  /// Sends a signal through the pidfd when we have one (immune to pid reuse).
  bool signal(int sig);
  /// Checks now (without waiting for the loop) whether it has exited; if so
  /// the callback runs before this returns.
  void poll_now();

 private:
  static void on_event(int fd, short what, void* arg);
  void check();
  event_base* base_;
  pid_t pid_;
  bool is_child_;
  ExitFn on_exit_;
  int pidfd_ = -1;
  event* ev_ = nullptr;
  bool exited_ = false;
};

}  // namespace pw::pgctl
