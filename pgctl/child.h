// pgctl/child.h — one asynchronous child process on an event_base: fork/exec
// with stdout+stderr captured through a pipe, each line logged
// (`pgctl child=<name> pid=<n> | <line>`) and the last lines kept for error
// reports; a timeout sends `term_signal`, then SIGKILL after a grace period;
// the exit is reported once through a callback. Exit detection is a pidfd
// (see process_watch.h), so any number of children can run at once.
//
// The child is prepared with async-signal-safe calls only: own process
// group, optional PR_SET_PDEATHSIG (with a getppid() re-check that closes the
// fork race), default signal dispositions and an empty signal mask, stdin
// from /dev/null, every other inherited descriptor closed (the daemon's
// listening sockets must not leak into PostgreSQL).
//
// Note on PR_SET_PDEATHSIG: the kernel delivers it when the *thread* that
// forked exits, so spawn children from the long-lived control thread. An
// execve() of the daemon by that thread (the in-place restart, node/reexec.h)
// is not an exit: the children stay ours, and inherit() takes one over in
// the new image.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct event_base;
struct event;

namespace pw::pgctl {

class LineSplitter;
class ProcessWatch;

struct ChildOptions {
  std::string name;               // log tag: "initdb", "pg_basebackup", "postgres"
  std::vector<std::string> argv;  // argv[0] is the path to execute
  std::vector<std::string> env;   // "KEY=VALUE" entries added to (or replacing in) environ
  std::string cwd;                // empty: inherit
  int64_t timeout_ms = 0;         // 0: none
  int term_signal = SIGTERM;      // sent on timeout
  int64_t kill_grace_ms = 5000;   // then SIGKILL
  int pdeathsig = 0;              // e.g. SIGQUIT for the postmaster (I2)
  bool signal_group = true;       // signals reach the whole process group
  size_t tail_lines = 30;
  bool log_output = true;
  std::function<void(const std::string&)> on_line;  // extra observer of each line
};

/// The process's environment with `extra` ("KEY=VALUE") added, an entry of
/// `extra` replacing one with the same key: what Child::spawn gives a child,
/// and what the daemon's in-place restart (node/reexec.h) gives its new image.
std::vector<std::string> merged_env(const std::vector<std::string>& extra);

struct ChildExit {
  pid_t pid = 0;
  int status = -1;  // raw wait status; -1 unknown
  bool timed_out = false;
  std::vector<std::string> tail;  // last output lines, oldest first
  bool ok() const;
  /// "exited with status 1", "killed by signal 9", "timed out after 600000 ms (killed by signal
  /// 15)"
  std::string describe() const;
  /// describe() followed by the last output lines: the error text operators need.
  std::string error_text() const;
};

class Child {
 public:
  using ExitFn = std::function<void(const ChildExit&)>;
  /// Starts the process. Returns nullptr with `*error` set when it cannot be
  /// started (missing binary, fork failure). `on_exit` runs once on the loop
  /// and may destroy the Child.
  static std::unique_ptr<Child> spawn(event_base* base, ChildOptions opts, ExitFn on_exit,
                                      std::string* error);
  /// Takes over a child an earlier image of this process spawned before it
  /// re-executed itself: `pid` (still our child) and `out_fd`, the read end
  /// of its output pipe (-1: none). opts.argv is only for the logs; nothing
  /// is started. Its exit is reported like a spawned child's, and one that
  /// already exited is reported on the loop's next turn.
  static std::unique_ptr<Child> inherit(event_base* base, ChildOptions opts, pid_t pid, int out_fd,
                                        ExitFn on_exit);
  /// A child still running is killed (SIGKILL to its group) and reaped; the
  /// exit callback is not called.
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return !exited_; }
  /// Sends `sig` to the child (its group when signal_group).
  bool signal(int sig);
  std::vector<std::string> tail() const;
  /// The read end of the output pipe (-1 once closed): what a re-exec of
  /// the daemon passes on to inherit().
  int output_fd() const { return out_fd_; }
  /// Teardown only (blocks): waits up to `timeout_ms` for the child to exit
  /// and reaps it, without calling the exit callback. True if it exited.
  bool wait_blocking(int64_t timeout_ms);

 private:
  Child(event_base* base, ChildOptions opts, ExitFn on_exit);
  /// Reads `fd` (non-blocking) and watches `pid`: shared by spawn and inherit.
  void attach(pid_t pid, int fd);
  static void on_output(int fd, short what, void* arg);
  static void on_timeout(int fd, short what, void* arg);
  static void on_kill(int fd, short what, void* arg);
  void drain_output();
  void close_output();
  void handle_exit(int status);

  event_base* base_;
  ChildOptions opts_;
  ExitFn on_exit_;
  pid_t pid_ = 0;
  int out_fd_ = -1;
  event* out_ev_ = nullptr;
  event* timeout_ev_ = nullptr;
  event* kill_ev_ = nullptr;
  std::unique_ptr<LineSplitter> lines_;
  std::unique_ptr<ProcessWatch> watch_;
  bool exited_ = false;
  bool timed_out_ = false;
  int64_t started_ms_ = 0;
};

}  // namespace pw::pgctl
