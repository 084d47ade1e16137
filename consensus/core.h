// consensus/core.h — the Raft consensus state machine, pure and deterministic:
// no sockets, no clock, no files, no threads. Inputs are tick(), step(),
// propose(), transfer_leadership() and compact(); every effect comes out as a
// Ready batch that the caller (RaftNode, or the simulation) carries out:
//
//   while (core.has_ready()) {
//     Ready rd = core.ready();
//     if (!rd.snapshot.empty()) { store.apply_snapshot(rd.snapshot); sm.restore(rd.snapshot.data);
//     } store.append(rd.entries);                          // fsync'ed if (rd.hard_state)
//     store.save_hard_state(*rd.hard_state);  // fsync'ed for (auto& m : rd.messages)
//     transport.send(m);     // only after the above for (auto& e : rd.committed_entries) if
//     (e.type == EntryType::normal) sm.apply(e.index, e.data); for (auto& f : rd.proposals)
//     callbacks[f.id](f); core.advance(rd);
//   }
//
// Features: pre-vote, check-quorum (with the matching follower-side lease on
// votes), leadership transfer (TimeoutNow, catching a lagging target up
// first), randomized election timeouts in [T, 2T), heartbeats, log matching
// with fast back-off (conflict term/index hints), InstallSnapshot, compaction
// driven by the application, a no-op entry on election, proposal forwarding
// with a reported fate, and single-server membership changes with learners
// (membership.h): the configuration in force is the latest one in the log,
// only voters vote and count towards quorums, learners and removed nodes
// never campaign, and a leader removed from the configuration steps down
// once its removal commits.
//
// Not thread-safe: one owner thread calls everything.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/election_priority.h"
#include "consensus/membership.h"
#include "consensus/message.h"
#include "consensus/progress.h"
#include "consensus/raft_log.h"

namespace pw::consensus {

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };
const char* role_name(Role r);


struct CoreOptions {
  uint64_t id = 0;              ///< this node, one of `peers`
  /// The seed configuration: every voting member of a brand-new cluster
  /// (ids 1..N). Used until the log or a snapshot carries a configuration.
  /// Self need not be among them (a node joining an existing cluster).
  std::vector<uint64_t> peers;
  /// The same seed with names and addresses (for membership()); optional:
  /// when empty, it is built from `peers` with the ids as names.
  Membership initial_members;
  int election_ticks = 10;      ///< T: election timeout randomized in [T, 2T) ticks
  int heartbeat_ticks = 1;      ///< leader heartbeat interval; must be < election_ticks
  /// RNG seed (election timeouts, wire proposal ids). Deterministic for a
  /// given seed; RaftNode should pass a fresh random value per process start.
  uint64_t seed = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_msg_bytes = 1ull << 20;  ///< soft cap on entry bytes per app message (>= 1 entry)
  uint64_t max_proposal_bytes = 1ull
                                << 20;  ///< larger proposals are dropped ("proposal too large")
  size_t max_inflight = 64;             ///< app messages in flight per follower in replicate state
  /// A proposal still unresolved this many ticks after propose() is reported
  /// `unknown` ("outcome unknown", as etcd's request timeout): a leader cut
  /// off from its peers (or a follower whose leader went silent) would
  /// otherwise keep it pending until the partition heals. 0 = 3 ×
  /// election_ticks: past check-quorum's step-down and a new election, so a
  /// healthy cluster resolves every proposal exactly before it.
  int proposal_timeout_ticks = 0;
};

/// What storage had when the process (re)started. Entries may start at or
/// below snapshot.index + 1 (those covered by the snapshot are ignored) and
/// must be contiguous. The caller has already restored the application from
/// `snapshot.data`, so applied starts at snapshot.index; committed entries
/// above it are replayed through the first Ready.
struct InitialState {
  HardState hard_state;
  Snapshot snapshot;
  std::vector<Entry> entries;
};

/// Role/leader/term as seen by this node; reported when any of them changes.
struct SoftState {
  Role role = Role::follower;
  uint64_t leader = 0;  ///< 0 = unknown
  uint64_t term = 0;
  bool operator==(const SoftState&) const = default;
};

/// The fate of a proposal returned by propose().
struct ProposalFate {
  enum class Outcome : uint8_t {
    committed,  ///< committed at `index`: it will be (or was) applied there on every node
    dropped,    ///< certainly not committed; `reason` says why (safe to retry)
    unknown,    ///< could not be determined (leader never answered, or a snapshot skipped
                ///< over it); it may or may not have been committed
  };
  uint64_t id = 0;
  Outcome outcome = Outcome::dropped;
  uint64_t index = 0;  ///< committed: its index; otherwise the index it had, if known
  std::string reason;  ///< for dropped/unknown, e.g. "no leader known"
};
const char* outcome_name(ProposalFate::Outcome o);

/// The cluster id (identity.h). The first leader of a brand-new cluster (a
/// leader elected with an empty log) writes a random non-zero id into the
/// data of its no-op at index 1: "cid1" + u64 big-endian. Raft commits one
/// entry at index 1, so the whole cluster agrees on one id, created once.
std::string encode_cluster_id_entry(uint64_t id);
/// The id carried by `e` if it is such an entry (index 1, no-op, that exact
/// layout); nullopt otherwise (e.g. the plain no-op of an older version).
std::optional<uint64_t> cluster_id_of(const Entry& e);

/// One batch of work for the caller. Carry it out in this order:
/// 1. snapshot (persist atomically, restore the application from it),
/// 2. entries (append durably; entries[0].index may be <= the stored last
///    index: the stored suffix from there is replaced),
/// 3. hard_state (persist atomically),
/// 4. then, and only then, send messages,
/// 5. apply committed_entries (skip EntryType::noop), report proposals,
/// 6. call advance(ready). Between ready() and advance() only propose() and
///    transfer_leadership() may be called (their effects come in the next
///    Ready, e.g. from a state machine reacting to an applied entry); step(),
///    tick() and compact() must wait for advance().
struct Ready {
  std::optional<SoftState> soft_state;   ///< set if role/leader/term changed since the last Ready
  std::optional<HardState> hard_state;   ///< set if it changed; persist before sending
  Snapshot snapshot;                     ///< non-empty: a snapshot received from the leader
  std::vector<Entry> entries;            ///< to append to stable storage before sending
  std::vector<Message> messages;         ///< to send after persisting (best effort, may be lost)
  std::vector<Entry> committed_entries;  ///< to apply, in order, after persisting
  std::vector<ProposalFate>
      proposals;  ///< fates of this node's proposals, decided since the last Ready

  bool empty() const {
    return !soft_state && !hard_state && snapshot.empty() && entries.empty() && messages.empty() &&
           committed_entries.empty() && proposals.empty();
  }
};

class Core {
 public:
  /// Builds a core at `initial` (default: a brand-new node). Throws
  /// std::invalid_argument for bad options (self not in peers, ids of 0,
  /// heartbeat >= election) or an inconsistent initial state (gaps in the entries).
  explicit Core(const CoreOptions& opts, const InitialState& initial = {});

  /// Advances logical time by one tick: elections on followers/candidates,
  /// heartbeats, check-quorum and transfer time-outs on the leader, and
  /// time-outs of proposals (forwarded ones nobody answered, and any still
  /// unresolved after proposal_timeout_ticks: reported `unknown`).
  void tick();

  /// Feeds a message received from a peer. Malformed or misaddressed
  /// messages (unknown sender, to != self, non-contiguous entries) are
  /// ignored and logged at debug level: the network is not trusted to be sane.
  void step(const Message& m);

  /// Proposes `data` for the log and returns a proposal id (unique within
  /// this Core instance, increasing from 1). Its fate arrives later in a
  /// Ready's `proposals`. The leader appends directly; a follower forwards to
  /// the leader it knows (and learns the index from its prop_resp); without a
  /// known leader, during a leadership transfer, or when larger than
  /// max_proposal_bytes the proposal is dropped at once (reported in the next Ready).
  uint64_t propose(std::string data);

  /// Proposes a new membership (single-server change, see membership.h);
  /// `to.epoch` is ignored. Its fate comes like any proposal's. Refused at
  /// once (dropped, with the reason) when: not the leader and none known; a
  /// change is still uncommitted; this leader has not yet committed an
  /// entry of its own term (the dissertation's fix for single-server
  /// changes across leader changes); a transfer is in progress; or
  /// check_change() refuses it. A follower forwards it to the leader.
  uint64_t propose_config(const Membership& to);
  /// The configuration in force here: the latest in the log (committed or not).
  const Membership& membership() const { return config_; }
  /// The latest committed configuration (what survives any leader change).
  /// Cheap while no change is pending (the one in force is committed);
  /// scans back through the log only during a change.
  Membership committed_membership() const {
    return config_.epoch <= log_.committed() ? config_ : config_at(log_.committed());
  }
  bool is_voter() const { return config_.is_voter(opts_.id); }

  /// Election priority, a hint from the application (pgwarden: the lock
  /// holder, whose lease renewals commit only through a leader, stands
  /// first; the members that know of a live holder defer to it). `first`
  /// times out after exactly T = election_ticks, `defer` draws in
  /// [T + 2, 2T + 2), `normal` in [T, 2T). Ticks run at their own phase on
  /// each node, so `first` normally stands alone, and the followers, whose
  /// check-quorum window is one tick shorter, grant it: the election ends
  /// about T after the leader's loss instead of up to 2T, or later after a
  /// split vote of two followers that drew the same timeout. Only liveness
  /// depends on it.
  void set_election_priority(ElectionPriority p);
  ElectionPriority election_priority() const { return priority_; }

  /// Asks for leadership to move to `to`. On the leader: catches `to` up,
  /// then sends it timeout_now; aborted if not done within an election
  /// timeout. Proposals are refused meanwhile. On a follower: forwarded to
  /// the known leader. Unknown target or target == current leader: ignored.
  void transfer_leadership(uint64_t to);

  /// Compaction driven by the application: `data` is its state as of applied
  /// index `index`. Creates the snapshot and drops log entries <= index from
  /// memory. Returns the snapshot, which the caller must persist
  /// (LogStore::save_snapshot) before dropping stored segments. Throws
  /// std::invalid_argument if index > applied() or index <= the current snapshot index.
  const Snapshot& compact(uint64_t index, std::string data);

  bool has_ready() const;
  /// Collects everything pending into a Ready. See Ready for the protocol.
  Ready ready();
  /// Acknowledges that `rd` (the last value of ready()) was carried out.
  void advance(const Ready& rd);

  uint64_t id() const { return opts_.id; }
  Role role() const { return role_; }
  uint64_t leader() const { return lead_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t commit() const { return log_.committed(); }
  uint64_t applied() const { return log_.applied(); }
  uint64_t last_index() const { return log_.last_index(); }
  uint64_t lead_transferee() const { return lead_transferee_; }
  const RaftLog& log() const { return log_; }
  const CoreOptions& options() const { return opts_; }
  /// Replication progress of `peer` as tracked by the leader (nullptr if not leader or unknown
  /// peer).
  const Progress* progress(uint64_t peer) const;
  /// Current randomized election timeout, in ticks (for tests and logs).
  int randomized_election_timeout() const { return randomized_timeout_; }
  /// Logical time: the number of tick() calls since this Core was built.
  int64_t ticks() const { return ticks_; }
  /// I3 freshness: how many ticks ago the current leadership was last
  /// confirmed, or -1 for none. A message received at any moment between
  /// tick k and tick k+1 has age ticks() - k, so the true age in time lies
  /// in [age, age + 1) tick intervals: callers converting to time must round
  /// up (RaftNode::leader_contact_ms).
  /// - follower: since the last app, heartbeat or snapshot of the current
  ///   term (necessarily from its leader); nothing else counts, neither
  ///   other peers' messages nor those of an earlier term.
  /// - leader: the quorum-th smallest of the followers' answer ages, its own
  ///   age being 0; -1 until a quorum answered in this term. A single-node
  ///   cluster is always 0.
  /// - pre-candidate, candidate: -1.
  int64_t leader_contact_age_ticks() const;

 private:
  // state transitions (core.cc) — the only places role_ changes
  void become_follower(uint64_t term, uint64_t lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(uint64_t term);
  void draw_election_timeout();
  void campaign(bool pre, bool transfer);
  void set_role(Role r);
  void note_leader_contact() { leader_heard_tick_ = ticks_; }

  // stepping (core.cc / core_leader.cc)
  void step_follower(const Message& m);
  void step_candidate(const Message& m);
  void step_leader(const Message& m);
  void handle_vote_request(const Message& m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_prop_resp(const Message& m);
  void handle_leader_prop(const Message& m);
  void handle_transfer(uint64_t to);
  bool valid_message(const Message& m) const;
  int poll(uint64_t from, bool granted, int* rejected);

  // replication (core_leader.cc)
  void send(Message m);
  bool maybe_send_append(uint64_t to, bool send_if_empty);
  void send_heartbeat(uint64_t to);
  void bcast_append();
  void bcast_heartbeat();
  bool maybe_commit();
  void append_as_leader(EntryType type, std::string data, uint64_t* index);
  void tick_leader();
  void tick_election();
  bool quorum_active();
  void abort_transfer(const char* why);

  // proposals (core_proposals.cc)
  void resolve_proposals();
  void drop_proposal(uint64_t id, uint64_t index, ProposalFate::Outcome outcome,
                     std::string reason);
  void tick_proposals();
  uint64_t propose_entry(EntryType type, std::string data);
  std::string config_refusal(const Membership& to) const;
  std::string prop_config_refusal(const Entry& e) const;

  // membership (core_membership.cc)
  void refresh_config(uint64_t from_index);
  void set_config(Membership c);
  Membership config_at(uint64_t index) const;
  Membership base_config() const;
  void maybe_step_down_removed();
  bool can_campaign() const;
  bool sender_removed(uint64_t id) const;
  int voter_quorum() const { return static_cast<int>(config_.voter_count() / 2 + 1); }

  uint64_t next_rand();
  int quorum() const { return voter_quorum(); }

  CoreOptions opts_;
  Membership config_;  // in force: the latest config entry in the log, else the snapshot's, else the seed
  uint64_t term_ = 0;
  uint64_t vote_ = 0;
  uint64_t lead_ = 0;
  Role role_ = Role::follower;
  RaftLog log_;
  std::map<uint64_t, Progress> prs_;  // leader only: every peer except self
  std::map<uint64_t, bool> votes_;    // candidate/pre-candidate: peer -> granted
  int election_elapsed_ = 0;
  int64_t ticks_ = 0;               // tick() calls so far
  int64_t leader_heard_tick_ = -1;  // follower: ticks_ at the last message of the current leader
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  uint64_t lead_transferee_ = 0;
  ElectionPriority priority_ = ElectionPriority::normal;
  uint64_t rng_state_;

  // proposals
  uint64_t next_proposal_id_ = 1;
  uint64_t prop_nonce_ = 0;        // added to local ids on the wire, so a restarted forwarder
                                   // never mistakes an answer meant for its previous life
  uint64_t commit_term_seen_ = 0;  // term of the committed index when proposals were last resolved
  struct Awaiting {
    uint64_t id;
    uint64_t term;
    int64_t deadline;  // ticks_ at which it is reported unknown (proposal_timeout_ticks)
  };
  struct AwaitingAck {
    int64_t ack_deadline;  // ticks_ by which the leader must answer
    int64_t deadline;      // the proposal's own timeout, carried into awaiting_commit_
  };
  std::multimap<uint64_t, Awaiting> awaiting_commit_;  // index -> proposals placed there
  std::map<uint64_t, AwaitingAck> awaiting_ack_;       // forwarded id -> its time-outs
  int64_t proposal_deadline() const;
  std::vector<ProposalFate> fates_;
  // Leader: forwarded proposals already appended, (forwarder, wire id) ->
  // (index, term), so a duplicated prop frame is not appended twice. Bounded.
  static constexpr size_t kSeenProposals = 4096;
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> seen_props_;
  std::deque<std::pair<uint64_t, uint64_t>> seen_order_;

  // outputs
  std::vector<Message> msgs_;
  HardState prev_hard_;
  SoftState prev_soft_;
};

}  // namespace pw::consensus
