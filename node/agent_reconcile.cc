// node/agent_reconcile.cc — what PostgreSQL on this node should become,
// given the committed state: bootstrap when we own the claim, primary when
// we hold the lock (and only while we hold the lease — I2), standby of the
// primary otherwise (clone when empty, rewind or re-clone when diverged —
// I6). One pgctl operation at a time; each ends by kicking the loop again.
#include <event2/event.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "node/agent.h"

namespace pw::node {

using Kind = pgctl::DataDirInfo::Kind;
constexpr int64_t kSwitchoverDrainMs = 300;

void Agent::probe() {
  if (probe_inflight_) return;
  probe_inflight_ = true;
  pg_->probe([this](const pgctl::Status& st) {
    probe_inflight_ = false;
    bool was_running = pg_status_.running;
    pg_status_ = st;
    if (st.running && !st.in_recovery && pg_->postmaster_pid() > 0) pg_primary_ = true;
    if (st.running != was_running) kick();
  });
}

void Agent::refresh_data_dir() {
  data_ = pg_->inspect();
  if (data_.kind == Kind::cluster && !data_.was_standby && state().primary != cfg_.node_name && !pg_primary_)
    needs_rewind_ = true;
}

void Agent::begin_op(const std::string& what) {
  busy_ = true;
  busy_what_ = what;
  set_agent_state(what);
}

pgctl::Done Agent::end_op(std::function<void(const pgctl::Result&)> then) {
  return [this, then](const pgctl::Result& r) {
    std::string what = busy_what_;
    busy_ = false;
    if (!r.ok) {
      set_error(what + " failed: " + r.error);
      // Back off before the next attempt so a failing clone or start does
      // not spin; fencing is checked before this gate.
      failures_ = std::min(failures_ + 1, 5);
      retry_at_ = mono_ms() + 500 * (1 << failures_);
    } else {
      last_error_.clear();
      failures_ = 0;
      retry_at_ = 0;
    }
    refresh_data_dir();
    if (pg_->postmaster_pid() == 0) {
      following_.clear();
      pg_primary_ = false;
    }
    if (then) then(r);
    if (stopping_) return;
    kick();
  };
}

// The bootstrap marker (state_dir/bootstrap-attempt) records that this
// node's data directory was made by a bootstrap attempt of its own, with the
// system id once initdb finished. A directory so marked that did not become
// the cluster is the remains of a failed attempt: it is moved aside (never
// deleted) instead of being reported for adoption or refused as foreign.
std::string Agent::marker_path() const { return cfg_.state_dir + "/bootstrap-attempt"; }

void Agent::write_marker(uint64_t system_id) {
  std::string tmp = marker_path() + ".tmp";
  if (FILE* f = fopen(tmp.c_str(), "w")) {
    fprintf(f, "system_id=%llu\n", static_cast<unsigned long long>(system_id));
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    rename(tmp.c_str(), marker_path().c_str());
  } else {
    PW_WARN("agent", "cannot write %s: %s", marker_path().c_str(), strerror(errno));
  }
}

bool Agent::abandoned_bootstrap_dir() const {
  FILE* f = fopen(marker_path().c_str(), "r");
  if (!f) return false;
  unsigned long long id = 0;
  int n = fscanf(f, "system_id=%llu", &id);
  fclose(f);
  if (data_.kind == Kind::empty) return false;
  return n != 1 || id == 0 || id == data_.system_id || data_.kind == Kind::unusable;
}

void Agent::reconcile() {
  if (busy_ || stopping_ || !raft_) return;
  if (fence_if_needed()) return;
  if (retry_at_ && mono_ms() < retry_at_) return;
  const ClusterState& s = state();
  const bool my_claim = s.init == InitKind::claimed && s.init_node == cfg_.node_name;
  if (bootstrapping_ && !my_claim && s.primary != cfg_.node_name) {
    // Our bootstrap lost its claim (cleared and given to another member).
    PW_WARN("agent", "bootstrap abandoned: the claim is no longer ours epoch=%llu", static_cast<unsigned long long>(s.epoch));
    bootstrapping_ = false;
  }
  if (!my_claim && !bootstrapping_ && abandoned_bootstrap_dir() &&
      !(s.init == InitKind::done && data_.system_id == s.system_id)) {
    if (pg_status_.running) {
      begin_op("stopping PostgreSQL of an abandoned bootstrap");
      pg_->stop(pgctl::StopMode::immediate, end_op());
      return;
    }
    std::string moved;
    pgctl::Result r = pg_->move_aside(&moved);
    if (r.ok) {
      PW_WARN("agent", "the data directory was left by a bootstrap attempt of this node that did not "
                       "become the cluster; moved aside to %s", moved.c_str());
      unlink(marker_path().c_str());
    } else {
      set_error("moving an abandoned bootstrap directory aside failed: " + r.error);
    }
    refresh_data_dir();
    kick();
    return;
  }
  if (s.init == InitKind::absent) {
    set_agent_state(data_.kind == Kind::cluster ? "has data, waiting for the bootstrap decision"
                                                : "waiting for the bootstrap decision");
    return;
  }
  if (s.init == InitKind::claimed) {
    if (s.init_node == cfg_.node_name) reconcile_bootstrap();
    else set_agent_state("waiting for " + s.init_node + " to bootstrap");
    return;
  }
  if (data_.kind == Kind::unusable) {
    set_agent_state("data directory unusable");
    return;
  }
  if (data_.kind == Kind::cluster && data_.system_id != s.system_id) {
    if (pg_status_.running) {
      begin_op("stopping PostgreSQL of a foreign cluster");
      pg_->stop(pgctl::StopMode::fast, end_op());
      return;
    }
    if (cfg_.pg_move_aside_foreign) {
      std::string moved;
      pgctl::Result r = pg_->move_aside(&moved);
      if (r.ok) PW_WARN("agent", "foreign data directory moved aside to %s", moved.c_str());
      else set_error("moving the foreign data directory aside failed: " + r.error);
      refresh_data_dir();
      kick();
      return;
    }
    set_agent_state("refusing a foreign data directory");
    return;
  }
  if (s.primary == cfg_.node_name) reconcile_primary();
  else reconcile_standby();
}

bool Agent::fence_if_needed() {
  bool writable = pg_primary_ || (pg_status_.running && !pg_status_.in_recovery);
  if (!writable || switching_) return false;
  const ClusterState& s = state();
  int64_t now = mono_ms();
  if (bootstrapping_ && ((s.init == InitKind::claimed && s.init_node == cfg_.node_name) ||
                         (s.primary == cfg_.node_name && !hold_.holds(s.epoch, now))))
    return false;  // bootstrap: nothing to protect yet; the lease follows bootstrap_done
  if (s.primary == cfg_.node_name && hold_.holds(s.epoch, now) && !hold_.must_fence(s.epoch, now)) return false;
  bool expired = !hold_.holds(s.epoch, now);
  PW_WARN("agent", "fencing: %s epoch=%llu primary=%s; stopping PostgreSQL (%s)",
          s.primary != cfg_.node_name ? "this node no longer holds the lock" : "the lease is about to expire",
          static_cast<unsigned long long>(s.epoch), s.primary.c_str(), expired ? "immediate" : "fast");
  fenced_epoch_ = s.epoch;
  publish_route();
  begin_op("fencing: demoting PostgreSQL");
  pg_->stop(expired ? pgctl::StopMode::immediate : pgctl::StopMode::fast, end_op([this](const pgctl::Result& r) {
    if (r.ok) {
      pg_primary_ = false;
      pg_status_.running = false;
      fencer_->disarm();
      needs_rewind_ = true;
    }
  }));
  return true;
}

void Agent::reconcile_bootstrap() {
  const ClusterState& s = state();
  if (bootstrap_failed_claim_ == s.claim_index) {
    set_agent_state("bootstrap failed; waiting for the claim to move to another member");
    return;
  }
  if (bootstrapping_) return;  // the chain below is running
  if (!fresh_view(mono_ms())) {
    // A restarted node replays an old claim before it hears the leader; it
    // must not act on it until it knows the claim is still current.
    set_agent_state("bootstrap claim: waiting to hear from the leader");
    return;
  }
  if (pg_status_.running) {
    begin_op("stopping PostgreSQL before bootstrap");
    pg_->stop(pgctl::StopMode::immediate, end_op());
    return;
  }
  if (data_.kind != Kind::empty) {
    // A directory here is the remains of an earlier attempt of ours (we
    // reported empty when the claim was made): never resurrect it.
    std::string moved;
    pgctl::Result r = pg_->move_aside(&moved);
    if (!r.ok) {
      set_error("bootstrap: cannot move the half-made data directory aside: " + r.error);
      bootstrap_failed_claim_ = s.claim_index;
      return;
    }
    PW_WARN("agent", "bootstrap: moved the previous data directory aside to %s", moved.c_str());
    refresh_data_dir();
  }
  bootstrapping_ = true;
  write_marker(0);
  uint64_t claim = s.claim_index;
  auto fail = [this, claim](const std::string& step, const pgctl::Result& r) {
    set_error("bootstrap: " + step + " failed: " + r.error);
    bootstrap_failed_claim_ = claim;
    bootstrapping_ = false;
  };
  begin_op("bootstrap: initdb");
  pg_->initdb(end_op([this, fail](const pgctl::Result& r) {
    if (!r.ok) return fail("initdb", r);
    write_marker(data_.system_id);
    begin_op("bootstrap: first start");
    pg_->start(pgctl::Role::primary, {}, end_op([this, fail](const pgctl::Result& r) {
      if (!r.ok) return fail("first start", r);
      pg_primary_ = true;
      begin_op("bootstrap: replication role");
      pg_->ensure_replication_role(end_op([this, fail](const pgctl::Result& r) {
        if (!r.ok) return fail("creating the replication role", r);
        std::vector<std::string> slots;
        for (const auto& m : other_members()) slots.push_back(pgctl::Postgres::slot_name(m));
        begin_op("bootstrap: replication slots");
        pg_->sync_slots(slots, end_op([this, fail](const pgctl::Result& r) {
          if (!r.ok) return fail("creating replication slots", r);
          Command c;
          c.type = CmdType::bootstrap_done;
          c.node = cfg_.node_name;
          c.system_id = data_.system_id;
          c.timeline = data_.timeline;
          PW_INFO("agent", "bootstrap complete system_id=%llu; committing", static_cast<unsigned long long>(data_.system_id));
          set_agent_state("bootstrap: committing");
          prepared_epoch_ = state().epoch + 1;  // role and slots are done for the epoch it opens
          propose(c, [this](bool) {
            // Committed is not enough: bootstrap_done is rejected at apply
            // when the claim was cleared meanwhile. The fence check then
            // stops PostgreSQL, and the marker moves the directory aside.
            if (state().primary != cfg_.node_name) bootstrapping_ = false;
          });
        }));
      }));
    }));
  }));
}

void Agent::reconcile_primary() {
  const ClusterState& s = state();
  const uint64_t E = s.epoch;
  int64_t now = mono_ms();
  if (s.switchover && s.switchover->first == cfg_.node_name) return reconcile_switchover();
  if (switching_) {  // the switchover was cleared (aborted): resume as primary
    switching_ = false;
    own_.final_lsn = 0;
  }
  if (data_.kind == Kind::empty) {
    if (release_proposed_ != E) {
      release_proposed_ = E;
      set_error("this node holds the lock but has no data; releasing it");
      Command c;
      c.type = CmdType::release;
      c.node = cfg_.node_name;
      c.epoch = E;
      c.reason = "release: " + cfg_.node_name + " has no data";
      propose(c);
    }
    return;
  }
  if (!hold_.holds(E, now)) {
    set_agent_state("acquiring the lease");
    return;
  }
  if (bootstrapping_) bootstrapping_ = false;  // the lease now covers the bootstrapped primary
  bool running = pg_status_.running || pg_primary_;
  if (!running) {
    if (prepared_epoch_ == E || pg_down_since_ != 0) {
      // Our PostgreSQL died while we were primary of this epoch.
      if (pg_down_since_ == 0) pg_down_since_ = now;
      if (now - pg_down_since_ >= cfg_.ha_primary_restart_timeout_ms) {
        if (release_proposed_ != E) {
          release_proposed_ = E;
          PW_WARN("agent", "PostgreSQL is down on the primary; releasing the lock epoch=%llu", static_cast<unsigned long long>(E));
          Command c;
          c.type = CmdType::release;
          c.node = cfg_.node_name;
          c.epoch = E;
          c.reason = "failover: PostgreSQL on " + cfg_.node_name + " died";
          propose(c);
        }
        set_agent_state("released the lock: PostgreSQL died");
        return;
      }
    }
    if (!all_acked(E, now)) {
      set_agent_state("waiting for members to acknowledge the new epoch");
      return;
    }
    begin_op(data_.was_standby ? "starting as standby before promotion" : "starting as primary");
    pgctl::Role role = data_.was_standby ? pgctl::Role::standby : pgctl::Role::primary;
    fencer_->arm(0, 0);
    pg_->start(role, {}, end_op([this, role](const pgctl::Result& r) {
      if (r.ok && role == pgctl::Role::primary) {
        pg_primary_ = true;
        pg_down_since_ = 0;
        fencer_->arm(pg_->postmaster_pid(), hold_.until_ms());
      } else if (r.ok) {
        pg_status_.running = true;
        pg_status_.in_recovery = true;
      }
    }));
    return;
  }
  if (!pg_primary_ && pg_status_.in_recovery) {
    if (!all_acked(E, now)) {
      set_agent_state("waiting for members to acknowledge the new epoch");
      return;
    }
    // Arm the fencer before PostgreSQL becomes writable.
    fencer_->arm(pg_->postmaster_pid(), hold_.until_ms());
    begin_op("promoting");
    pg_->promote(end_op([this](const pgctl::Result& r) {
      if (r.ok) {
        pg_primary_ = true;
        pg_down_since_ = 0;
        pg_status_.in_recovery = false;
        PW_INFO("agent", "promoted epoch=%llu", static_cast<unsigned long long>(state().epoch));
      }
    }));
    return;
  }
  fencer_->arm(pg_->postmaster_pid(), hold_.until_ms());
  pg_down_since_ = 0;
  if (prepared_epoch_ != E) {
    begin_op("preparing the primary (role, slots)");
    pg_->ensure_replication_role(end_op([this, E](const pgctl::Result& r) {
      if (!r.ok) return;
      std::vector<std::string> slots;
      for (const auto& m : other_members()) slots.push_back(pgctl::Postgres::slot_name(m));
      begin_op("preparing the primary (slots)");
      pg_->sync_slots(slots, end_op([this, E](const pgctl::Result& r) {
        if (r.ok) prepared_epoch_ = E;
      }));
    }));
    return;
  }
  if (s.ready_epoch != E) {
    if (ready_proposed_ != E) {
      ready_proposed_ = E;
      Command c;
      c.type = CmdType::ready;
      c.node = cfg_.node_name;
      c.epoch = E;
      propose(c, [this, E](bool ok) {
        if (!ok && ready_proposed_ == E) ready_proposed_ = 0;
      });
    }
    set_agent_state("primary: announcing ready");
    return;
  }
  if (cfg_.ha_synchronous_mode && reconcile_sync()) return;
  set_agent_state("primary");
}

// Synchronous mode (I4): the committed sync set must always contain every
// standby PostgreSQL may wait for, so that failover (which only picks from
// the committed set) never loses an acknowledged write. Hence: commit the
// union before widening synchronous_standby_names, and narrow the setting
// before committing the smaller set. Returns true while work is pending.
bool Agent::reconcile_sync() {
  const ClusterState& s = state();
  const uint64_t E = s.epoch;
  if (sync_inflight_) return true;
  if (sync_epoch_ != E) {
    // New epoch: PostgreSQL's setting is unknown (inherited from another
    // epoch); narrowing to asynchronous is always safe.
    begin_op("synchronous mode: resetting synchronous_standby_names");
    pg_->set_synchronous_standby_names("", end_op([this, E](const pgctl::Result& r) {
      if (r.ok) {
        sync_epoch_ = E;
        pg_sync_.clear();
      }
    }));
    return true;
  }
  std::vector<std::string> desired;
  for (const auto& sb : pg_status_.standbys)
    if (sb.state == "streaming" && member_id(sb.application_name) != 0 && sb.application_name != cfg_.node_name)
      desired.push_back(sb.application_name);
  std::sort(desired.begin(), desired.end());
  desired.erase(std::unique(desired.begin(), desired.end()), desired.end());
  std::vector<std::string> committed = s.sync;
  std::sort(committed.begin(), committed.end());
  std::vector<std::string> uni;
  std::set_union(committed.begin(), committed.end(), desired.begin(), desired.end(), std::back_inserter(uni));
  auto commit = [this, E](std::vector<std::string> members) {
    sync_inflight_ = true;
    Command c;
    c.type = CmdType::set_sync;
    c.epoch = E;
    c.node = cfg_.node_name;
    c.members = std::move(members);
    propose(c, [this](bool) { sync_inflight_ = false; });
  };
  if (uni != committed) {
    set_agent_state("synchronous mode: committing the wider set");
    commit(uni);
    return true;
  }
  if (pg_sync_ != desired) {
    std::string value;
    if (!desired.empty()) {
      value = "ANY 1 (";
      for (size_t i = 0; i < desired.size(); ++i) value += (i ? ",\"" : "\"") + desired[i] + "\"";
      value += ")";
    }
    begin_op("synchronous mode: synchronous_standby_names = '" + value + "'");
    pg_->set_synchronous_standby_names(value, end_op([this, desired](const pgctl::Result& r) {
      if (r.ok) pg_sync_ = desired;
    }));
    return true;
  }
  if (committed != desired) {
    set_agent_state("synchronous mode: committing the narrower set");
    commit(desired);
    return true;
  }
  return false;
}

void Agent::reconcile_switchover() {
  const ClusterState& s = state();
  const uint64_t E = s.epoch;
  int64_t now = mono_ms();
  auto abort = [this](const std::string& why) {
    set_error("switchover aborted: " + why);
    switching_ = false;
    own_.final_lsn = 0;
    Command c;
    c.type = CmdType::clear_switchover;
    c.node = cfg_.node_name;
    propose(c);
  };
  if (!switching_) {
    std::string target = s.switchover->second;
    if (target.empty()) {
      DeciderInput in = decider_input();
      Ranking r = rank_candidates(in, cfg_.node_name);
      if (r.ranked.empty()) return abort("no eligible standby");
      target = r.ranked.front();
    }
    if (switch_drain_until_ == 0) {
      // Every proxy withdraws the route when it applies the switchover;
      // give them (and statements already running) a moment before the
      // shutdown, so no client is cut mid-statement or routed to a server
      // that is shutting down.
      switch_drain_until_ = now + kSwitchoverDrainMs;
      publish_route();
      timeval tv{0, static_cast<suseconds_t>(kSwitchoverDrainMs * 1000)};
      event_base_once(base_, -1, EV_TIMEOUT, [](evutil_socket_t, short, void* a) { static_cast<Agent*>(a)->kick(); },
                      this, &tv);
      set_agent_state("switchover: draining connections");
      return;
    }
    if (now < switch_drain_until_) return;
    switch_drain_until_ = 0;
    switching_ = true;
    switch_started_ = now;
    switch_target_ = target;
    PW_INFO("agent", "switchover to %s: stopping PostgreSQL cleanly epoch=%llu", target.c_str(),
            static_cast<unsigned long long>(E));
    publish_route();
    begin_op("switchover: stopping PostgreSQL");
    pg_->stop(pgctl::StopMode::fast, end_op([this](const pgctl::Result& r) {
      if (!r.ok) return;
      pg_primary_ = false;
      pg_status_.running = false;
      fencer_->disarm();
      own_.final_lsn = data_.checkpoint_lsn;
      PW_INFO("agent", "switchover: shutdown checkpoint at %llX", static_cast<unsigned long long>(own_.final_lsn));
      gossip();
    }));
    return;
  }
  if (pg_primary_ || pg_status_.running) return;  // stop still settling
  auto all = seen();
  auto it = all.find(switch_target_);
  bool caught_up = it != all.end() && it->second.fresh && own_.final_lsn != 0 &&
                   it->second.status.replay_lsn > own_.final_lsn;
  if (!caught_up) {
    if (now - switch_started_ > 30000) {
      abort(switch_target_ + " did not replay the final WAL within 30 s");
      return;
    }
    set_agent_state("switchover: waiting for " + switch_target_ + " to replay the final WAL");
    return;
  }
  if (release_proposed_ == E) return;
  release_proposed_ = E;
  Command c;
  c.type = CmdType::release;
  c.node = cfg_.node_name;
  c.epoch = E;
  c.to = switch_target_;
  c.lsn = own_.final_lsn;
  c.reason = "switchover: " + cfg_.node_name + " -> " + switch_target_;
  set_agent_state("switchover: handing over to " + switch_target_);
  propose(c, [this, E](bool ok) {
    if (!ok && release_proposed_ == E) release_proposed_ = 0;
  });
}

void Agent::reconcile_standby() {
  const ClusterState& s = state();
  int64_t now = mono_ms();
  switching_ = false;
  const std::string& P = s.primary;
  const bool ready = !P.empty() && s.ready_epoch == s.epoch;
  const bool reinit = s.reinit.count(cfg_.node_name) > 0;

  if (reinit && !reinit_started_) {
    if (pg_status_.running) {
      begin_op("reinit: stopping PostgreSQL");
      pg_->stop(pgctl::StopMode::fast, end_op([this](const pgctl::Result& r) {
        if (r.ok) pg_status_.running = false;
      }));
      return;
    }
    if (data_.kind != Kind::empty) {
      std::string moved;
      pgctl::Result r = pg_->move_aside(&moved);
      if (!r.ok) return set_error("reinit: moving the data directory aside failed: " + r.error);
      PW_WARN("agent", "reinit: data directory moved aside to %s", moved.c_str());
      refresh_data_dir();
    }
    reinit_started_ = true;
  }

  if (data_.kind == Kind::empty) {
    if (!ready || !primary_alive(P)) {
      set_agent_state(P.empty() ? "empty, waiting for a primary" : "empty, waiting for " + P + " to be ready");
      return;
    }
    begin_op("cloning from " + P);
    pg_->basebackup(upstream_of(P), end_op([this](const pgctl::Result& r) {
      if (!r.ok) return;
      needs_rewind_ = false;
      if (reinit_started_) {
        reinit_started_ = false;
        Command c;
        c.type = CmdType::reinit_done;
        c.node = cfg_.node_name;
        propose(c);
      }
    }));
    return;
  }

  if (!pg_status_.running) {
    if (ready && needs_rewind_ && primary_alive(P)) {
      begin_op("rewinding from " + P);
      pg_->rewind(upstream_of(P), end_op([this](const pgctl::Result& r) {
        if (r.ok) {
          needs_rewind_ = false;
          return;
        }
        if (r.untouched) return;  // the source was not there: try again later, data intact
        // I6: a rewind that fails leaves the directory moved aside; we re-clone.
        if (pg_->inspect().kind != Kind::empty) {
          std::string moved;
          if (pg_->move_aside(&moved).ok) PW_WARN("agent", "rewind failed; data moved aside to %s, re-cloning", moved.c_str());
        }
        needs_rewind_ = false;
      }));
      return;
    }
    if (needs_rewind_ && !P.empty() && !s.primary.empty() && watch_.expired(s.epoch, now)) {
      // The primary we would rewind from is gone: start as a standby with
      // what we have, so this node can still be a failover candidate.
      needs_rewind_ = false;
    }
    if (needs_rewind_ && !P.empty()) {
      set_agent_state("former primary: waiting for " + P + " to be ready to rewind from it");
      return;
    }
    begin_op(ready ? "starting as standby of " + P : "starting as standby (no primary yet)");
    std::string target = ready ? P : std::string();
    pg_->start(pgctl::Role::standby, ready ? upstream_of(P) : pgctl::Upstream{}, end_op([this, target](const pgctl::Result& r) {
      if (r.ok) {
        following_ = target;
        pg_status_.running = true;
        pg_status_.in_recovery = true;
        not_streaming_since_ = 0;
      }
    }));
    return;
  }

  if (!ready) {
    set_agent_state(P.empty() ? "standby, no primary" : "standby, waiting for " + P);
    not_streaming_since_ = 0;
    return;
  }
  if (following_ != P) {
    begin_op("following " + P);
    std::string target = P;
    pg_->follow(upstream_of(P), end_op([this, target](const pgctl::Result& r) {
      if (r.ok) following_ = target;
    }));
    not_streaming_since_ = now;
    return;
  }
  if (pg_status_.wal_receiver_streaming) {
    not_streaming_since_ = 0;
    rejoin_attempts_ = 0;
    set_agent_state("streaming from " + P);
    return;
  }
  if (not_streaming_since_ == 0) not_streaming_since_ = now;
  if (now - not_streaming_since_ > 10000) {
    // Following does not work (diverged timeline?): stop and rewind (I6).
    PW_WARN("agent", "not streaming from %s for %lld ms; stopping to rewind", P.c_str(),
            static_cast<long long>(now - not_streaming_since_));
    not_streaming_since_ = 0;
    needs_rewind_ = true;
    begin_op("stopping to rewind");
    pg_->stop(pgctl::StopMode::fast, end_op([this](const pgctl::Result& r) {
      if (r.ok) pg_status_.running = false;
    }));
    return;
  }
  set_agent_state("standby, connecting to " + P);
}

bool Agent::primary_alive(const std::string& name) const {
  // Its agent gossips, and reports PostgreSQL running read-write: worth
  // cloning or rewinding from (a dead one would hold the operation for long).
  auto all = seen();
  auto it = all.find(name);
  return it != all.end() && it->second.fresh && it->second.status.pg_running && !it->second.status.in_recovery;
}

void Agent::shutdown(std::function<void()> done) {
  stopping_ = true;
  stopped_cb_ = std::move(done);
  const ClusterState& s = state();
  bool primary = s.primary == cfg_.node_name;
  auto finish = [this, primary](const pgctl::Result&) {
    pg_primary_ = false;
    fencer_->disarm();
    const ClusterState& st = state();
    if (primary && st.primary == cfg_.node_name) {
      Command c;
      c.type = CmdType::release;
      c.node = cfg_.node_name;
      c.epoch = st.epoch;
      c.reason = "failover: " + cfg_.node_name + " shut down";
      c.wall_ms = wall_ms();
      raft_->propose(c.encode(), [this](const consensus::ProposalResult&) {
        if (stopped_cb_) std::exchange(stopped_cb_, nullptr)();
      });
      return;
    }
    if (stopped_cb_) std::exchange(stopped_cb_, nullptr)();
  };
  if (pg_->postmaster_pid() > 0) {
    PW_INFO("agent", "stopping PostgreSQL for shutdown");
    pg_->stop(pgctl::StopMode::fast, finish);
  } else {
    finish(pgctl::Result::success());
  }
}

}  // namespace pw::node
