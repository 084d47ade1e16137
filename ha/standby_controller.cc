// ha/standby_controller.cc — see standby_controller.h.
#include "ha/standby_controller.h"

#include <algorithm>
#include <optional>

#include "base/log.h"

namespace pw::node {

using Kind = pgctl::DataDirInfo::Kind;

namespace {
constexpr int64_t kNotStreamingMs = 10000;
// A restart raises the settings to pg_control's values, so one is enough;
// the pause only stops a loop should the raise not take (a bug).
constexpr int64_t kSettingsRestartPauseMs = 30000;
}

bool StandbyController::primary_alive(const std::string& name) const {
  // Its agent gossips and reports PostgreSQL running read-write: worth
  // cloning or rewinding from (a dead one would hold the operation for long).
  const MemberStatus* st = ctx_.members.fresh(name, ctx_.now());
  return st && st->pg_running && !st->in_recovery;
}

bool StandbyController::run_reinit() {
  LocalPg& local = ctx_.local;
  if (local.status().running) {
    ctx_.activity.begin(AgentState::reinit, "stopping PostgreSQL");
    ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done([this](const pgctl::Result& r) {
      if (r.ok) ctx_.local.mark_stopped();
    }));
    return true;
  }
  if (!local.empty()) {
    // I4: a member of the committed synchronous set may hold acknowledged
    // commits no other standby has. With PostgreSQL stopped the primary drops
    // it from the set (once another member caught up); only then is its
    // directory moved aside. (The request is refused for a member of the set,
    // but it may have joined the set since; found by sim_ha.)
    const auto& C = ctx_.state().sync;
    if (ctx_.cfg.ha_synchronous_mode && std::find(C.begin(), C.end(), ctx_.self()) != C.end()) {
      ctx_.activity.set(AgentState::reinit, "waiting to leave the synchronous standby set");
      return true;
    }
    std::string moved;
    pgctl::Result r = ctx_.pg().move_aside(&moved);
    if (!r.ok) {
      ctx_.activity.error("reinit: moving the data directory aside failed: " + r.error);
      return true;
    }
    PW_WARN("agent", "reinit: data directory moved aside to %s", moved.c_str());
    local.refresh();
  }
  reinit_started_ = true;
  return false;
}

bool StandbyController::past_fork(uint64_t* fork) {
  const ClusterState& s = ctx_.state();
  LocalPg& local = ctx_.local;
  const pgctl::Status& st = local.status();
  // The timeline the primary writes on, as its `ready` recorded it.
  const uint32_t target = s.ready_timeline;
  const uint32_t own = local.timeline();
  if (target == 0 || own == 0 || own >= target || !st.running || !st.in_recovery || st.replay_lsn == 0)
    return false;
  std::optional<uint64_t> point = ctx_.pg().switchpoint(target, own);
  if (!point) return false;  // not fetched yet, or our timeline is no ancestor of it: the timeout decides
  *fork = *point;
  // The same test as PostgreSQL's (rescanLatestTimeLine): the end of the
  // last replayed record past the switchpoint.
  return st.replay_lsn > *point;
}

void StandbyController::reconcile() {
  const ClusterState& s = ctx_.state();
  int64_t now = ctx_.now();
  LocalPg& local = ctx_.local;
  const std::string& P = s.primary;
  const bool ready = !P.empty() && s.ready_epoch == s.epoch;

  if (s.reinit.count(ctx_.self()) && !reinit_started_ && run_reinit()) return;

  if (local.empty()) {
    if (!ready || !primary_alive(P)) {
      ctx_.activity.set(AgentState::empty_waiting_primary, P);
      return;
    }
    ctx_.activity.begin(AgentState::cloning, P);
    ctx_.pg().basebackup(ctx_.upstream_of(P), ctx_.activity.done([this](const pgctl::Result& r) {
      if (!r.ok) return;
      ctx_.local.set_needs_rewind(false);
      if (reinit_started_) {
        reinit_started_ = false;
        Command c;
        c.type = CmdType::reinit_done;
        c.node = ctx_.self();
        ctx_.propose(c);
      }
    }));
    return;
  }

  if (!local.status().running) {
    if (ready && local.needs_rewind() && primary_alive(P)) {
      ctx_.activity.begin(AgentState::rewinding, P);
      ctx_.pg().rewind(ctx_.upstream_of(P), ctx_.activity.done([this](const pgctl::Result& r) {
        if (r.ok) {
          ctx_.local.set_needs_rewind(false);
          return;
        }
        if (r.untouched) return;  // the source was not there: try again later, data intact
        // I6: a rewind that fails leaves the directory moved aside; we re-clone.
        if (ctx_.pg().inspect().kind != Kind::empty) {
          std::string moved;
          if (ctx_.pg().move_aside(&moved).ok)
            PW_WARN("agent", "rewind failed; data moved aside to %s, re-cloning", moved.c_str());
          ctx_.local.refresh();
        }
        ctx_.local.set_needs_rewind(false);
      }));
      return;
    }
    if (local.needs_rewind() && !P.empty() && ctx_.lease.watch.expired(s.epoch, now)) {
      // The primary we would rewind from is gone: start as a standby with
      // what we have, so this node can still be a failover candidate.
      local.set_needs_rewind(false);
    }
    if (local.needs_rewind() && !P.empty()) {
      ctx_.activity.set(AgentState::rewind_waiting, P);
      return;
    }
    std::string target = ready ? P : std::string();
    ctx_.activity.begin(AgentState::starting_standby, target);
    ctx_.pg().start(pgctl::Role::standby, ready ? ctx_.upstream_of(P) : pgctl::Upstream{},
                    ctx_.activity.done([this, target](const pgctl::Result& r) {
                      if (!r.ok) return;
                      ctx_.local.mark_standby(target);
                      not_streaming_since_ = 0;
                    }));
    return;
  }

  const std::string& short_by = local.status().settings_below_primary;
  if (!short_by.empty() && (settings_restart_at_ == 0 || now - settings_restart_at_ > kSettingsRestartPauseMs)) {
    // Replay has paused on the primary's PARAMETER_CHANGE and a promotion
    // would fail: restart, which starts with pg_control's values as floors
    // (pgctl/hot_standby_params.h).
    settings_restart_at_ = now;
    PW_WARN("agent", "standby settings below the primary's (%s): restarting PostgreSQL to raise them",
            short_by.c_str());
    ctx_.activity.begin(AgentState::stopping_pg, "settings below the primary's: " + short_by);
    ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done([this](const pgctl::Result& r) {
      if (r.ok) ctx_.local.mark_stopped();
    }));
    return;
  }
  if (!ready) {
    ctx_.activity.set(AgentState::standby_no_primary, P);
    not_streaming_since_ = 0;
    return;
  }
  if (local.following() != P && local.needs_rewind() && primary_alive(P)) {
    // Started as a standby while no primary existed (to stay a failover
    // candidate) from a directory that last ran read-write: it must be
    // rewound before following (I6). Following by reload first only failed
    // to stream on the forked timeline until the not-streaming timeout —
    // ~10 s more before the replica streamed (found by the fault harness,
    // kill_postmaster and sigstop of a primary).
    PW_INFO("agent", "directory last ran as a primary; stopping to rewind before following %s", P.c_str());
    ctx_.activity.begin(AgentState::stopping_to_rewind);
    ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done([this](const pgctl::Result& r) {
      if (r.ok) ctx_.local.mark_stopped();
    }));
    return;
  }
  if (local.following() != P) {
    ctx_.activity.begin(AgentState::following, P);
    std::string target = P;
    ctx_.pg().follow(ctx_.upstream_of(P), ctx_.activity.done([this, target](const pgctl::Result& r) {
      if (r.ok) ctx_.local.set_following(target);
    }));
    not_streaming_since_ = now;
    return;
  }
  if (uint64_t fork = 0; primary_alive(P) && past_fork(&fork)) {
    // Replay went past the point where the primary's timeline forked from
    // ours (WAL its predecessor wrote that it never had: a standby ahead of
    // the one promoted): PostgreSQL refuses that timeline at once, and only
    // a rewind helps (I6). Waiting for the not-streaming timeout instead
    // cost ~10 s, or for ever — its walreceiver streams our old timeline up
    // to the fork after each retry, and that brief "streaming" reset the
    // timer (found by the fault harness, sync mode, a bystander of
    // oneway_out/oneway_in on the primary).
    PW_WARN("agent", "replayed to %llX, past %s's fork from timeline %u at %llX; stopping to rewind",
            static_cast<unsigned long long>(local.status().replay_lsn), P.c_str(), local.timeline(),
            static_cast<unsigned long long>(fork));
    stop_to_rewind();
    return;
  }
  if (local.status().wal_receiver_streaming) {
    not_streaming_since_ = 0;
    ctx_.activity.set(AgentState::streaming, P);
    return;
  }
  if (!primary_alive(P)) {
    // Nothing to stream from (the primary is stopping, restarting or cut
    // off): not a sign of divergence, so no rewind for that.
    not_streaming_since_ = 0;
    ctx_.activity.set(AgentState::standby_connecting, P);
    return;
  }
  if (not_streaming_since_ == 0) not_streaming_since_ = now;
  if (now - not_streaming_since_ > kNotStreamingMs) {
    // Following does not work (diverged timeline?): stop and rewind (I6).
    PW_WARN("agent", "not streaming from %s for %lld ms; stopping to rewind", P.c_str(),
            static_cast<long long>(now - not_streaming_since_));
    stop_to_rewind();
    return;
  }
  ctx_.activity.set(AgentState::standby_connecting, P);
}

void StandbyController::stop_to_rewind() {
  not_streaming_since_ = 0;
  ctx_.local.set_needs_rewind(true);
  ctx_.activity.begin(AgentState::stopping_to_rewind);
  ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done([this](const pgctl::Result& r) {
    if (r.ok) ctx_.local.mark_stopped();
  }));
}

}  // namespace pw::node
