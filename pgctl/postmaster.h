// pgctl/postmaster.h — the postmaster process itself: started as our child
// (`postgres -D <data_dir>`, PR_SET_PDEATHSIG = SIGQUIT so it shuts down
// immediately if the daemon dies — I2), or adopted when it was already
// running; readiness followed through postmaster.pid's status line; stopped
// with escalation fast (SIGINT) → immediate (SIGQUIT) → SIGKILL of its
// whole process group, each step bounded by a timeout; an exit nobody asked
// for is reported to the exit handler. Across an in-place restart of the
// daemon (an execve, node/reexec.h) it is passed on by handle() and taken
// over by inherit(), still running and still our child.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pgctl/result.h"

struct event_base;
struct event;

namespace pw::pgctl {

class Child;
class ProcessWatch;
struct ChildExit;

enum class StopMode;
struct PostmasterHandle;

class Postmaster {
 public:
  Postmaster(event_base* base, std::string bin_dir, std::string data_dir);
  /// A postmaster we own is shut down immediately (SIGQUIT, bounded wait,
  /// then SIGKILL of its group) — the destructor must not leave it running.
  ~Postmaster();
  Postmaster(const Postmaster&) = delete;
  Postmaster& operator=(const Postmaster&) = delete;

  /// Starts the postmaster; `cb` once it accepts connections (postmaster.pid
  /// says "ready" or "standby"), or with the error and its last output lines
  /// if it exits or `timeout_ms` passes first (it is then stopped).
  void start(int64_t timeout_ms, Done cb);
  /// Watches a postmaster we did not start.
  void adopt(pid_t pid);
  /// What an in-place restart passes on (pid 0 when none runs). Not while
  /// a start or stop is in progress (their callbacks would be lost).
  PostmasterHandle handle() const;
  /// In the new image: takes over the postmaster of handle() — our child
  /// (with its PDEATHSIG and output pipe) or an adopted one.
  void inherit(const PostmasterHandle& h);
  /// Stops it; success once the process is gone. Not running: success.
  void stop(StopMode mode, int64_t step_timeout_ms, Done cb);
  /// SIGHUP: re-read configuration files.
  bool reload();

  pid_t pid() const;
  bool running() const { return pid() != 0; }
  bool adopted() const { return adopted_ != nullptr; }
  /// Called when the postmaster exits without stop() having been asked.
  void set_exit_handler(std::function<void(int status)> h) { exit_handler_ = std::move(h); }

 private:
  static void on_tick(int fd, short what, void* arg);
  void check_ready();
  void on_child_exit(const ChildExit& ex);
  void on_adopted_exit(int status);
  void escalate();
  void finish_start(Result r);
  void finish_stop(Result r);
  void arm_tick(int64_t ms);
  bool send(int sig, bool group);

  event_base* base_;
  std::string bin_dir_, data_dir_;
  std::unique_ptr<Child> child_;
  std::unique_ptr<ProcessWatch> adopted_;
  event* tick_ev_ = nullptr;
  std::function<void(int)> exit_handler_;
  // start in progress
  Done start_cb_;
  int64_t start_deadline_ = 0;
  // stop in progress
  Done stop_cb_;
  int stop_step_ = 0;  // 0 idle, 1 fast, 2 immediate, 3 SIGKILL
  int64_t step_timeout_ms_ = 0;
  int64_t step_deadline_ = 0;
};

}  // namespace pw::pgctl
