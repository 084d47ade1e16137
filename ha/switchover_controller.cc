// ha/switchover_controller.cc — see switchover_controller.h.
#include "ha/switchover_controller.h"

#include "base/log.h"

namespace pw::node {

namespace {
// Every proxy withdraws the route for new clients when it applies the
// switchover (one raft round trip after us at most); the floor covers that
// and connects already in flight. Then statements running on PostgreSQL may
// finish, up to the bound — usually they are done long before (measured:
// the fixed 300 ms drain this replaces was a third of the write gap).
constexpr int64_t kDrainFloorMs = 50;
constexpr int64_t kDrainMaxMs = 300;
// How long the old primary waits for every member's proxy to withdraw the
// route (status v6 route_index) before the drain: normally one round trip.
// A member that stays silent that long is not worth holding the switchover
// for (its own route ends with its freshness window).
constexpr int64_t kWithdrawMaxMs = 1000;
}  // namespace

std::string SwitchoverController::not_withdrawn(int64_t now) const {
  std::string missing;
  for (const auto& m : ctx_.roster()) {
    const std::string& name = m.name;
    if (name == ctx_.self()) continue;
    const MemberStatus* st = ctx_.members.fresh(name, now);
    // Silent members and older versions (no route index) cannot say.
    if (!st || st->format < 6) continue;
    if (st->route_index < withdraw_index_) missing += (missing.empty() ? "" : ",") + name;
  }
  return missing;
}

void SwitchoverController::reset() {
  if (!switching_ && drain_until_ == 0 && withdraw_since_ == 0) return;
  switching_ = false;
  drain_until_ = 0;
  drained_ = false;
  withdraw_since_ = 0;
  ctx_.members.own().final_lsn = 0;
}

void SwitchoverController::abort(const std::string& why) {
  ctx_.activity.error("switchover aborted: " + why);
  reset();
  Command c;
  c.type = CmdType::clear_switchover;
  c.node = ctx_.self();
  ctx_.propose(c);
}

void SwitchoverController::reconcile() {
  const ClusterState& s = ctx_.state();
  const uint64_t E = s.epoch;
  int64_t now = ctx_.now();
  if (!switching_) {
    std::string target = s.switchover->second;
    if (target.empty()) {
      // A planned hand-over: the target replays the final WAL before it gets
      // the lock, so the failover-only rules (synchronous mode) do not apply.
      Ranking r = rank_candidates(decider_.input(), ctx_.self(), false);
      if (r.ranked.empty()) return abort("no eligible standby");
      target = r.ranked.front();
    } else if (const MemberStatus* t = ctx_.members.last(target); t && t->nofailover) {
      // Requested before its tag was known (the request path refuses it);
      // the tag as last reported, fresh or not.
      return abort(target + " is tagged nofailover");
    }
    if (withdraw_since_ == 0) {
      // Every member's proxy holds new clients once it applied the
      // switchover (or heard we stopped serving); one that learns it late —
      // a follower hears of the commit a message after us, a loaded host
      // later still — would otherwise route a client to us after the drain
      // and the shutdown would cut it mid-statement (ha_switchover flake).
      withdraw_since_ = now;
      // The entry's own index; the newest applied one when it came with a
      // snapshot (a little later than needed: members apply it too).
      withdraw_index_ = committed_index_ != 0 ? committed_index_ : ctx_.sm.last_index();
    }
    if (drain_until_ == 0 && !drained_) {
      std::string missing = not_withdrawn(now);
      if (!missing.empty() && now - withdraw_since_ < kWithdrawMaxMs) {
        ctx_.activity.set(AgentState::switchover_draining, "waiting for the proxies of " + missing);
        ctx_.world.wake(10);
        return;
      }
      if (!missing.empty())
        PW_WARN("agent", "switchover: %s did not confirm holding new clients within %lld ms; going on",
                missing.c_str(), static_cast<long long>(kWithdrawMaxMs));
    }
    if (!drained_) {
      // Every proxy withdraws the route when it applies the switchover; give
      // them (and statements already running) a moment before the shutdown,
      // so no client is cut mid-statement or routed to a server shutting down.
      drain_until_ = now + kDrainMaxMs;
      ctx_.activity.begin(AgentState::switchover_draining);
      ctx_.pg().wait_for_clients(kDrainFloorMs, kDrainMaxMs,
                                 ctx_.activity.done([this](const pgctl::Result&) { drained_ = drain_until_ != 0; }));
      return;
    }
    drain_until_ = 0;
    drained_ = false;
    withdraw_since_ = 0;
    switching_ = true;
    started_ = now;
    target_ = target;
    PW_INFO("agent", "switchover to %s: stopping PostgreSQL cleanly epoch=%llu", target.c_str(),
            static_cast<unsigned long long>(E));
    ctx_.activity.begin(AgentState::switchover_stopping);
    ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done([this](const pgctl::Result& r) {
      if (!r.ok) return;
      ctx_.local.mark_stopped();
      ctx_.fencer.disarm();
      ctx_.members.own().final_lsn = ctx_.local.data().checkpoint_lsn;
      PW_INFO("agent", "switchover: shutdown checkpoint at %llX",
              static_cast<unsigned long long>(ctx_.members.own().final_lsn));
    }));
    return;
  }
  if (ctx_.local.running()) return;  // stop still settling
  const MemberStatus* t = ctx_.members.fresh(target_, now);
  // Its tag may have become known only now (no status of it had reached us
  // when the switchover started): never hand the lock to it.
  if (t && t->nofailover) return abort(target_ + " is tagged nofailover");
  uint64_t final_lsn = ctx_.members.own().final_lsn;
  // Past our shutdown checkpoint *on our timeline*: a standby on another
  // timeline (a former primary not rewound yet) can be past that LSN with
  // different WAL (found by sim_ha: failover --to such a member, which turns
  // into a forced switchover, lost acknowledged commits).
  bool caught_up = t && final_lsn != 0 && t->replay_lsn > final_lsn && t->timeline == ctx_.local.data().timeline &&
                   t->system_id == ctx_.local.data().system_id;
  if (!caught_up) {
    // Ten leases (30 s with the defaults): the target streamed when it was
    // chosen, so replaying one shutdown checkpoint takes far less.
    int64_t limit = 10 * ctx_.cfg.ha_lease_ms;
    if (now - started_ > limit)
      return abort(target_ + " did not replay the final WAL within " + std::to_string(limit / 1000) + " s");
    ctx_.activity.set(AgentState::switchover_waiting_replay, target_);
    return;
  }
  ctx_.activity.set(AgentState::switchover_handing_over, target_);
  ctx_.release(E, target_, final_lsn, "switchover: " + ctx_.self() + " -> " + target_);
}

}  // namespace pw::node
