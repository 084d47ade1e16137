// node/agent.h — the HA agent: follows the committed cluster state and
// drives the local PostgreSQL through pgctl (DESIGN §4–§6).
//
// Runs entirely on the control thread. Every loop turn it probes
// PostgreSQL, gossips its status, runs the decider when this node is the
// raft leader, renews the lease when it holds the lock, publishes the
// route to the proxy, and reconciles PostgreSQL with what the state says
// this node should be — starting at most one pgctl operation at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.h"
#include "consensus/raft_node.h"
#include "node/cluster_state.h"
#include "node/decider.h"
#include "node/diagnostic.h"
#include "node/fencer.h"
#include "node/lease.h"
#include "node/member_status.h"
#include "pgctl/postgres.h"
#include "proxy/route.h"

struct event_base;
struct event;

namespace pw::node {

/// Result of an operator request (switchover, pause, ...): ok or an error
/// an HTTP handler can return as-is.
struct OpResult {
  int http_status = 200;
  std::string message;
};
using OpDone = std::function<void(const OpResult&)>;

class Agent {
 public:
  Agent(event_base* base, const conf::Config& cfg, ClusterStateMachine* sm,
        pgctl::Postgres* pg, Fencer* fencer,
        std::function<void(const proxy::Route&)> publish_route);
  ~Agent();
  /// Must be called before the raft node replays its log (apply observer).
  void attach_observer();
  void set_raft(consensus::RaftNode* raft);
  void start();
  /// Graceful stop: a primary stops PostgreSQL and releases the lock;
  /// `done` runs when it is safe to exit.
  void shutdown(std::function<void()> done);

  // Operator requests (the API exposes them). Validated here, then proposed.
  void switchover(const std::string& to, bool force, OpDone done);
  void failover(const std::string& to, OpDone done);
  void set_paused(bool paused, OpDone done);
  void reinit(const std::string& member, OpDone done);
  void reset_cluster(const std::string& confirm, OpDone done);

  // Views for the API.
  const ClusterState& state() const { return sm_->state(); }
  const MemberStatus& own_status() const { return own_; }
  /// Statuses of every member (self included) and whether each is fresh.
  std::map<std::string, SeenStatus> seen() const;
  Diagnostics diagnostics() const { return diags_; }
  std::string agent_state() const { return agent_state_; }
  bool holds_lease() const;
  int64_t lease_remaining_ms() const;
  bool pg_ready_as_primary() const;
  const pgctl::Status& pg_status() const { return pg_status_; }
  consensus::RaftNode* raft() const { return raft_; }
  const conf::Config& config() const { return cfg_; }

 private:
  static void on_tick(int, short, void* arg);
  static void on_kick(int, short, void* arg);
  static void on_apply(void* ctx, uint64_t index, const Command& c, const ApplyEffect& e);
  static void on_restore(void* ctx);
  void tick();
  void kick();  // reconcile soon (after an apply, an op, a probe)
  void on_status_message(uint64_t from, const std::string& data);

  void probe();
  void gossip();
  void run_decider();
  DeciderInput decider_input() const;
  void renew_lease();
  void publish_route();
  void update_diagnostics(const Diagnostics& decider_diags);
  void reconcile();
  bool fence_if_needed();
  void reconcile_bootstrap();
  void reconcile_primary();
  void reconcile_standby();
  void reconcile_switchover();
  bool reconcile_sync();
  void refresh_data_dir();
  std::string marker_path() const;
  void write_marker(uint64_t system_id);
  bool abandoned_bootstrap_dir() const;

  // One pgctl operation at a time; `what` names it in logs and agent_state.
  void begin_op(const std::string& what);
  pgctl::Done end_op(std::function<void(const pgctl::Result&)> then = nullptr);
  void propose(Command c, std::function<void(bool)> then = nullptr);
  void set_agent_state(const std::string& s);
  void set_error(const std::string& e);

  std::string member_host(const std::string& name) const;
  pgctl::Upstream upstream_of(const std::string& name) const;
  std::vector<std::string> other_members() const;
  bool fresh_view(int64_t now) const;
  bool primary_alive(const std::string& name) const;
  bool all_acked(uint64_t epoch, int64_t now) const;
  uint64_t member_id(const std::string& name) const;
  std::string member_name(uint64_t id) const;

  event_base* base_;
  const conf::Config& cfg_;
  ClusterStateMachine* sm_;
  pgctl::Postgres* pg_;
  Fencer* fencer_;
  std::function<void(const proxy::Route&)> publish_route_;
  consensus::RaftNode* raft_ = nullptr;
  event* tick_ev_ = nullptr;
  event* kick_ev_ = nullptr;

  LeaseParams lease_params_;
  LeaseWatch watch_;
  LeaseHold hold_;
  uint64_t renew_seq_ = 0;
  int64_t last_renew_proposed_ = 0;
  bool renew_inflight_ = false;
  bool decider_inflight_ = false;
  int64_t claim_applied_at_ = 0;

  MemberStatus own_;
  std::map<std::string, std::pair<MemberStatus, int64_t>> peers_;  // name -> {status, received at}
  pgctl::DataDirInfo data_;
  pgctl::Status pg_status_;
  bool probe_inflight_ = false;
  bool busy_ = false;
  std::string busy_what_;
  std::string agent_state_ = "starting";
  std::string last_error_;
  Diagnostics diags_;
  std::string diag_key_;  // to log diagnostics once per change

  // Per-epoch progress of this node as primary.
  uint64_t prepared_epoch_ = 0;     // role + slots done for this epoch
  uint64_t ready_proposed_ = 0;
  uint64_t route_epoch_ = 0;
  int64_t pg_down_since_ = 0;       // primary's PostgreSQL found dead
  int64_t not_streaming_since_ = 0; // standby not streaming from a ready primary
  int rejoin_attempts_ = 0;
  bool bootstrapping_ = false;      // this process runs the claimed bootstrap
  bool switching_ = false;          // this primary is handing over
  int64_t switch_started_ = 0;
  int64_t switch_drain_until_ = 0;  // switchover: stop PostgreSQL only after this
  std::string switch_target_;
  bool stopping_ = false;
  std::function<void()> stopped_cb_;

  bool pg_primary_ = false;         // we started or promoted PostgreSQL read-write
  bool needs_rewind_ = false;
  std::string following_;          // primary our running standby was pointed at       // data was a primary's: rewind before following
  bool reinit_started_ = false;
  uint64_t bootstrap_failed_claim_ = 0;  // claim index whose bootstrap failed here
  uint64_t release_proposed_ = 0;   // epoch we asked to release
  uint64_t fenced_epoch_ = 0;
  int64_t started_at_ = 0;
  int failures_ = 0;                // consecutive failed operations
  int64_t retry_at_ = 0;            // no new operation before this (back-off)
  uint64_t barrier_term_ = 0;       // term whose barrier was proposed
  uint64_t barrier_index_ = 0;      // its committed index (0 = not yet)
  Diagnostics decider_diags_;
  uint64_t status_seq_ = 0;
  uint64_t sync_epoch_ = 0;        // epoch whose synchronous_standby_names we manage
  std::vector<std::string> pg_sync_;  // names PostgreSQL waits for (ANY 1)
  bool sync_inflight_ = false;
  uint32_t tl_high_ = 0;           // highest timeline seen for the current data directory
  uint64_t tl_system_id_ = 0;
};

}  // namespace pw::node
