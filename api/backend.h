// api/backend.h — everything the HTTP API reads and asks of the
// node, as one abstract interface. Production implements it over the HA
// agent, the proxy and the raft node (node/api_agent_backend.h); the unit
// tests implement it with plain values, so every handler's status codes and
// bodies are tested without a cluster.
//
// All methods run on the control thread (the event_base the API serves on).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/membership.h"
#include "ha/op_result.h"
#include "ha/cluster_state.h"
#include "ha/diagnostic.h"
#include "ha/member_status.h"
#include "pgctl/postgres.h"
#include "proxy/proxy.h"

namespace pw::node {

/// This node's PostgreSQL and lease, for the health endpoints.
struct HealthFacts {
  pgctl::Status pg;                 // the agent's last probe
  bool ready_as_primary = false;    // Agent::pg_ready_as_primary(): lease held, promoted, epoch ready
  bool holds_lease = false;
  int64_t lease_remaining_ms = 0;
  std::string agent_state;          // what the agent is doing, in words
};

/// One configured member and the status it last gossiped.
struct MemberFacts {
  std::string name;
  std::string host;
  bool seen = false;    // a status was ever received (always true for self)
  bool fresh = false;   // received within the freshness window
  MemberStatus status;  // meaningful when seen
};

/// The cluster as this node sees it.
struct ClusterFacts {
  std::string cluster_name;
  std::string self;
  ClusterState state;               // committed, as applied here
  std::vector<MemberFacts> members; // configuration order
  std::string decider;              // raft leader's member name, "" = unknown
  uint64_t raft_term = 0;
  Diagnostics diagnostics;
  // This node's [ha] synchronous-mode settings (every member should agree).
  bool synchronous_mode = false;
  bool synchronous_mode_strict = false;
  int synchronous_node_count = 1;
};

struct RaftFacts {
  bool running = false;  // false before the raft node exists
  uint64_t self_id = 0, leader_id = 0, term = 0, commit_index = 0, applied_index = 0;
  bool is_leader = false;
};

/// The fencer of DESIGN I2 (ha/fencer_port.h), for /metrics.
struct FencerFacts {
  bool known = false;      // false: this backend has no fencer to report on
  bool alive = true;       // false while it is down and could not be restarted
  uint64_t restarts = 0;   // restarts since the process started
};

/// The committed membership (GET /membership, `ctl member list`).
struct MembershipFacts {
  consensus::Membership committed;
  bool pending = false;  // a change is in the log but not committed yet
  std::string drift;     // the configuration file disagrees: what and what to do
};

class ApiBackend {
 public:
  virtual ~ApiBackend() = default;

  virtual HealthFacts health() const = 0;
  virtual ClusterFacts cluster() const = 0;
  virtual RaftFacts raft() const = 0;
  /// nullopt when this process runs no proxy.
  virtual std::optional<proxy::Counters> proxy_counters() const = 0;
  /// The fencer's supervision state; the default reports none (known = false).
  virtual FencerFacts fencer() const { return {}; }

  // Operator requests: `done` is called exactly once, possibly before the
  // call returns (validation errors), or later on the control thread.
  virtual void switchover(const std::string& to, bool force, OpDone done) = 0;
  /// `accept_data_loss` (with `confirm` = the cluster name): the operator's
  /// override when the failover rules cannot be met (Agent::failover).
  virtual void failover(const std::string& to, bool accept_data_loss, const std::string& confirm,
                        OpDone done) = 0;
  virtual void set_paused(bool paused, OpDone done) = 0;
  virtual void reinit(const std::string& member, OpDone done) = 0;
  virtual void reset_cluster(const std::string& confirm, OpDone done) = 0;
  /// Membership (defaults: not available here).
  virtual std::optional<MembershipFacts> membership() const { return std::nullopt; }
  virtual void member_add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
                          OpDone done) {
    (void)name, (void)host, (void)port, (void)stay_learner;
    done({501, "membership changes are not available on this node"});
  }
  virtual void member_remove(const std::string& name, OpDone done) {
    (void)name;
    done({501, "membership changes are not available on this node"});
  }
  /// Day two (Agent::switchover with a time, restart, reload, flush);
  /// `at_ms` is wall-clock ms since the epoch, 0 = now. Defaults: not
  /// available here.
  virtual void scheduled_switchover(const std::string& to, bool force, int64_t at_ms, OpDone done) {
    (void)to, (void)force, (void)at_ms;
    done({501, "scheduled switchovers are not available on this node"});
  }
  virtual void restart(const std::vector<std::string>& members, const std::string& role, bool pending_only,
                       int64_t at_ms, OpDone done) {
    (void)members, (void)role, (void)pending_only, (void)at_ms;
    done({501, "restarts are not available on this node"});
  }
  virtual void reload(const std::vector<std::string>& members, OpDone done) {
    (void)members;
    done({501, "reloads are not available on this node"});
  }
  virtual void flush(const std::string& member, const std::string& what, OpDone done) {
    (void)member, (void)what;
    done({501, "flush is not available on this node"});
  }
  /// Asks the raft leader to hand leadership to member `to` (default: not
  /// available here).
  virtual void transfer_leadership(const std::string& to, OpDone done) {
    (void)to;
    done({501, "leadership transfer is not available on this node"});
  }
};

}  // namespace pw::node
