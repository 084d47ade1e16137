// ha/restart_controller.cc — see restart_controller.h.
#include "ha/restart_controller.h"

#include <algorithm>

#include "base/log.h"

namespace pw::node {

namespace {
// As a switchover's drain (switchover_controller.cc): the proxies stop
// routing new clients here once our gossip says "not serving"; statements
// already running get this long to end before the fast shutdown. The floor
// adds one loop interval (drain_floor_ms below): the other members may act
// on our gossip only at their next loop, and a client their proxy routed
// here meanwhile was cut in its login by the shutdown (CI: ha_day_two, one
// failed write through a replica's proxy during the primary's restart).
constexpr int64_t kDrainFloorMs = 50;
constexpr int64_t kDrainMaxMs = 300;

std::string entry_key(const ScheduledRestart& r) { return r.member + "@" + std::to_string(r.at_ms); }

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}
}  // namespace

void RestartController::finish(const std::string& why) {
  const ClusterState& s = ctx_.state();
  const std::string key = entry_key(s.restarts.front());
  phase_ = Phase::idle;
  if (done_for_ == key) return;  // already proposed; a dropped proposal is retried below
  done_for_ = key;
  PW_INFO("agent", "restart of PostgreSQL on %s: %s; next turn", ctx_.self().c_str(), why.c_str());
  Command c;
  c.type = CmdType::restart_done;
  c.node = ctx_.self();
  c.reason = why;
  ctx_.propose(c, [this](ProposalOutcome o) {
    if (o == ProposalOutcome::dropped) done_for_.clear();  // proposed again at the next turn
  });
}

bool RestartController::run() {
  run_scheduled_switchover();
  const ClusterState& s = ctx_.state();
  if (s.restarts.empty() || s.restarts.front().member != ctx_.self()) {
    // Flushed (or someone else's turn): a restart under way still finishes
    // through the role's controller; only the bookkeeping stops.
    phase_ = Phase::idle;
    drained_ = false;
    done_for_.clear();
    return false;
  }
  const ScheduledRestart& r = s.restarts.front();
  if (done_for_ == entry_key(r)) return false;  // waiting for restart_done to apply
  const int64_t wall = ctx_.world.wall_ms();
  if (r.at_ms > wall) {
    ctx_.world.wake(std::min<int64_t>(r.at_ms - wall, ctx_.cfg.ha_loop_interval_ms));
    return false;
  }
  LocalPg& local = ctx_.local;
  switch (phase_) {
    case Phase::idle: {
      if (!local.status().running) {
        // Nothing to restart: when it starts it reads the configuration.
        finish("PostgreSQL is not running here");
        return false;
      }
      const std::vector<std::string>& pending = local.status().pending_restart;
      if (r.pending_only && pending.empty()) {
        finish("no pending restart");
        return false;
      }
      was_primary_ = s.primary == ctx_.self() && local.made_primary();
      if (was_primary_ && (s.ready_epoch != s.epoch || s.switchover)) return false;  // not while it changes hands
      phase_ = was_primary_ ? Phase::draining : Phase::stopping;
      PW_INFO("agent", "restarting PostgreSQL on %s (%s)%s epoch=%llu", ctx_.self().c_str(),
              was_primary_ ? "primary, in place: same lease and epoch" : "standby",
              pending.empty() ? "" : (" for " + joined(pending)).c_str(),
              static_cast<unsigned long long>(s.epoch));
      if (was_primary_) {
        // "Not serving" first (AgentContext::serving): every proxy holds new
        // clients from our next gossip on, as for a switchover.
        ctx_.activity.begin(AgentState::restarting_pg, "(draining clients)");
        ctx_.kick();
        const int64_t drain_floor_ms = ctx_.cfg.ha_loop_interval_ms + kDrainFloorMs;
        ctx_.pg().wait_for_clients(drain_floor_ms, drain_floor_ms + kDrainMaxMs,
                                   ctx_.activity.done([this](const pgctl::Result&) {
          drained_ = true;
        }));
        return true;
      }
      [[fallthrough]];
    }
    case Phase::draining:
    case Phase::stopping: {
      if (phase_ == Phase::draining && !drained_) return false;
      drained_ = false;
      phase_ = Phase::stopping;
      ctx_.activity.begin(AgentState::restarting_pg, "(stopping)");
      ctx_.kick();
      ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done([this](const pgctl::Result& res) {
        if (!res.ok) {
          phase_ = Phase::idle;  // still running: tried again at the next turn
          return;
        }
        // A clean stop, on purpose: no rewind, no "died" (a primary is
        // started again at once by PrimaryController::reconcile, which arms
        // the fencer with the new postmaster before it takes writes).
        ctx_.local.mark_stopped();
        ctx_.fencer.disarm();
        phase_ = Phase::starting;
      }));
      return true;
    }
    case Phase::starting: {
      const pgctl::Status& st = local.status();
      if (was_primary_) {
        if (s.primary != ctx_.self()) {
          finish("no longer the primary");
        } else if (ctx_.serving() && s.ready_epoch == s.epoch) {
          finish("the primary serves again (epoch " + std::to_string(s.epoch) + ")");
        }
      } else if (st.running && st.in_recovery && st.wal_receiver_streaming) {
        finish("streaming again");
      } else if (st.running && s.primary == ctx_.self()) {
        finish("promoted meanwhile");
      }
      return false;
    }
  }
  return false;
}

void RestartController::run_scheduled_switchover() {
  const ClusterState& s = ctx_.state();
  if (!s.scheduled_switchover || s.primary != ctx_.self()) return;
  const ScheduledSwitchover& w = *s.scheduled_switchover;
  const int64_t wall = ctx_.world.wall_ms();
  if (w.at_ms > wall) {
    ctx_.world.wake(std::min<int64_t>(w.at_ms - wall, ctx_.cfg.ha_loop_interval_ms));
    return;
  }
  if (s.switchover || s.ready_epoch != s.epoch || switchover_proposed_at_ == w.at_ms) return;
  switchover_proposed_at_ = w.at_ms;
  Command c;
  if (w.from != ctx_.self()) {
    // Scheduled while another member was primary: the situation it was
    // planned for is gone (as Patroni does, it is cancelled, not run).
    PW_WARN("agent", "scheduled switchover from %s cancelled: %s is the primary now", w.from.c_str(),
            ctx_.self().c_str());
    c.type = CmdType::flush;
    c.reason = "switchover";
  } else {
    PW_INFO("agent", "scheduled switchover from %s to %s is due", w.from.c_str(),
            w.to.empty() ? "the best standby" : w.to.c_str());
    c.type = CmdType::switchover;  // applying it clears the schedule
    c.node = ctx_.self();
    c.to = w.to;
  }
  ctx_.propose(c, [this](ProposalOutcome o) {
    if (o == ProposalOutcome::dropped) switchover_proposed_at_ = 0;
  });
}

void RestartController::reload_applied(const Command& c) {
  if (!c.members.empty() && std::find(c.members.begin(), c.members.end(), ctx_.self()) == c.members.end()) return;
  if (!ctx_.local.status().running) return;  // it reads its configuration when it starts
  PW_INFO("agent", "reloading PostgreSQL's configuration (ctl reload)");
  // Beside whatever operation runs: a reload only signals the postmaster.
  ctx_.pg().reload([](const pgctl::Result& r) {
    if (!r.ok) PW_WARN("agent", "reload of PostgreSQL failed: %s", r.error.c_str());
  });
}

}  // namespace pw::node
