// ha/activity.h — the agent's one-thing-at-a-time rule: its current
// state (AgentState + detail), at most one pgctl operation in flight, the
// last failure and the back-off after consecutive failures.
//
// begin() marks an operation started (and sets the state); the pgctl::Done
// that done() returns ends it: it records success or failure, runs the
// owner's after-operation hook (re-reading the data directory, ...), then
// the caller's continuation, then asks the loop for another turn.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ha/agent_state.h"
#include "pgctl/result.h"

namespace pw::node {

class AgentWorld;

class Activity {
 public:
  /// `epoch` is read for log lines; `after_op` runs after every operation
  /// (before the continuation); `kick` asks for another loop turn.
  Activity(AgentWorld& world, std::function<uint64_t()> epoch, std::function<void()> after_op,
           std::function<void()> kick);

  AgentState state() const { return state_; }
  const std::string& detail() const { return detail_; }
  std::string text() const { return describe(state_, detail_); }
  /// Logs a transition (state or detail changed) once.
  void set(AgentState s, const std::string& detail = {});

  bool busy() const { return busy_; }
  /// No new operation before the back-off deadline after failures.
  bool backing_off(int64_t now) const { return retry_at_ != 0 && now < retry_at_; }
  void begin(AgentState s, const std::string& detail = {});
  pgctl::Done done(std::function<void(const pgctl::Result&)> then = nullptr);

  const std::string& last_error() const { return last_error_; }
  /// Records a failure outside an operation (logged once per change).
  void error(const std::string& e);
  void clear_error() { last_error_.clear(); }
  /// After a stop request: operations still end, but ask for no more turns.
  void set_stopping() { stopping_ = true; }

 private:
  AgentWorld& world_;
  std::function<uint64_t()> epoch_;
  std::function<void()> after_op_;
  std::function<void()> kick_;
  AgentState state_ = AgentState::starting;
  std::string detail_;
  bool busy_ = false;
  bool stopping_ = false;
  int failures_ = 0;
  int64_t retry_at_ = 0;
  std::string last_error_;
};

}  // namespace pw::node
