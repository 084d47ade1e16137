// tests/sim/sim_ha_world.h — the world the production node::Agent runs in
// inside the deterministic HA simulation (sim_ha.cc): virtual time on each
// node's drifting clock, a RaftNode over the simulated Raft cluster
// (sim_cluster.h), a simulated PostgreSQL and a simulated fencer.
//
// Simulated PostgreSQL: a data directory is a system id, a timeline, a
// was-standby flag and its WAL as the list of committed write ids (so
// "holds every acknowledged commit" and "can stream from that server" are
// exact: set inclusion and prefix). A running server is a primary
// (writable) or a standby of an upstream from which it copies WAL while
// both run and the network between them is up and its WAL is a prefix of
// the upstream's, each at its own pace (0 to 8 records per step, or a
// crawl for a while, so standbys lag by different amounts). In synchronous mode a write on a
// primary is acknowledged only once k of the standbys named in
// synchronous_standby_names = 'ANY k (...)' stream it; a name no standby
// has (strict mode) blocks it.
// Every operation takes simulated time; a crash of the node kills the
// server (PDEATHSIG) and forgets its pending operations; the disk stays.
// A start and a promotion are the server's own work, not the agent's: they
// complete at their time even while the agent is frozen (SIGSTOP), and a
// start after an unclean stop (killed, crashed, immediate shutdown) runs
// crash recovery for up to three leases.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conf/config.h"
#include "consensus/raft_node.h"
#include "ha/agent.h"
#include "ha/agent_world.h"
#include "ha/fencer_port.h"
#include "pgctl/postgres.h"
#include "sim_cluster.h"

namespace pw::sim {

class HaWorld;

/// What survives a crash of a node: its data directory and the marker.
struct SimDisk {
  bool has_data = false;
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  bool was_standby = false;
  std::vector<uint64_t> wal;  // write ids, in commit order
  std::optional<uint64_t> marker;
  int moved_aside = 0;
  bool unclean = false;  // the server last stopped without a checkpoint: the next start recovers
};

/// The simulated PostgreSQL of one node.
class SimPostgres : public pgctl::Postgres {
 public:
  SimPostgres(HaWorld& w, uint64_t node) : w_(w), node_(node) {}
  SimDisk& disk();
  bool running() const { return running_; }
  bool primary() const { return running_ && !standby_; }  // writable
  bool standby() const { return running_ && standby_; }
  /// The postmaster is forked but not accepting connections yet (startup or
  /// crash recovery), or a promotion is under way.
  bool starting() const { return starting_; }
  bool starting_as_primary() const { return starting_ && start_role_ == pgctl::Role::primary; }
  bool promoting() const { return promote_at_ >= 0; }
  /// The server's own processes, which run on while the agent is frozen:
  /// a start (after crash recovery) or a promotion completes at its time,
  /// and the agent hears of it when it runs again. Called on every event.
  void background(int64_t now_ms);
  const std::string& upstream() const { return upstream_; }
  bool streaming() const { return streaming_; }
  const std::vector<std::string>& sync_names() const { return sync_names_; }
  size_t sync_k() const { return sync_k_; }
  /// Killed (fencer, fault, node crash): gone at once, exit handler later.
  void kill(const char* why);
  /// An in-place restart of pgwarden: the server keeps running while the
  /// daemon's image (this object's owner) is replaced.
  struct Carried {
    bool running = false, standby = false, streaming = false;
    std::string upstream;
    std::vector<std::string> sync_names;
    size_t sync_k = 0;
    pid_t pid = 0;
  };
  Carried carry() const { return {running_, standby_, streaming_, upstream_, sync_names_, sync_k_, pid_}; }
  void take(const Carried& c) {
    running_ = c.running;
    standby_ = c.standby;
    streaming_ = c.streaming;
    upstream_ = c.upstream;
    sync_names_ = c.sync_names;
    sync_k_ = c.sync_k;
    pid_ = c.pid;
  }
  /// One replication step of up to `max_records` (called by the world on
  /// every tick); `all`: no lag.
  void replicate(bool all = false, size_t max_records = 8);
  void replicate_all();
  uint64_t lsn() const;

  // pgctl::Postgres
  pgctl::DataDirInfo inspect() override;
  void initdb(pgctl::Done cb) override;
  void start(pgctl::Role role, const pgctl::Upstream& upstream, pgctl::Done cb) override;
  void stop(pgctl::StopMode mode, pgctl::Done cb) override;
  void promote(uint32_t min_timeline, pgctl::Done cb) override;
  void follow(const pgctl::Upstream& upstream, pgctl::Done cb) override;
  void basebackup(const pgctl::Upstream& upstream, pgctl::Done cb) override;
  void rewind(const pgctl::Upstream& upstream, pgctl::Done cb) override;
  pgctl::Result move_aside(std::string* new_path) override;
  void demote(const pgctl::Upstream& upstream, pgctl::Done cb) override;
  void ensure_replication_role(pgctl::Done cb) override;
  void ensure_superuser_password(pgctl::Done cb) override;
  void run_sql_file(const std::string&, pgctl::Done cb) override { ensure_superuser_password(std::move(cb)); }
  void sync_slots(const std::vector<std::string>& slot_names, pgctl::Done cb) override;
  void set_synchronous_standby_names(const std::string& value, pgctl::Done cb) override;
  void wait_for_clients(int64_t, int64_t, pgctl::Done cb) override { later(5, [cb] { cb(pgctl::Result::success()); }); }
  void probe(std::function<void(const pgctl::Status&)> cb) override;
  pid_t postmaster_pid() const override { return running_ || starting_ ? pid_ : 0; }
  bool adopted() const override { return false; }
  void set_expected_system_id(uint64_t) override {}
  pgctl::CloneProgress clone_progress() const override { return {}; }
  uint32_t bin_major_version() const override { return 15; }
  void set_exit_handler(std::function<void(int status)> h) override { exit_handler_ = std::move(h); }

 private:
  void become_writable();
  void later(int64_t ms, std::function<void()> fn);
  SimPostgres* source(const pgctl::Upstream& u, std::string* why);

  HaWorld& w_;
  uint64_t node_;
  bool running_ = false;
  bool standby_ = false;
  bool streaming_ = false;
  // A start in progress (the postmaster exists, pid_ is set).
  bool starting_ = false;
  int64_t ready_at_ = 0;  // node clock
  pgctl::Role start_role_ = pgctl::Role::standby;
  std::string start_upstream_;
  pgctl::Done start_cb_;
  // A promotion in progress (-1 = none).
  int64_t promote_at_ = -1;
  pgctl::Done promote_cb_;
  uint32_t promote_min_ = 0;  // the promotion's timeline floor
  std::string upstream_;
  std::vector<std::string> sync_names_;
  size_t sync_k_ = 0;
  pid_t pid_ = 0;
  std::function<void(int)> exit_handler_;
};

/// The fencer: a separate process that survives a paused agent.
class SimFencer : public node::FencerPort {
 public:
  void arm(pid_t pm, int64_t deadline) override {
    pid = pm;
    deadline_ms = deadline;
  }
  node::FencerHealth supervise() override { return {}; }
  pid_t pid = 0;
  int64_t deadline_ms = 0;
};

/// consensus::RaftNode over one node of the simulated cluster.
class SimRaft : public consensus::RaftNode {
 public:
  SimRaft(HaWorld& w, uint64_t node) : w_(w), node_(node) {}
  void start() override {}
  void stop() override {}
  void propose(const std::string& data, consensus::ProposalCallback cb) override;
  void transfer_leadership(uint64_t to_id) override;
  void set_election_priority(consensus::ElectionPriority p) override;
  void broadcast_app(const std::string& data) override;
  void send_app(uint64_t to_id, const std::string& data) override;
  void set_app_handler(consensus::AppMessageHandler h) override { app_ = std::move(h); }
  void set_leader_change_handler(std::function<void()> h) override { leader_change_ = std::move(h); }
  bool is_leader() const override;
  uint64_t leader_id() const override;
  uint64_t term() const override;
  uint64_t commit_index() const override;
  uint64_t applied_index() const override;
  uint64_t self_id() const override { return node_; }
  int64_t last_heard_ms(uint64_t id) const override;
  int64_t leader_contact_ms() const override;
  consensus::Membership membership() const override;
  consensus::Membership membership_in_force() const override;
  void propose_membership(const consensus::Membership& to, consensus::ProposalCallback cb) override;

  // From the harness.
  void fate(const consensus::ProposalFate& f);
  void deliver_fates();  // committed fates once applied here
  void app_message(uint64_t from, const std::string& data);
  void soft_state_changed() {
    if (leader_change_) leader_change_();
  }

 private:
  /// Runs `propose` (returning the cluster's proposal id) and tracks `cb` for its fate.
  void submit(const std::function<uint64_t()>& propose, consensus::ProposalCallback cb);
  HaWorld& w_;
  uint64_t node_;
  std::map<uint64_t, consensus::ProposalCallback> cbs_;
  std::map<uint64_t, consensus::ProposalFate> early_;  // fates that beat propose()'s return
  std::vector<std::pair<consensus::ProposalResult, consensus::ProposalCallback>> ready_;  // committed, to apply
  consensus::AppMessageHandler app_;
  std::function<void()> leader_change_;
  std::map<uint64_t, int64_t> heard_;
  mutable consensus::Membership last_membership_;  // while this node is down
};

/// node::AgentWorld of one node.
class SimAgentWorld : public node::AgentWorld {
 public:
  SimAgentWorld(HaWorld& w, uint64_t node) : w_(w), node_(node) {}
  int64_t mono_ms() const override;
  int64_t wall_ms() const override;
  void wake(int64_t delay_ms) override;
  void publish_route(const proxy::Route& r) override;
  std::optional<uint64_t> read_marker() const override;
  void write_marker(uint64_t system_id) override;
  void remove_marker() override;

 private:
  HaWorld& w_;
  uint64_t node_;
};

/// One node: its process (agent, world, raft adapter, PostgreSQL, fencer)
/// and its disk. `process` is null while the node is crashed.
struct SimProcess {
  SimProcess(HaWorld& w, uint64_t node, const conf::Config& cfg, node::ClusterStateMachine& sm);
  SimAgentWorld world;
  SimRaft raft;
  SimPostgres pg;
  SimFencer fencer;
  node::Agent agent;
  int64_t next_tick = 0;
  bool started = false;
  std::vector<std::pair<int64_t, std::function<void()>>> timers;  // node-clock due time
  bool kick_pending = false;
  int64_t kick_at = -1;
  proxy::Route route;
  uint64_t max_epoch = 0;
  uint64_t checked_epoch = 0;  // lease epoch whose I4 check ran
};

struct SimNode {
  uint64_t id = 0;
  std::string name;
  conf::Config cfg;
  SimDisk disk;
  std::unique_ptr<SimProcess> proc;  // null while crashed
  node::ClusterStateMachine* sm = nullptr;
  uint64_t incarnation = 0;
  bool slow = false;  // its standby replicates at a crawl for now (background_step)
  bool lost = false;  // lost for good: crashed, never restarted, its disk wiped (HaWorld::lose)
};

/// Knobs for the checkers' self-tests: each breaks one protection so the
/// matching checker must fire.
struct Breakage {
  bool lease = false;   // members disagree on the lease length (I1)
  bool fencer = false;  // the fencer never kills (I2, with a paused agent)
  bool route = false;   // routes stay valid a lease longer (I3)
  bool sync = false;    // PostgreSQL acknowledges without its synchronous standby (I4)
  // A decider that never fails over: every set_primary proposed for a
  // failover (reason "failover: ...", automatic or requested) is dropped
  // before it reaches raft (the liveness rules of sim_ha_rules.h must fire).
  bool failover = false;
  // Deciders that drop the synchronous rule once hosts are lost for good:
  // the survivors' configuration turns asynchronous at the loss (the
  // loss scenario's "no automatic failover" assertion, and I4, must fire).
  bool sync_rule = false;
  // Once an operator override committed, PostgreSQL acknowledges without
  // its synchronous standby (a loss after the override: I4 must still fire,
  // only writes acknowledged before it are forgiven).
  bool after_override = false;
};

class HaWorld {
 public:
  /// dr_member: the last member is tagged nofailover (a DR replica);
  /// sync_count, strict: [ha] synchronous_node_count, synchronous_mode_strict.
  HaWorld(int nodes, bool sync_mode, Breakage b, bool dr_member = false, int sync_count = 1, bool strict = false);
  /// Once the cluster exists: creates the processes of the nodes whose
  /// state machines the cluster made while it was being constructed.
  void attach(SimCluster* c);
  SimCluster& cluster() { return *c_; }
  SimNode& node(uint64_t id) { return nodes_.at(id); }
  std::map<uint64_t, SimNode>& nodes() { return nodes_; }
  SimNode* by_host(const std::string& host);
  int64_t clock_ms(uint64_t id) const { return c_->node_clock_us(id) / 1000; }
  bool sync_mode() const { return sync_mode_; }
  void set_verbose(bool v) { verbose_ = v; }
  const Breakage& breakage() const { return break_; }

  /// Creates the process (agent) of `id` with a fresh state machine.
  std::unique_ptr<consensus::StateMachine> make_state_machine(uint64_t id);
  void make_process(uint64_t id);
  void crashed(uint64_t id);
  /// `id` (already crashed) is lost for good: never restarted, its data
  /// directory and marker gone with the host.
  void lose(uint64_t id);
  void restarted(uint64_t id);
  /// Runs due timers, wake-ups, loop ticks and replication of node `id`.
  void on_tick(uint64_t id);
  void after_event(uint64_t id);
  void later(uint64_t id, int64_t ms, std::function<void()> fn);

  // Client workload.
  uint64_t next_write_id() { return ++write_seq_; }
  void client_write(uint64_t via);
  void acknowledge(uint64_t on_node, uint64_t id);
  void settle_sync_writes();
  const std::set<uint64_t>& acked() const { return acked_; }
  uint64_t writes_acked() const { return acked_.size(); }
  /// Every acknowledgement so far (writes_acked() shrinks when losses are
  /// counted or forgiven).
  uint64_t acks_total() const { return acks_total_; }
  uint64_t next_system_id() { return 7000000000000000000ull + ++sysid_seq_; }
  pid_t next_pid() { return ++pid_seq_; }
  /// I4: a server writable under a lease holds every acknowledged write
  /// (checked when it is first seen so, per lease epoch).
  void check_holds_acked(uint64_t id);
  /// An operator reset-cluster was committed: acknowledged writes before it
  /// are no longer promised (the operator started over).
  void forget_acked() { acked_.clear(); pending_.clear(); }
  /// An operator's `failover --accept-data-loss` to `id` was committed (its
  /// set_primary applied): the acknowledged writes `id` lacks at that
  /// moment are no longer promised. Only those: a write acknowledged after
  /// the commit (a pending one included) is promised like any other. Why
  /// the commit is the line: the operator accepted losing what the lost
  /// members hold, i.e. what was acknowledged before the override took
  /// effect; the decider commits it only after the old holder's lease
  /// expired, so no primary of the abandoned history may acknowledge
  /// anything later (that would be I2), and every primary after it is held
  /// to the full I4 again. Returns how many writes were forgiven.
  uint64_t accept_loss(uint64_t id);
  uint64_t forgiven() const { return forgiven_; }
  bool overridden() const { return overridden_; }
  /// Fencers and replication of every node (separate processes: they run
  /// while an agent is paused).
  void background_step();
  /// The fencers and the PostgreSQL servers' own progress (starts,
  /// promotions), on every event: a fencer kills at its deadline, a start
  /// ends at its time, whether the agent runs or not.
  void fencers();
  uint64_t lost_async() const { return lost_async_; }
  /// A promotion of `id` opened `timeline` (its WAL so far is the fork
  /// point): a timeline id of one system opened twice is two histories
  /// under one id, which streaming and pg_rewind take for one (issue 21).
  void timeline_opened(uint64_t id, uint32_t timeline);
  /// The highest timeline any promotion opened for `system_id` (0 = none).
  uint32_t newest_timeline(uint64_t system_id) const;

 private:
  SimCluster* c_ = nullptr;
  bool sync_mode_;
  Breakage break_;
  std::map<uint64_t, SimNode> nodes_;
  uint64_t write_seq_ = 0, sysid_seq_ = 0;
  pid_t pid_seq_ = 1000;
  std::set<uint64_t> acked_;
  std::vector<std::pair<uint64_t, uint64_t>> pending_;  // {node, write id} awaiting a sync standby
  uint64_t lost_async_ = 0;
  uint64_t forgiven_ = 0;
  bool overridden_ = false;  // an override committed
  std::set<uint64_t> acked_after_override_;  // for I4's message
  uint64_t acks_total_ = 0;  // acknowledged writes given up by operator overrides
  std::map<std::pair<uint64_t, uint32_t>, std::string> timelines_;  // {system id, timeline} -> who opened it
  bool verbose_ = false;
};

}  // namespace pw::sim
