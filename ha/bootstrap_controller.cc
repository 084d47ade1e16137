// ha/bootstrap_controller.cc — see bootstrap_controller.h.
#include "ha/bootstrap_controller.h"

#include "base/log.h"

namespace pw::node {

using Kind = pgctl::DataDirInfo::Kind;

bool BootstrapController::claim_is_current(uint64_t claim_index) const {
  const ClusterState& s = ctx_.state();
  return s.init == InitKind::claimed && s.init_node == ctx_.self() && s.claim_index == claim_index;
}

void BootstrapController::settle() {
  const ClusterState& s = ctx_.state();
  const bool mine = s.init == InitKind::claimed && s.init_node == ctx_.self();
  if (running_ && !mine && s.primary != ctx_.self()) {
    PW_WARN("agent", "bootstrap abandoned: the claim is no longer ours epoch=%llu",
            static_cast<unsigned long long>(s.epoch));
    running_ = false;
  }
  // The lease now covers the bootstrapped primary.
  if (running_ && s.primary == ctx_.self() && ctx_.lease.hold.holds(s.epoch, ctx_.now())) running_ = false;
}

bool BootstrapController::abandoned_dir() const {
  auto marker = ctx_.world.read_marker();
  if (!marker) return false;
  const pgctl::DataDirInfo& d = ctx_.local.data();
  if (d.kind == Kind::empty) return false;
  return *marker == 0 || *marker == d.system_id || d.kind == Kind::unusable;
}

bool BootstrapController::dispose_abandoned() {
  const ClusterState& s = ctx_.state();
  const bool mine = s.init == InitKind::claimed && s.init_node == ctx_.self();
  if (mine || running_ || !abandoned_dir()) return false;
  if (s.init == InitKind::done && ctx_.local.data().system_id == s.system_id) return false;  // it became the cluster
  if (ctx_.local.status().running) {
    ctx_.activity.begin(AgentState::stopping_pg, "of an abandoned bootstrap");
    ctx_.pg().stop(pgctl::StopMode::immediate, ctx_.activity.done());
    return true;
  }
  std::string moved;
  pgctl::Result r = ctx_.pg().move_aside(&moved);
  if (r.ok) {
    PW_WARN("agent",
            "the data directory was left by a bootstrap attempt of this node that did not "
            "become the cluster; moved aside to %s",
            moved.c_str());
    ctx_.world.remove_marker();
  } else {
    ctx_.activity.error("moving an abandoned bootstrap directory aside failed: " + r.error);
  }
  ctx_.local.refresh();
  ctx_.kick();
  return true;
}

void BootstrapController::reconcile() {
  const ClusterState& s = ctx_.state();
  const uint64_t claim = s.claim_index;
  if (failed_claim_ == claim) {
    ctx_.activity.set(AgentState::bootstrap_failed);
    return;
  }
  if (running_) return;  // the chain is running
  // Read the claim back through the log before acting on it: a restarted
  // node replays an old claim before it hears the leader, and a heartbeat
  // alone does not prove the replayed claim is still current.
  if (confirm_claim_ != claim) {
    confirm_claim_ = claim;
    confirm_index_ = 0;
    if (!ctx_.raft) return;
    Command b;
    b.type = CmdType::barrier;
    b.node = ctx_.self();
    b.wall_ms = ctx_.world.wall_ms();
    ctx_.raft->propose(b.encode(), [this, claim](const consensus::ProposalResult& r) {
      if (confirm_claim_ != claim) return;
      if (r.committed) confirm_index_ = r.index;
      else confirm_claim_ = 0;  // ask again next turn
      ctx_.kick();
    });
  }
  if (confirm_index_ == 0 || ctx_.sm.last_index() < confirm_index_ || !claim_is_current(claim)) {
    ctx_.activity.set(AgentState::bootstrap_confirming_claim);
    return;
  }
  if (ctx_.local.status().running) {
    ctx_.activity.begin(AgentState::stopping_pg, "before bootstrap");
    ctx_.pg().stop(pgctl::StopMode::immediate, ctx_.activity.done());
    return;
  }
  if (!ctx_.local.empty()) {
    // A directory here is the remains of an earlier attempt of ours (we
    // reported empty when the claim was made): never resurrect it.
    std::string moved;
    pgctl::Result r = ctx_.pg().move_aside(&moved);
    if (!r.ok) return fail(claim, "moving the half-made data directory aside", r.error);
    PW_WARN("agent", "bootstrap: moved the previous data directory aside to %s", moved.c_str());
    ctx_.local.refresh();
  }
  run_chain(claim);
}

void BootstrapController::commit_done(const Command& c, uint64_t claim) {
  ctx_.propose(c, [this, c, claim](ProposalOutcome o) {
    // Unknown: it may still commit. Given up now, the next turn would move
    // this very directory aside and start over, and a late commit would make
    // the cluster's data a directory that is gone. So ask again while the
    // claim is ours (at most one bootstrap_done of a claim applies).
    if (o == ProposalOutcome::unknown && claim_is_current(claim)) return commit_done(c, claim);
    // Committed is not enough: bootstrap_done is rejected at apply when the
    // claim was cleared meanwhile. The fence check then stops PostgreSQL,
    // and the marker moves the directory aside.
    if (ctx_.state().primary != ctx_.self()) running_ = false;
  });
}

void BootstrapController::fail(uint64_t claim, const std::string& step, const std::string& error) {
  ctx_.activity.error("bootstrap: " + step + " failed: " + error);
  failed_claim_ = claim;
  running_ = false;
}

void BootstrapController::run_chain(uint64_t claim) {
  running_ = true;
  ctx_.world.write_marker(0);
  // Every step re-checks that the claim is still ours: the cluster may have
  // cleared it (bootstrap_timeout, claimant presumed dead) meanwhile. The
  // fence check then stops a PostgreSQL started read-write for nothing.
  auto lost = [this, claim] {
    if (claim_is_current(claim)) return false;
    PW_WARN("agent", "bootstrap: the claim at index %llu is no longer ours; stopping the attempt",
            static_cast<unsigned long long>(claim));
    running_ = false;
    return true;
  };
  ctx_.activity.begin(AgentState::bootstrapping, "initdb");
  ctx_.pg().initdb(ctx_.activity.done([this, claim, lost](const pgctl::Result& r) {
    if (!r.ok) return fail(claim, "initdb", r.error);
    ctx_.world.write_marker(ctx_.local.data().system_id);
    if (lost()) return;
    ctx_.activity.begin(AgentState::bootstrapping, "first start");
    ctx_.pg().start(pgctl::Role::primary, {}, ctx_.activity.done([this, claim, lost](const pgctl::Result& r) {
      if (!r.ok) return fail(claim, "first start", r.error);
      ctx_.local.mark_primary();
      if (lost()) return;
      ctx_.activity.begin(AgentState::bootstrapping, "replication role");
      ctx_.pg().ensure_replication_role(ctx_.activity.done([this, claim, lost](const pgctl::Result& r) {
        if (!r.ok) return fail(claim, "creating the replication role", r.error);
        if (lost()) return;
        ctx_.activity.begin(AgentState::bootstrapping, "superuser password");
        ctx_.pg().ensure_superuser_password(ctx_.activity.done([this, claim, lost](const pgctl::Result& r) {
        if (!r.ok) return fail(claim, "setting the superuser password", r.error);
        if (lost()) return;
        ctx_.activity.begin(AgentState::bootstrapping, "bootstrap SQL");
        ctx_.pg().run_sql_file(ctx_.cfg.pg_bootstrap_sql_file, ctx_.activity.done([this, claim, lost](const pgctl::Result& r) {
        if (!r.ok) return fail(claim, "running bootstrap_sql_file", r.error);
        if (lost()) return;
        std::vector<std::string> slots;
        for (const auto& m : ctx_.other_members()) slots.push_back(pgctl::Postgres::slot_name(m));
        ctx_.activity.begin(AgentState::bootstrapping, "replication slots");
        ctx_.pg().sync_slots(slots, ctx_.activity.done([this, claim, lost](const pgctl::Result& r) {
          if (!r.ok) return fail(claim, "creating replication slots", r.error);
          if (lost()) return;
          const pgctl::DataDirInfo& d = ctx_.local.data();
          Command c;
          c.type = CmdType::bootstrap_done;
          c.node = ctx_.self();
          c.system_id = d.system_id;
          c.timeline = d.timeline;
          PW_INFO("agent", "bootstrap complete system_id=%llu; committing",
                  static_cast<unsigned long long>(d.system_id));
          ctx_.activity.set(AgentState::bootstrapping, "committing");
          ctx_.prepared_epoch = ctx_.state().epoch + 1;  // role and slots are done for the epoch it opens
          ctx_.slots_roster_epoch = ctx_.roster_epoch();
          commit_done(c, claim);
        }));
        }));
        }));
      }));
    }));
  }));
}

}  // namespace pw::node
