// ha/handoff_controller.cc — see handoff_controller.h.
#include "ha/handoff_controller.h"

#include "base/log.h"
#include "ha/lease_renewer.h"
#include "ha/membership_controller.h"

namespace pw::node {

namespace {
// Long enough for a start, a promotion or a rewind in progress to end; an
// operator who asked during a clone is told to ask again later.
constexpr int64_t kSettleMs = 30000;
}  // namespace

void HandoffController::begin(Done done) {
  if (active()) {
    done("a restart in place is already being prepared");
    return;
  }
  done_ = std::move(done);
  enter(Step::settling);
  PW_INFO("agent", "restart in place requested: settling epoch=%llu",
          static_cast<unsigned long long>(ctx_.state().epoch));
  ctx_.kick();
}

void HandoffController::enter(Step s) {
  step_ = s;
  step_since_ = ctx_.now();
  renew_asked_ = 0;
}

void HandoffController::finish(const std::string& error) {
  // Ready is final for this image: the caller replaces it (or exits).
  step_ = error.empty() ? Step::ready : Step::idle;
  Done d = std::move(done_);
  done_ = nullptr;
  if (d) d(error);
}

void HandoffController::run(const std::string& blocker) {
  if (step_ == Step::idle || step_ == Step::ready) return;
  const int64_t now = ctx_.now();
  const ClusterState& s = ctx_.state();
  if (ctx_.stopping) return finish("pgwarden is stopping");
  if (step_ == Step::settling) {
    if (!blocker.empty()) {
      if (now - step_since_ >= kSettleMs)
        finish("this node did not settle within " + std::to_string(kSettleMs / 1000) + " s (" + blocker + ")");
      return;
    }
    enter(Step::leadership);
  }
  if (step_ == Step::leadership) {
    consensus::RaftNode* raft = ctx_.raft;
    if (raft->is_leader() && now - step_since_ < ctx_.cfg.ha_lease_ms) {
      ctx_.activity.set(AgentState::handing_off, "handing raft leadership over");
      // Repeated each turn like a member removal's hand-over: raft ignores
      // a transfer to the same target while one is in progress.
      if (uint64_t to = membership_.handover_target(raft->membership(), raft->self_id()))
        raft->transfer_leadership(to);
      return;
    }
    if (raft->is_leader())
      PW_WARN("agent", "restart in place: raft leadership could not be handed over in %lld ms; "
                       "the members elect a new leader after this node leaves",
              static_cast<long long>(ctx_.cfg.ha_lease_ms));
    enter(Step::renewal);
  }
  if (step_ == Step::renewal) {
    const LeaseHold& hold = ctx_.lease.hold;
    if (s.primary != ctx_.self() || !hold.holds(s.epoch, now)) {
      // Not the lock holder (or no longer): nothing to renew. A holder that
      // lost its lease meanwhile was fenced by the agent; the new image
      // starts as any restarted node does.
      return finish("");
    }
    if (renew_asked_ == 0) {
      renew_asked_ = now;
      ctx_.activity.set(AgentState::handing_off, "renewing the lease");
      renewer_.renew_now();
      return;
    }
    if (hold.confirmed_ms() >= renew_asked_) return finish("");
    if (now - renew_asked_ >= ctx_.cfg.ha_lease_ms / 2)
      return finish("the lease could not be renewed within " + std::to_string(ctx_.cfg.ha_lease_ms / 2) + " ms");
  }
}

}  // namespace pw::node
