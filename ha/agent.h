// ha/agent.h — the HA agent: follows the committed cluster state and
// drives the local PostgreSQL through pgctl (DESIGN §4–§6).
//
// This is the thin loop. Every turn (tick) it probes PostgreSQL, gossips
// its status, supervises the fencer, runs the decider when this node is the
// raft leader, renews the lease when it holds the lock, publishes the route
// to the proxy and reconciles PostgreSQL with what the state says this node
// should be — through one controller per role, starting at most one pgctl
// operation at a time (Activity):
//
//   decider_runner.h        what the raft leader proposes (after its barrier)
//   lease_renewer.h         the holder's renewals (I1)
//   leader_placement.h      keeps the raft leader on the lock holder
//   bootstrap_controller.h  the claimed bootstrap and its abandoned remains (I5)
//   primary_controller.h    fencing (I2), start/promote/prepare/ready
//   sync_controller.h       synchronous mode on the primary (I4)
//   switchover_controller.h the old primary's planned hand-over
//   standby_controller.h    clone, rewind, follow, reinit (I6)
//   route_builder.h         the route the proxy gets (I3)
//   handoff_controller.h    the leaving image of an in-place restart
//   restart_controller.h    restarts of PostgreSQL (`ctl restart`), reloads, scheduled switchovers
//   agent_diagnostics.h     what the operator is told
//
// Everything outside reaches it through agent_world.h, consensus::RaftNode,
// pgctl::Postgres and FencerPort, so tests/sim/sim_ha.cc runs this very class.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "ha/agent_context.h"
#include "ha/bootstrap_controller.h"
#include "ha/decider_runner.h"
#include "ha/diagnostic.h"
#include "ha/leader_placement.h"
#include "ha/handoff.h"
#include "ha/handoff_controller.h"
#include "ha/lease_renewer.h"
#include "ha/membership_controller.h"
#include "ha/op_result.h"
#include "ha/primary_controller.h"
#include "ha/restart_controller.h"
#include "ha/standby_controller.h"
#include "ha/switchover_controller.h"
#include "ha/sync_controller.h"

namespace pw::node {


class Agent {
 public:
  Agent(const conf::Config& cfg, AgentWorld& world, ClusterStateMachine& sm, pgctl::Postgres& pg,
        FencerPort& fencer);
  /// Must be called before the raft node replays its log (apply observer).
  void attach_observer();
  /// The pgwarden version this node announces in its status (ha/ does not
  /// know the build's; the daemon sets PGWARDEN_VERSION).
  void set_version(const std::string& v) { ctx_.members.own().version = v; }
  void set_raft(consensus::RaftNode* raft);
  /// First turn; the caller then calls tick() every ha.loop_interval.
  void start();
  /// One loop turn.
  void tick();
  /// A wake-up asked through AgentWorld::wake: decider, route, reconcile.
  void kick_now();
  /// Graceful stop: a primary stops PostgreSQL and releases the lock;
  /// `done` runs when it is safe to exit.
  void shutdown(std::function<void()> done);

  // In-place restart of pgwarden (ha/handoff.h, handoff_controller.h).
  using HandoffDone = std::function<void(const std::string& error, const AgentHandoff& carry)>;
  /// The leaving image: settles, hands raft leadership over, renews the
  /// lease, then `done("", what to carry over)`; from then on the caller
  /// must replace the process image promptly (the lease runs). On an error
  /// nothing changed: the agent goes on as before.
  void prepare_handoff(HandoffDone done);
  /// The new image, after the raft node replayed its log and before
  /// start(): takes the previous image's state. Until the log is applied as
  /// far as the old image had it (bounded by the inherited lease's fence
  /// margin) the agent acts on nothing the replay may not show yet.
  void resume(const AgentHandoff& h);

  // Operator requests (the API exposes them). Validated here, then proposed.
  /// `at_ms` (wall clock, 0 = now): a scheduled switchover, kept in the
  /// state until the primary carries it out when due (or `flush` cancels it).
  void switchover(const std::string& to, bool force, OpDone done) { switchover(to, force, 0, std::move(done)); }
  void switchover(const std::string& to, bool force, int64_t at_ms, OpDone done);
  /// Day two (docs/operations.md): restarts of PostgreSQL on `members`
  /// (every member when empty) filtered by `role` ("primary", "replica",
  /// "any"/""), replicas first and the primary last, one at a time;
  /// `pending_only`: members that report no pending restart are skipped
  /// when their turn comes; `at_ms`: not before (wall clock, 0 = now).
  void restart(const std::vector<std::string>& members, const std::string& role, bool pending_only, int64_t at_ms,
               OpDone done);
  /// pg_reload_conf on `members` (every member when empty).
  void reload(const std::vector<std::string>& members, OpDone done);
  /// Cancels a scheduled `what` ("restart": of `member`, or all when "";
  /// "switchover").
  void flush(const std::string& member, const std::string& what, OpDone done);
  /// `accept_data_loss`: the operator's override when the failover rules
  /// cannot be met (synchronous mode: the members that may hold the latest
  /// acknowledged commits are gone for good); `confirm` must be the cluster
  /// name. Promotes `to` after the lease wait; the history records it.
  void failover(const std::string& to, OpDone done) { failover(to, false, "", std::move(done)); }
  void failover(const std::string& to, bool accept_data_loss, const std::string& confirm, OpDone done);
  void set_paused(bool paused, OpDone done);
  void reinit(const std::string& member, OpDone done);
  void reset_cluster(const std::string& confirm, OpDone done);
  /// Membership changes (MembershipController).
  void member_add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
                  OpDone done) {
    membership_.add(name, host, port, stay_learner, std::move(done));
  }
  void member_remove(const std::string& name, OpDone done) { membership_.remove(name, std::move(done)); }
  /// Asks the raft leader to hand leadership (the decider) to voter `to`.
  void transfer_leadership(const std::string& to, OpDone done);

  // Views for the API and the simulation's checkers.
  const ClusterState& state() const { return ctx_.state(); }
  const MemberStatus& own_status() const { return ctx_.members.own(); }
  /// Statuses of every member (self included) and whether each is fresh.
  std::map<std::string, SeenStatus> seen() const { return ctx_.members.seen(ctx_.now()); }
  Diagnostics diagnostics() const { return diags_; }
  std::string agent_state() const { return ctx_.activity.text(); }
  AgentState activity() const { return ctx_.activity.state(); }
  /// One line of internals for failure reports (simulation, debugging).
  std::string debug_line() const;
  bool holds_lease() const;
  int64_t lease_remaining_ms() const;
  /// The lease deadline (monotonic) when we hold one, else 0 (checkers).
  int64_t lease_until_ms() const;
  /// The epoch of the lease we hold (0 = none).
  uint64_t lease_epoch() const { return lease_until_ms() ? ctx_.lease.hold.epoch() : 0; }
  bool pg_ready_as_primary() const;
  const pgctl::Status& pg_status() const { return ctx_.local.status(); }
  consensus::RaftNode* raft() const { return ctx_.raft; }
  const conf::Config& config() const { return ctx_.cfg; }
  /// The members this node acts on (AgentContext::roster).
  const std::vector<AgentContext::RosterEntry>& roster() const { return ctx_.roster(); }
  std::string member_name(uint64_t raft_id) const { return ctx_.member_name(raft_id); }
  const FencerHealth& fencer_health() const { return fencer_health_; }

 private:
  static void on_apply(void* ctx, uint64_t index, const Command& c, const ApplyEffect& e);
  static void on_restore(void* ctx);
  void applied(const Command& c, const ApplyEffect& e);
  void on_status_message(uint64_t from, const std::string& data);
  void gossip();
  void publish_route();
  void tell_leader_news();
  void watch_switchover_replay();
  void reconcile();
  bool foreign_or_unusable();
  /// What keeps this node from settling for an in-place restart ("" = settled).
  std::string handoff_blocker() const;
  /// The state to carry over (at the end of prepare_handoff).
  AgentHandoff carry_over() const;
  /// The new image's wait for the log; false once resumed.
  bool still_resuming();

  AgentContext ctx_;
  DeciderRunner decider_;
  LeaseRenewer renewer_;
  BootstrapController bootstrap_;
  PrimaryController primary_;
  SyncController sync_;
  SwitchoverController switchover_;
  StandbyController standby_;
  MembershipController membership_;
  LeaderPlacement placement_;
  HandoffController handoff_;
  RestartController restart_;
  Diagnostics diags_;
  std::string diag_key_;  // to log diagnostics once per change
  uint64_t route_epoch_ = 0;
  uint64_t route_index_ = 0;  // raft index applied at the last publish_route (status v6)
  uint64_t replay_told_ = 0;
  bool serving_told_ = false;  // what our last gossip said (MemberStatus::serving)  // switchover final LSN our gossip said we replayed past
  int64_t started_at_ = 0;
  // As raft leader: the term whose status we last sent, and whether it
  // carried a route grant (a new leader tells the others at once).
  uint64_t told_term_ = 0;
  bool told_grant_ = false;
  int64_t unwritable_since_ = 0;  // our route has had no writable primary since (0 = it has one)
  std::string unwritable_reason_;  // and why (the route's unavailable_reason)
  FencerHealth fencer_health_;
  std::function<void()> stopped_cb_;
  // The new image of an in-place restart, until resumed.
  bool resuming_ = false;
  AgentHandoff resumed_from_;
  int64_t resume_wait_until_ = 0;
};

}  // namespace pw::node
