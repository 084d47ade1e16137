// ha/agent_context.h — what the agent's controllers share: the injected
// world (clock, wake-ups, Raft, PostgreSQL, fencer), the committed state,
// the lease arithmetic, the local PostgreSQL view, the members' status and
// the one-operation-at-a-time Activity. Controllers hold a reference to one
// AgentContext and keep only their own progress markers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "consensus/raft_node.h"
#include "ha/activity.h"
#include "ha/agent_world.h"
#include "ha/cluster_state.h"
#include "ha/fencer_port.h"
#include "ha/lease.h"
#include "ha/local_pg.h"
#include "ha/member_view.h"

namespace pw::node {

/// The route grant with the latest expiry received for the current epoch,
/// from the current raft leader or an earlier one (route_builder.h).
struct RouteGrant {
  std::string from;     // the leader that sent this grant (logs only)
  uint64_t epoch = 0;
  int64_t until_ms = 0; // receipt + grant, on our clock
};

/// Lease bookkeeping fed by the apply observer (lease.h).
struct LeaseBook {
  explicit LeaseBook(const LeaseParams& p) : params(p), watch(p), hold(p) {}
  LeaseParams params;
  LeaseWatch watch;   // when the holder of each epoch must be considered gone
  LeaseHold hold;     // our own lease, when we hold the lock
  int64_t claim_applied_at = 0;  // when the current bootstrap claim was applied here
};

/// What became of a proposal. `unknown`: consensus could not tell within
/// its proposal timeout (this node cut off from the leader or a quorum; see
/// consensus/core_proposals.cc): it may still commit later. Callers may try
/// again, but must never act as if it had failed (give up something it
/// would make true, or decide against it) where that breaks safety.
enum class ProposalOutcome { committed, dropped, unknown };
ProposalOutcome outcome_of(const consensus::ProposalResult& r);

struct AgentContext {
  AgentContext(const conf::Config& cfg, AgentWorld& world, ClusterStateMachine& sm, pgctl::Postgres& pg,
               FencerPort& fencer);

  const conf::Config& cfg;
  AgentWorld& world;
  ClusterStateMachine& sm;
  FencerPort& fencer;
  consensus::RaftNode* raft = nullptr;
  LeaseBook lease;
  LocalPg local;
  MemberView members;
  Activity activity;
  uint64_t release_proposed = 0;  // epoch whose release is in flight (0 = none)
  // When this node applied the last release (0 = never). A release ends an
  // epoch with its lease unexpired, so the leader's route grants (sized by
  // that lease) were still being sent, also to members it no longer heard
  // from, until it applied the release: I3's silence counts from here.
  int64_t release_applied_ms = 0;
  uint64_t prepared_epoch = 0;    // epoch for which the primary's role and slots exist
  uint64_t slots_roster_epoch = UINT64_MAX;  // membership epoch the primary's slots were made for
  RouteGrant grant;
  bool stopping = false;
  int64_t quorum_seen_ms = 0;  // when this node last had leader contact (no_quorum's duration)

  const ClusterState& state() const { return sm.state(); }
  const std::string& self() const { return cfg.node_name; }
  int64_t now() const { return world.mono_ms(); }
  pgctl::Postgres& pg() { return local.pg(); }
  void kick() { world.wake(0); }

  /// Proposes `c` (stamped with the wall clock); `then(outcome)` runs
  /// once (committed: already applied here), then the loop gets another turn.
  void propose(Command c, std::function<void(ProposalOutcome)> then = nullptr);
  /// Gives up the lock of `epoch` (to `to`, "" = failover), retried by the
  /// next loop turn if the proposal is dropped (no leader known, ...).
  void release(uint64_t epoch, const std::string& to, uint64_t lsn, const std::string& reason);

  /// Our PostgreSQL runs read-write under our control and is not being
  /// stopped (fencing, shutdown): new clients may be sent to it.
  bool serving() const {
    AgentState a = activity.state();
    return local.made_primary() && local.running() && !stopping && a != AgentState::fencing &&
           a != AgentState::stopping && a != AgentState::restarting_pg;
  }
  /// I3 freshness: this node heard the current raft leader (or, as the
  /// leader, a quorum) within lease/2. Returns the time of that contact
  /// (0 = not fresh).
  int64_t fresh_since() const;

  /// The members as this node acts on them: the committed membership once
  /// the log carries one (membership changes, recover), else [cluster]
  /// members with ids by position. Refreshed by refresh_roster().
  struct RosterEntry {
    uint64_t id = 0;
    std::string name, host;
    uint16_t raft_port = 0;
    bool voter = true, stay_learner = false;
  };
  const std::vector<RosterEntry>& roster() const { return roster_; }
  uint64_t roster_epoch() const { return roster_epoch_; }
  /// Re-reads the committed membership; returns true if it changed (the
  /// member view follows it).
  bool refresh_roster();
  bool is_member(const std::string& name) const;

  std::string host_of(const std::string& member) const;
  pgctl::Upstream upstream_of(const std::string& member) const { return {host_of(member), cfg.pg_port}; }
  std::vector<std::string> member_names() const;
  std::vector<std::string> other_members() const;
  uint64_t member_id(const std::string& name) const;
  std::string member_name(uint64_t id) const;

 private:
  std::vector<RosterEntry> roster_;
  uint64_t roster_epoch_ = UINT64_MAX;  // membership epoch of roster_ (max = not built yet)
};

}  // namespace pw::node
