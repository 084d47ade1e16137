// tests/sim/sim_cluster.h — a deterministic simulated cluster of Raft cores:
// virtual time, a faulty network (loss, duplication, delay/reordering,
// symmetric and one-way partitions), crashes that lose whatever was not
// persisted (including crashes in the middle of handling a Ready), restarts
// from the simulated disk, and per-node clock drift.
//
// Every event is followed by the safety checks (InvariantChecker): election
// safety, log matching, leader completeness, state machine safety and
// "no committed proposal lost"; a violation throws SimViolation.
//
// Reusable: plug any consensus::StateMachine per node (factory) and
// observers; node_clock_us() gives each node's drifting local clock so an
// application layer (leases) can run on simulated time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/core.h"
#include "consensus/state_machine.h"

namespace pw::sim {

using consensus::Core;
using consensus::Entry;
using consensus::HardState;
using consensus::Message;
using consensus::ProposalFate;
using consensus::Ready;
using consensus::Role;
using consensus::Snapshot;
using consensus::SoftState;

/// Thrown when a safety property is violated; what() describes it.
struct SimViolation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Small deterministic RNG shared by the harness (splitmix64).
class SimRng {
 public:
  explicit SimRng(uint64_t seed) : s_(seed) {}
  uint64_t next();
  /// Uniform in [0, n) (n > 0).
  uint64_t below(uint64_t n) { return next() % n; }
  /// Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }

 private:
  uint64_t s_;
};

/// Where a crash happens while a node handles a Ready: what reached "disk"
/// before it died. Anything after the point is lost, messages included.
enum class CrashPoint {
  before_persist,    ///< nothing of this Ready persisted
  after_snapshot,    ///< snapshot persisted, entries/hard state not
  mid_entries,       ///< a prefix of the entries persisted (torn append)
  after_entries,     ///< entries persisted, hard state not
  after_hard_state,  ///< all persisted, no message sent
  mid_messages,      ///< all persisted, some messages sent
};

struct NetFaults {
  double loss = 0;  ///< probability a message is lost
  double dup = 0;   ///< probability a message is delivered twice
  int64_t min_delay_us = 200;
  int64_t max_delay_us = 2000;  ///< delays are uniform in [min, max]: reordering for free
};

struct ClusterOptions {
  int nodes = 3;
  /// The seed configuration is nodes 1..seed_members (0 = all); the others
  /// start outside the cluster and can join through propose_config().
  int seed_members = 0;
  /// Names and addresses of the seed members (optional; default: ids as names).
  consensus::Membership seed_membership;
  uint64_t seed = 1;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  int proposal_timeout_ticks = 0;  ///< CoreOptions::proposal_timeout_ticks (0 = its default)
  int64_t tick_us = 10000;  ///< nominal tick period of every node
  double max_drift =
      0.0;  ///< each node's clock runs at 1 + d, d uniform in [-max_drift, max_drift]
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t compact_every = 0;  ///< compact when applied - snapshot index reaches this (0 = never)
  uint64_t max_msg_bytes = 1 << 20;
  size_t max_inflight = 64;
  /// If set, every node also persists into a real LogStore under
  /// `storage_dir`/n<id>, torn appends leave real torn bytes behind, and
  /// each restart checks that the LogStore reloads exactly the simulated disk
  /// (a model check of the storage). Much slower than the pure simulation.
  std::string storage_dir;
  /// Payloads are unique (the "committed twice" check). The HA simulation
  /// runs the production agent, whose barriers repeat byte for byte.
  bool unique_payloads = true;
};

/// Per-node observer hooks (all optional). Called after the harness's own checks.
struct SimObserver {
  virtual ~SimObserver() = default;
  virtual void on_soft_state(uint64_t /*node*/, const SoftState&) {}
  virtual void on_apply(uint64_t /*node*/, const Entry&) {}
  virtual void on_fate(uint64_t /*node*/, const ProposalFate&) {}
  virtual void on_crash(uint64_t /*node*/) {}
  virtual void on_restart(uint64_t /*node*/) {}
  /// After every processed event (message delivery or tick) of `node`.
  virtual void on_event(uint64_t /*node*/) {}
  /// After each Raft tick of `node` (application timers: leases, status).
  virtual void on_tick(uint64_t /*node*/) {}
  /// An application message sent with SimCluster::send_app arrived at `node`.
  virtual void on_app_message(uint64_t /*node*/, uint64_t /*from*/, const std::string& /*data*/) {}
};

/// Records every proposal fate (tests look one up by node and proposal id).
struct FateLog : SimObserver {
  std::vector<std::pair<uint64_t, consensus::ProposalFate>> fates;
  void on_fate(uint64_t node, const consensus::ProposalFate& f) override { fates.push_back({node, f}); }
  const consensus::ProposalFate* find(uint64_t node, uint64_t id) const {
    for (auto& [n, f] : fates)
      if (n == node && f.id == id) return &f;
    return nullptr;
  }
};

using StateMachineFactory = std::function<std::unique_ptr<consensus::StateMachine>(uint64_t node)>;

/// A state machine that keeps a digest of what it applied (index + running
/// hash); snapshots are that digest. The default for pure Raft simulations.
class DigestStateMachine : public consensus::StateMachine {
 public:
  void apply(uint64_t index, const std::string& data) override;
  std::string snapshot() const override;
  bool restore(const std::string& data) override;
  uint64_t index() const { return index_; }
  uint64_t digest() const { return digest_; }

 private:
  uint64_t index_ = 0;
  uint64_t digest_ = 0;
};

/// Counters of what a run exercised (printed by the seed runner).
struct SimStats {
  uint64_t delivered = 0, lost = 0, duplicated = 0, cut = 0;
  uint64_t crashes = 0, torn_crashes = 0, restarts = 0, pauses = 0;
  uint64_t elections = 0, proposals = 0, committed = 0, dropped = 0, unknown = 0;
  uint64_t snapshots_sent = 0, snapshots_installed = 0, compactions = 0, transfers = 0;
  uint64_t partitions = 0, asym_partitions = 0, leader_isolations = 0;
  uint64_t config_proposals = 0, config_committed = 0;
  void add(const SimStats& o);
};

class SimCluster {
 public:
  explicit SimCluster(const ClusterOptions& opts, StateMachineFactory factory = nullptr);
  ~SimCluster();

  const ClusterOptions& options() const { return opts_; }
  int64_t now_us() const { return now_; }
  /// The node's own monotonic clock (drifts by its rate).
  int64_t node_clock_us(uint64_t node) const;
  NetFaults& faults() { return faults_; }
  SimStats& stats() { return stats_; }
  SimRng& rng() { return rng_; }
  void add_observer(SimObserver* o) { observers_.push_back(o); }

  /// Advances virtual time by `us`, processing every event due.
  void run_for(int64_t us);
  /// Runs until `cond()` holds (checked after every event) or `max_us` passes; returns cond().
  bool run_until(const std::function<bool()>& cond, int64_t max_us);

  /// Proposes `data` on `node` (must be up). Tracked for the "no committed
  /// proposal lost" check when `data` is unique. Returns the proposal id.
  /// May be called from observer callbacks (e.g. on_apply): the Ready being
  /// handled is finished first, then the proposal's effects are processed.
  uint64_t propose(uint64_t node, const std::string& data);
  /// Proposes a membership change on `node` (tracked for its fate like any
  /// proposal: a committed fate must point at a config entry).
  uint64_t propose_config(uint64_t node, const consensus::Membership& to);
  void transfer_leadership(uint64_t node, uint64_t to);
  /// Sends an application message (gossip, member status) from `from` to `to`
  /// through the same faulty network as Raft messages (loss, duplication,
  /// delay, partitions); it arrives as SimObserver::on_app_message.
  void send_app(uint64_t from, uint64_t to, const std::string& data);

  /// Kills `node` now (everything persisted survives).
  void crash(uint64_t node);
  /// Arms a crash of `node` in the middle of its next Ready.
  void crash_during_next_ready(uint64_t node, CrashPoint p);
  /// Freezes `node` like SIGSTOP: no ticks, no message handling; Raft
  /// messages sent to it wait (in order) until resume(), app messages to it
  /// are lost. Its clock keeps running (node_clock_us).
  void pause(uint64_t node);
  /// Resumes a paused node: its backlog is handled first, then ticks resume.
  void resume(uint64_t node);
  bool paused(uint64_t node) const;
  /// Cancels every armed crash_during_next_ready.
  void disarm_crashes();
  /// Restarts a crashed node from its simulated disk.
  void restart(uint64_t node);
  /// Kills `node` if it is up and empties its disk, as if its state
  /// directory had been moved aside; restart() then starts it empty.
  void wipe(uint64_t node);

  /// Drops every message from `from` to `to` (one direction) until healed.
  void cut(uint64_t from, uint64_t to);
  void cut_both(uint64_t a, uint64_t b) { cut(a, b), cut(b, a); }
  /// Splits the nodes into `group` and the rest (symmetric).
  void partition(const std::set<uint64_t>& group);
  void isolate(uint64_t node);
  void heal_network();
  bool is_cut(uint64_t from, uint64_t to) const;

  bool up(uint64_t node) const;
  Core* core(uint64_t node);
  consensus::StateMachine* state_machine(uint64_t node);
  /// Up node that is leader in the highest term, 0 if none.
  uint64_t leader() const;
  /// Highest commit index known anywhere (length of the checked committed log).
  uint64_t committed_length() const { return committed_.size(); }
  /// Entry of the checked committed log (1-based).
  const Entry& committed_entry(uint64_t index) const { return committed_[index - 1].entry; }
  /// True when every member of the leader's committed configuration is up
  /// and has applied the whole committed log (removed nodes and nodes never
  /// added are not waited for).
  bool converged() const;
  /// Index at which `data` was committed (0 = not committed), for unique payloads.
  uint64_t committed_index_of(const std::string& data) const {
    auto it = data_index_.find(data);
    return it == data_index_.end() ? 0 : it->second;
  }
  /// Final check for tracked proposals once converged(): every proposal
  /// reported committed is in the log at its index; none reported dropped is.
  void check_proposal_fates() const;
  /// One line per node: up, role, term, lead, commit, applied, last index,
  /// and the leader's view of each follower (for failure reports).
  std::string describe() const;

  /// Simulated persisted disk of one node (what survives a crash).
  struct Disk {
    HardState hard;
    Snapshot snap;
    uint64_t snap_chain = 0;      // chain hash at snap.index
    std::vector<Entry> entries;   // contiguous, after snap.index
    std::vector<uint64_t> chain;  // chain hash per entry (prefix digest)
    uint64_t last_index() const { return snap.index + entries.size(); }
    uint64_t chain_at(uint64_t i) const;
    uint64_t term_at(uint64_t i) const;
  };
  const Disk& disk(uint64_t node) const;

 private:
  struct Node;
  struct InFlight {
    int64_t at;
    uint64_t seq;
    uint64_t to_incarnation;  // a restarted node never sees frames meant for its previous life
    Message msg;
    bool app = false;  // an application message: msg.from/msg.to + app_data
    std::string app_data;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  struct CommittedEntry {
    Entry entry;
    uint64_t chain;
    uint64_t commit_term;  // term of the first node seen committing it (the committing leader's)
  };

  Node& node(uint64_t id);
  const Node& node(uint64_t id) const;
  void start_core(Node& n);
  void process_ready(Node& n);
  void deliver(Message m);
  void send(const Message& m, const std::string* app_data = nullptr);
  void step_event();
  int64_t next_event_time() const;
  void maybe_compact(Node& n);
  void open_store(Node& n);
  void tear_store_tail(Node& n);
  void fail(const std::string& what) const;

  // checks
  void check_persisted(Node& n, uint64_t first_new);
  void check_commit(Node& n, uint64_t old_commit, uint64_t new_commit);
  void check_apply(Node& n, const Entry& e);
  void check_soft_state(Node& n, const SoftState& ss);
  void check_fate(Node& n, const ProposalFate& f);

  ClusterOptions opts_;
  StateMachineFactory factory_;
  SimRng rng_;
  NetFaults faults_;
  SimStats stats_;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<InFlight>> net_;
  std::set<std::pair<uint64_t, uint64_t>> cuts_;
  std::vector<SimObserver*> observers_;

  // checker state
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::unordered_map<std::string, uint64_t> index_term_chain_;  // "index/term" -> chain hash
  std::vector<CommittedEntry> committed_;
  struct Tracked {
    std::string data;
    uint64_t node = 0;
    ProposalFate::Outcome outcome = ProposalFate::Outcome::unknown;
    uint64_t index = 0;
    std::string reason;
    bool decided = false;
    bool config = false;  // a membership change (its entry's bytes are the leader's)
  };
  std::vector<Tracked> tracked_;                          // every proposal made through propose()
  std::unordered_map<std::string, uint64_t> data_index_;  // committed payload -> index
};

}  // namespace pw::sim
