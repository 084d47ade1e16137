// node/fencer.h — the tiny fencing process of DESIGN I2.
//
// Forked at start-up, it knows only two things: the postmaster's pid and the
// deadline (CLOCK_MONOTONIC, ms) until which the agent last said it holds
// the lease. If the deadline passes without an update — the agent is frozen
// (SIGSTOP, swap storm, stuck disk) — it kills the postmaster and its
// process group, so no writable primary outlives the lease even when the
// agent cannot act. PR_SET_PDEATHSIG ties its life to the agent's; the
// postmaster has its own PDEATHSIG for the agent's death.
//
// The agent supervises it (FencerPort::supervise, every loop turn): a fencer
// that died, or whose pipe refused an order, is replaced by a new one that
// receives the last order again, so the protection of I2 never disappears
// silently.
//
// An in-place restart of pgwarden (node/reexec.h: the daemon execve()s a new
// image in the same process) keeps the fencer running with the order it
// holds: the pipe's write end survives the exec (handle()), the new image
// takes it over (the constructor from a FencerHandle) and re-arms it. If the
// new image never re-arms it — it does not start, freezes, or runs something
// else — the deadline still kills the postmaster; if the process dies, the
// fencer dies with it (PDEATHSIG, which an exec does not trigger) and the
// postmaster too (its own PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "ha/fencer_port.h"

namespace pw::node {

/// A running fencer as an in-place restart passes it on.
struct FencerHandle {
  pid_t pid = -1;              // the fencer process (our child)
  int fd = -1;                 // write end of its pipe
  pid_t order_pid = 0;         // the last order given
  int64_t order_deadline = 0;
  bool delivered = false;      // ... and the fencer has it
};

class Fencer : public FencerPort {
 public:
  /// Forks the fencer. Throws std::runtime_error when pipe or fork fails.
  /// The process must ignore SIGPIPE (the daemon does): a write to the pipe
  /// of a dead fencer must fail with EPIPE, not kill the agent.
  Fencer();
  /// Takes over the fencer an earlier image of this process started (after
  /// an execve; `h` from handle()). It keeps the order it holds; one that is
  /// gone is replaced by the next supervise(), which re-sends the order.
  explicit Fencer(const FencerHandle& h);
  ~Fencer() override;
  Fencer(const Fencer&) = delete;
  Fencer& operator=(const Fencer&) = delete;

  /// Arms the fencer: kill `postmaster` at `deadline_mono_ms` unless
  /// re-armed; (0, 0) disarms it. Never blocks. An order the fencer cannot
  /// receive (EPIPE, full pipe, no fencer) is remembered and marks the
  /// fencer for restart: the next supervise() restarts it and re-sends it.
  void arm(pid_t postmaster, int64_t deadline_mono_ms) override;

  /// Non-blocking: reaps a dead fencer (or kills and reaps one whose pipe
  /// failed), logs how it died, forks a new one and re-sends the last order.
  /// Call from the thread that will outlive the fencer (PDEATHSIG fires
  /// when the forking *thread* exits): the agent's control thread.
  FencerHealth supervise() override;

  /// The current fencer child's pid (-1 while none could be started).
  pid_t pid() const { return child_; }
  /// What an in-place restart passes on; the caller keeps `fd` open across
  /// the exec. An order that did not reach the fencer is passed on too (the
  /// new image's supervise() delivers it).
  FencerHandle handle() const {
    return {child_, fd_, last_pm_, last_deadline_, sent_ && restart_why_.empty()};
  }

 private:
  /// Forks a fencer on a new pipe. On failure returns false with `*why` set
  /// and leaves child_ = -1, fd_ = -1.
  bool spawn(std::string* why);
  /// Sends the last order on the pipe; false (and restart_ set) on failure.
  bool send_last();
  /// Kills (if still running) and reaps the current child, closes the pipe.
  void discard_child();

  int fd_ = -1;  // write end of the pipe (non-blocking, close-on-exec)
  pid_t child_ = -1;
  pid_t last_pm_ = 0;
  int64_t last_deadline_ = 0;
  bool sent_ = false;        // the last order reached the current pipe
  std::string restart_why_;  // non-empty: a write failed, restart at next supervise()
  FencerHealth health_;
};

/// The fencer's main loop (runs in the child; exported for tests).
[[noreturn]] void fencer_main(int fd);

}  // namespace pw::node
