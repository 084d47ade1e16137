// ha/fencer_port.h — what the agent needs of the fencer (DESIGN I2): a
// deadline after which the postmaster is killed unless re-armed, and a
// supervision check. The production Fencer (fencer.h) is a forked process;
// the simulation supplies its own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace pw::node {

/// What supervise() found. `alive` is false only while the fencer is down
/// and could not be restarted; `restarts` counts restarts since start-up.
struct FencerHealth {
  bool alive = true;
  uint64_t restarts = 0;
  std::string last_failure;  // why it was last found dead ("" = never)
};

class FencerPort {
 public:
  virtual ~FencerPort() = default;
  /// Kill `postmaster` at `deadline_mono_ms` unless re-armed (0, 0 = disarm).
  virtual void arm(pid_t postmaster, int64_t deadline_mono_ms) = 0;
  void disarm() { arm(0, 0); }
  /// Called every agent loop turn: notices a dead fencer, restarts it and
  /// re-sends the last order. Cheap (a non-blocking waitpid).
  virtual FencerHealth supervise() = 0;
};

}  // namespace pw::node
