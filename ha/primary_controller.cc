// ha/primary_controller.cc — see primary_controller.h.
#include "ha/primary_controller.h"

#include "base/log.h"

namespace pw::node {

void PrimaryController::postgres_died() {
  if (ctx_.state().primary == ctx_.self() && pg_down_since_ == 0) pg_down_since_ = ctx_.now();
}

bool PrimaryController::fence_if_needed(bool exempt) {
  if (!ctx_.local.writable() || exempt) return false;
  const ClusterState& s = ctx_.state();
  int64_t now = ctx_.now();
  const LeaseHold& hold = ctx_.lease.hold;
  if (s.primary == ctx_.self() && hold.holds(s.epoch, now) && !hold.must_fence(s.epoch, now)) return false;
  bool expired = !hold.holds(s.epoch, now);
  PW_WARN("agent", "fencing: %s epoch=%llu primary=%s; stopping PostgreSQL (%s)",
          s.primary != ctx_.self() ? "this node no longer holds the lock" : "the lease is about to expire",
          static_cast<unsigned long long>(s.epoch), s.primary.c_str(), expired ? "immediate" : "fast");
  ctx_.activity.begin(AgentState::fencing);
  ctx_.kick();  // not serving any more: gossip it (Agent::kick_now) while PostgreSQL stops
  fencing_fast_ = !expired;
  ctx_.pg().stop(expired ? pgctl::StopMode::immediate : pgctl::StopMode::fast,
                 ctx_.activity.done([this](const pgctl::Result& r) {
                   fencing_fast_ = false;
                   if (!r.ok) return;
                   ctx_.local.mark_stopped();
                   ctx_.fencer.disarm();
                   ctx_.local.set_needs_rewind(true);
                 }));
  return true;
}

void PrimaryController::hurry_fence() {
  if (!fencing_fast_ || ctx_.activity.state() != AgentState::fencing) return;
  const ClusterState& s = ctx_.state();
  const LeaseHold& hold = ctx_.lease.hold;
  int64_t now = ctx_.now();
  if (s.primary != ctx_.self() || !hold.holds(s.epoch, now) || hold.must_fence(s.epoch, now)) return;
  fencing_fast_ = false;
  PW_WARN("agent", "fencing: the lease is confirmed again epoch=%llu; stopping PostgreSQL at once (immediate) to "
          "restart it rather than wait for its clean shutdown",
          static_cast<unsigned long long>(s.epoch));
  // Chained to the stop in progress, whose own callback still ends the activity.
  ctx_.pg().stop(pgctl::StopMode::immediate, [](const pgctl::Result&) {});
}

bool PrimaryController::reconcile() {
  const ClusterState& s = ctx_.state();
  const uint64_t E = s.epoch;
  int64_t now = ctx_.now();
  const LeaseHold& hold = ctx_.lease.hold;
  LocalPg& local = ctx_.local;
  if (local.empty()) {
    ctx_.activity.error("this node holds the lock but has no data; releasing it");
    ctx_.release(E, "", 0, "release: " + ctx_.self() + " has no data");
    return false;
  }
  if (!hold.holds(E, now) || hold.must_fence(E, now)) {
    // Inside the fence margin nothing is started or promoted: the lease may
    // end before PostgreSQL would be stopped again.
    ctx_.activity.set(AgentState::acquiring_lease);
    return false;
  }
  // The silence after which a member's route cannot still be valid (I3).
  const int64_t silence = ctx_.cfg.ha_lease_ms / 2 + ctx_.cfg.ha_loop_interval_ms;
  if (!local.running()) {
    if (pg_down_since_ != 0) {
      // Our PostgreSQL died on its own while we were primary of this epoch
      // (a fence or a switchover stops it on purpose: not counted).
      if (now - pg_down_since_ >= ctx_.cfg.ha_primary_restart_timeout_ms) {
        if (ctx_.release_proposed != E)
          PW_WARN("agent", "PostgreSQL is down on the primary; releasing the lock epoch=%llu",
                  static_cast<unsigned long long>(E));
        ctx_.release(E, "", 0, "failover: PostgreSQL on " + ctx_.self() + " died");
        ctx_.activity.set(AgentState::released_pg_died);
        return false;
      }
    }
    if (!ctx_.members.all_acked(E, now, silence, ctx_.release_applied_ms)) {
      ctx_.activity.set(AgentState::waiting_epoch_acks);
      return false;
    }
    const bool as_standby = local.data().was_standby;
    ctx_.activity.begin(AgentState::starting_primary, as_standby ? "(as standby before promotion)" : "");
    pgctl::Role role = as_standby ? pgctl::Role::standby : pgctl::Role::primary;
    ctx_.fencer.disarm();  // no order may outlive the postmaster it named
    if (role == pgctl::Role::primary) ctx_.local.mark_becoming_primary();
    ctx_.pg().start(role, {}, ctx_.activity.done([this, role](const pgctl::Result& r) {
      if (!r.ok) {
        ctx_.local.clear_becoming_primary();
        return;
      }
      if (role == pgctl::Role::primary) {
        ctx_.local.mark_primary();
        pg_down_since_ = 0;
        ctx_.fencer.arm(ctx_.pg().postmaster_pid(), ctx_.lease.hold.until_ms());
      } else {
        ctx_.local.mark_standby("");
      }
    }));
    if (role == pgctl::Role::primary) arm_while_starting();
    return false;
  }
  if (!local.made_primary() && local.status().in_recovery) {
    if (!ctx_.members.all_acked(E, now, silence, ctx_.release_applied_ms)) {
      ctx_.activity.set(AgentState::waiting_epoch_acks);
      return false;
    }
    // Arm the fencer before PostgreSQL becomes writable; renewals keep it
    // armed until the promotion is reported (LocalPg::becoming_primary).
    ctx_.fencer.arm(ctx_.pg().postmaster_pid(), hold.until_ms());
    // Onto a timeline id no server of this cluster used or was handed
    // before (cluster_state.h: max_timeline, reserved when this epoch began),
    // whatever history files this standby happens to have.
    const uint32_t floor = promotion_floor(s);
    ctx_.local.mark_becoming_primary();
    ctx_.activity.begin(AgentState::promoting, floor > 1 ? "(onto timeline " + std::to_string(floor) + " or above)" : "");
    ctx_.pg().promote(floor, ctx_.activity.done([this](const pgctl::Result& r) {
      if (!r.ok) {
        ctx_.local.clear_becoming_primary();
        return;
      }
      ctx_.local.mark_primary(r.timeline);
      pg_down_since_ = 0;
      PW_INFO("agent", "promoted epoch=%llu timeline=%u", static_cast<unsigned long long>(ctx_.state().epoch),
              r.timeline);
    }));
    return false;
  }
  ctx_.fencer.arm(ctx_.pg().postmaster_pid(), hold.until_ms());
  pg_down_since_ = 0;
  if (ctx_.prepared_epoch != E) {
    ctx_.activity.begin(AgentState::preparing_primary, "(role)");
    ctx_.pg().ensure_replication_role(ctx_.activity.done([this, E](const pgctl::Result& r) {
      if (!r.ok) return;
      // The superuser password from [postgresql] superuser_password_file,
      // at every new epoch (a changed file takes effect at the next one).
      ctx_.activity.begin(AgentState::preparing_primary, "(superuser password)");
      ctx_.pg().ensure_superuser_password(ctx_.activity.done([this, E](const pgctl::Result& r) {
        if (!r.ok) return;
        std::vector<std::string> slots;
        for (const auto& m : ctx_.other_members()) slots.push_back(pgctl::Postgres::slot_name(m));
        ctx_.activity.begin(AgentState::preparing_primary, "(slots)");
        uint64_t roster = ctx_.roster_epoch();
        ctx_.pg().sync_slots(slots, ctx_.activity.done([this, E, roster](const pgctl::Result& r) {
          if (!r.ok) return;
          ctx_.prepared_epoch = E;
          ctx_.slots_roster_epoch = roster;
        }));
      }));
    }));
    return false;
  }
  if (ctx_.slots_roster_epoch != ctx_.roster_epoch()) {
    // The membership changed: a new member's clone needs its slot (and a
    // removed member's slot must not hold WAL forever).
    std::vector<std::string> slots;
    for (const auto& m : ctx_.other_members()) slots.push_back(pgctl::Postgres::slot_name(m));
    uint64_t roster = ctx_.roster_epoch();
    ctx_.activity.begin(AgentState::preparing_primary, "(slots for the new membership)");
    ctx_.pg().sync_slots(slots, ctx_.activity.done([this, roster](const pgctl::Result& r) {
      if (r.ok) ctx_.slots_roster_epoch = roster;
    }));
    return false;
  }
  return true;
}

void PrimaryController::arm_while_starting() {
  // The postmaster exists from the fork on (pgctl forks it before start()
  // returns), but the start is reported only once it accepts connections —
  // after crash recovery, which can take minutes. A server started as
  // primary takes writes from then on whether or not this agent is running:
  // frozen meanwhile (SIGSTOP, swap storm), it would stay writable past the
  // lease. So the fencer gets the postmaster and the lease now (I2), and
  // every renewal applied during the start moves the deadline on.
  pid_t pid = ctx_.pg().postmaster_pid();
  if (pid == 0 || !ctx_.local.becoming_primary()) return;  // refused before the fork, or already reported
  ctx_.fencer.arm(pid, ctx_.lease.hold.until_ms());
}

bool PrimaryController::announce_ready() {
  const ClusterState& s = ctx_.state();
  const uint64_t E = s.epoch;
  if (s.ready_epoch != E) {
    // `ready` records the timeline this primary writes on (the decider's
    // timeline rule must survive restarts of every daemon): known from the
    // promotion, else from a probe made since PostgreSQL became primary.
    const uint32_t timeline = ctx_.local.primary_timeline();
    if (timeline == 0) {
      ctx_.local.probe(ctx_.now(), [this] { ctx_.kick(); }, [this] { ctx_.kick(); });
      ctx_.activity.set(AgentState::announcing_ready);
      return false;
    }
    if (ready_proposed_ != E) {
      ready_proposed_ = E;
      Command c;
      c.type = CmdType::ready;
      c.node = ctx_.self();
      c.epoch = E;
      c.timeline = timeline;
      ctx_.propose(c, [this, E](ProposalOutcome o) {
        // Not known to be committed: propose again (a second `ready` of the
        // epoch changes nothing).
        if (o != ProposalOutcome::committed && ready_proposed_ == E) ready_proposed_ = 0;
      });
    }
    ctx_.activity.set(AgentState::announcing_ready);
    return false;
  }
  return true;
}

}  // namespace pw::node
