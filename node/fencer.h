// node/fencer.h — the tiny fencing process of DESIGN I2.
//
// Forked at start-up, before any thread exists, it knows only two things:
// the postmaster's pid and the deadline (CLOCK_MONOTONIC, ms) until which
// the agent last said it holds the lease. If the deadline passes without an
// update — the agent is frozen (SIGSTOP, swap storm, stuck disk) — it kills
// the postmaster and its process group, so no writable primary outlives the
// lease even when the agent cannot act. PR_SET_PDEATHSIG ties its life to
// the agent's; the postmaster has its own PDEATHSIG for the agent's death.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "node/fencer_port.h"

namespace pw::node {

class Fencer : public FencerPort {
 public:
  /// Forks the fencer. Call before starting threads. Throws on failure.
  Fencer();
  ~Fencer() override;
  Fencer(const Fencer&) = delete;
  Fencer& operator=(const Fencer&) = delete;

  /// Arms the fencer: kill `postmaster` at `deadline_mono_ms` unless re-armed.
  void arm(pid_t postmaster, int64_t deadline_mono_ms) override;
  FencerHealth supervise() override { return {}; }
  pid_t pid() const { return child_; }

 private:
  int fd_ = -1;
  pid_t child_ = -1;
  pid_t last_pm_ = -1;
  int64_t last_deadline_ = -1;
};

/// The fencer's main loop (runs in the child; exported for tests).
[[noreturn]] void fencer_main(int fd);

}  // namespace pw::node
