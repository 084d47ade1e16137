// consensus/raft_node.h — the glue that drives the pure Raft core on the
// control thread's event_base: tick timer, storage (persist before send),
// transport, applying committed entries to a StateMachine, snapshots.
//
// This header is the contract node/ programs against. Everything runs on
// the event_base thread; no method may be called from another thread.
// Callbacks (StateMachine::apply, proposal callbacks, handlers) may call
// any method except destroying the RaftNode.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/election_priority.h"
#include "consensus/membership.h"
#include "consensus/state_machine.h"

struct event_base;

namespace pw::consensus {

struct Peer {
  uint64_t id;        // 1..N, stable: the member's position in the config list + 1
  std::string name;   // member name, carried in the handshake / TLS identity
  std::string host;   // address to connect to (and, for self, to bind)
  uint16_t port;
};

struct TlsOptions {
  std::string ca_file, cert_file, key_file;  // all empty = plaintext
  bool enabled() const { return !ca_file.empty(); }
};

struct RaftOptions {
  std::string cluster_name;
  uint64_t self_id = 0;
  std::vector<Peer> peers;       // [cluster] members (the seed), self included; ids = position
  /// The membership a node joining an existing cluster was given (daemon's
  /// discovery); it replaces `peers` as the seed, and the id of this
  /// node's name in it is its id.
  std::optional<Membership> joined;
  std::string state_dir;         // log segments, hard state, snapshots, identity
  int64_t tick_ms = 100;
  int election_ticks = 10;       // randomized in [election_ticks, 2*election_ticks)
  int heartbeat_ticks = 1;
  uint64_t max_frame_size = 16ull << 20;
  uint64_t snapshot_entries = 10000;  // snapshot + compact after this many applied
  TlsOptions tls;
  /// Per peer; frames beyond it are dropped (Raft resends).
  uint64_t max_send_queue_bytes = 8ull << 20;
  /// Term and vote are always fsync'ed before any message leaves. A change
  /// of the commit index alone is volatile state in Raft (a restarted node
  /// relearns it from the leader), so it is persisted at most this often;
  /// 0 = with every change. Lagging only shortens the replay at start-up.
  int64_t commit_persist_interval_ms = 1000;
};

/// Transport counters for one peer (monotonic since start; API and tests).
struct PeerStats {
  uint64_t frames_in = 0, bytes_in = 0;    // frames received (keepalives excluded)
  uint64_t frames_out = 0, bytes_out = 0;  // frames queued for sending
  uint64_t drops_queue_full = 0;           // dropped: output over max_send_queue_bytes
  uint64_t drops_not_connected = 0;        // dropped: no established outbound connection
  uint64_t connects = 0;                   // outbound connections that completed the handshake
  uint64_t reconnects = 0;                 // outbound attempts after the first
  uint64_t dial_failures = 0;              // outbound attempts that failed before their handshake
  uint64_t refusals = 0;                   // inbound connections claiming this peer, refused
  bool connected_out = false;              // outbound connection established now
  bool connected_in = false;               // an inbound connection from the peer established now
  int64_t last_heard_ms = 0;               // mono ms of the last frame received (0 = never)
  uint64_t cluster_id = 0;                 // the peer announced in its latest handshake (0 = none)
  /// The latest refusal, in either direction, for a cluster id (identity.h,
  /// formation.h): the reason ("" = none since the last connection both sides
  /// admitted), whether the peer refused our state (else we refused its),
  /// and when (mono ms). The agent's stale_raft_state / member_refused.
  std::string identity_refusal;
  bool refused_by_peer = false;
  int64_t identity_refused_ms = 0;
};

/// The seed membership of the configured `peers` (every one a voter).
std::vector<MemberInfo> seed_members(const std::vector<Peer>& peers);
/// "" when the configured members agree with `m` (names and raft
/// addresses); otherwise what differs, and that the configuration file is
/// only the seed list and should be brought in line (the node acts on `m`).
std::string membership_drift(const Membership& m, const std::vector<Peer>& configured);

/// Outcome of a proposal: committed at `index` (already applied to the
/// StateMachine when the callback runs), or not (`index` = 0, `error` says
/// why: no known leader, leadership lost, node stopped, ...). When not
/// committed, `maybe_committed` tells a certain drop (false: safe to retry)
/// from an unknown outcome (true: the leader never answered, or the node
/// stopped first; it may still be committed and applied later).
struct ProposalResult {
  bool committed = false;
  uint64_t index = 0;
  std::string error;
  bool maybe_committed = false;
};
using ProposalCallback = std::function<void(const ProposalResult&)>;

/// Application messages (soft state such as member status) ride the raft
/// transport but bypass the log: best effort, no ordering across reconnects.
using AppMessageHandler = std::function<void(uint64_t from_id, const std::string& data)>;

class RaftNode {
 public:
  /// Opens (or creates) the state directory. Throws std::runtime_error with a
  /// message naming the file, offset and what to do on corruption or on a
  /// cluster identity mismatch (name or members differ from `opts`).
  static std::unique_ptr<RaftNode> open(event_base* base, const RaftOptions& opts,
                                        StateMachine* sm);
  virtual ~RaftNode() = default;

  /// Binds the listener, starts the tick timer and outbound connections.
  /// Throws std::runtime_error if the port cannot be bound.
  virtual void start() = 0;
  /// Closes connections and timers; flushes nothing more (all is already durable).
  virtual void stop() = 0;

  /// Proposes `data` (forwarded to the leader when this node is a follower).
  /// `cb` is called exactly once, on the event_base thread.
  virtual void propose(const std::string& data, ProposalCallback cb) = 0;
  virtual void transfer_leadership(uint64_t to_id) = 0;
  /// Core::set_election_priority (the agent: `first` on the lock holder,
  /// `defer` on members that know of a live holder). Default: ignored.
  virtual void set_election_priority(ElectionPriority p) { (void)p; }

  virtual void broadcast_app(const std::string& data) = 0;
  virtual void send_app(uint64_t to_id, const std::string& data) = 0;
  virtual void set_app_handler(AppMessageHandler h) = 0;
  /// Called after each change of role/leader/term (for logs and the agent),
  /// once the Ready that carried the change was persisted.
  virtual void set_leader_change_handler(std::function<void()> h) = 0;
  /// Called once if the node cannot go on: its storage failed (a node that
  /// cannot persist must not vote or acknowledge; `why` is the storage
  /// error), or StateMachine::apply threw (`why` starts with "state machine
  /// apply failed at index N: "; applying in order is impossible past it).
  /// The node has stopped when it runs; the daemon should exit non-zero.
  /// Without a handler the process aborts. (Not pure: test doubles need not
  /// implement it.)
  virtual void set_fatal_handler(std::function<void(const std::string& why)> h) { (void)h; }

  virtual bool is_leader() const = 0;
  virtual uint64_t leader_id() const = 0;   // 0 = unknown
  virtual uint64_t term() const = 0;
  virtual uint64_t commit_index() const = 0;
  virtual uint64_t applied_index() const = 0;
  virtual uint64_t self_id() const = 0;
  /// Monotonic ms when a frame was last received from peer `id` (0 = never).
  virtual int64_t last_heard_ms(uint64_t id) const = 0;
  /// Monotonic ms of the latest proof that the current leader still leads
  /// (I3 freshness): on a follower, when it last received a message of the
  /// current term from that leader (keepalives and other peers' frames do
  /// not count); on the leader, the latest time by which a quorum
  /// (itself included) had answered it in this term. 0 = none (candidate,
  /// no leader known, a leader not yet answered by a quorum, or a contact
  /// more than 1024 ticks old). Never later than the true instant: the
  /// contact is dated at the tick that preceded it.
  virtual int64_t leader_contact_ms() const { return 0; }
  /// This cluster's id (identity.h): created once, by the first leader of a
  /// brand-new cluster, and recorded in the state dir; 0 = not known yet.
  /// Peers with another non-zero id are refused at the handshake.
  virtual uint64_t cluster_id() const { return 0; }
  /// The latest committed membership (membership.h). Test doubles without
  /// membership changes may keep the default: the seed never changes.
  virtual Membership membership() const { return {}; }
  /// The membership in force here: the latest in the log, maybe uncommitted.
  virtual Membership membership_in_force() const { return membership(); }
  /// Proposes a membership change (Core::propose_config: single-server,
  /// one at a time, checked by the leader). `cb` as for propose().
  virtual void propose_membership(const Membership& to, ProposalCallback cb) {
    (void)to;
    ProposalResult r;
    r.error = "membership changes are not supported here";
    cb(r);
  }
  /// Non-empty when the configuration file's members disagree with the
  /// committed membership: what differs and what to do (a diagnostic).
  virtual std::string membership_drift() const { return {}; }
  /// Transport counters for peer `id` (all zero for self or unknown ids).
  virtual PeerStats peer_stats(uint64_t id) const {
    (void)id;
    return {};
  }
};

}  // namespace pw::consensus
