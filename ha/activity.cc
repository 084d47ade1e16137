// ha/activity.cc — see activity.h.
#include "ha/activity.h"

#include <algorithm>

#include "base/log.h"
#include "ha/agent_world.h"

namespace pw::node {

Activity::Activity(AgentWorld& world, std::function<uint64_t()> epoch, std::function<void()> after_op,
                   std::function<void()> kick)
    : world_(world), epoch_(std::move(epoch)), after_op_(std::move(after_op)), kick_(std::move(kick)) {}

void Activity::set(AgentState s, const std::string& detail) {
  if (s == state_ && detail == detail_) return;
  // Healthy again: an older failure no longer describes this member.
  if (s == AgentState::streaming || s == AgentState::primary) last_error_.clear();
  PW_INFO("agent", "state %s -> %s (%s) epoch=%llu", agent_state_name(state_), agent_state_name(s),
          describe(s, detail).c_str(), static_cast<unsigned long long>(epoch_()));
  state_ = s;
  detail_ = detail;
}

void Activity::begin(AgentState s, const std::string& detail) {
  busy_ = true;
  set(s, detail);
}

pgctl::Done Activity::done(std::function<void(const pgctl::Result&)> then) {
  return [this, then](const pgctl::Result& r) {
    busy_ = false;
    if (!r.ok) {
      error(describe(state_, detail_) + " failed: " + r.error);
      // Back off so a failing clone or start does not spin; fencing is
      // checked before this gate, so it never delays a demotion.
      failures_ = std::min(failures_ + 1, 5);
      retry_at_ = world_.mono_ms() + 500 * (1 << failures_);
    } else {
      last_error_.clear();
      failures_ = 0;
      retry_at_ = 0;
    }
    if (after_op_) after_op_();
    if (then) then(r);
    if (!stopping_) kick_();
  };
}

void Activity::error(const std::string& e) {
  if (e != last_error_ && !e.empty())
    PW_ERROR("agent", "%s epoch=%llu", e.c_str(), static_cast<unsigned long long>(epoch_()));
  last_error_ = e;
}

}  // namespace pw::node
