// consensus/raft_node.cc — RaftNode (raft_node.h) on top of the pure Core,
// the LogStore, the codec and the Transport. One event_base thread drives
// everything: a tick timer, frames from the transport, proposals. Each of
// those feeds the Core and schedules one deferred drain of its Ready, so
// messages arriving in the same loop turn share one fsync (group commit).
//
// Drain order (core.h): snapshot → entries → hard state, all fsync'ed by the
// LogStore before any message of that Ready leaves; then messages, then
// committed entries to the StateMachine, then proposal callbacks. One
// exception, on purpose: a hard state that differs from the stored one only
// by its commit index is saved by the tick timer at most every
// commit_persist_interval_ms (commit is volatile in Raft; rewriting the
// hardstate file costs two fsyncs and would triple the cost of each batch).
#include "consensus/raft_node.h"

#include <event2/event.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>

#include "base/clock.h"
#include "base/log.h"
#include "consensus/codec.h"
#include "consensus/core.h"
#include "consensus/formation.h"
#include "consensus/handshake.h"
#include "consensus/identity.h"
#include "consensus/log_store.h"
#include "consensus/transport.h"

namespace pw::consensus {

static_assert(kProtocolVersion == kCodecVersion, "transport handshake and codec share one version");
static_assert(kHandshakeFrameType == static_cast<uint8_t>(FrameType::handshake),
              "transport handshake frame type must be codec.h's");
static_assert(kFrameHeaderSize == kLengthPrefixSize + 2, "codec header = length + version + type");

namespace {

constexpr const char* kComp = "raft";

// The members of `m` as transport peers, plus this node (by name, with its
// address from the file) if it is not a member: the transport always needs self.
std::vector<Peer> peers_with_self(const Membership& m, const std::string& self_name,
                                  const std::vector<Peer>& seed) {
  std::vector<Peer> v;
  bool self_in = false;
  for (const MemberInfo& x : m.members) {
    v.push_back(Peer{x.id, x.name, x.host, x.port});
    self_in = self_in || x.name == self_name;
  }
  if (!self_in)
    for (const Peer& p : seed)
      if (p.name == self_name) v.push_back(p);
  return v;
}

// Everything after the 4-byte length: what Transport::send takes.
std::string_view after_length(const std::string& frame) {
  return std::string_view(frame).substr(kLengthPrefixSize);
}

class RaftNodeImpl final : public RaftNode {
 public:
  RaftNodeImpl(event_base* base, const RaftOptions& opts, StateMachine* sm);
  ~RaftNodeImpl() override;

  void start() override;
  void stop() override;
  void propose(const std::string& data, ProposalCallback cb) override;
  void transfer_leadership(uint64_t to_id) override;
  void set_election_priority(ElectionPriority p) override {
    if (stopped_ || p == core_->election_priority()) return;
    PW_INFO(kComp, "election priority %s term=%llu", priority_name(p), static_cast<unsigned long long>(core_->term()));
    core_->set_election_priority(p);  // a timer only: no Ready, safe between ready() and advance()
  }
  void broadcast_app(const std::string& data) override;
  void send_app(uint64_t to_id, const std::string& data) override;
  void set_app_handler(AppMessageHandler h) override { app_handler_ = std::move(h); }
  void set_leader_change_handler(std::function<void()> h) override {
    leader_handler_ = std::move(h);
  }
  void set_fatal_handler(std::function<void(const std::string&)> h) override {
    fatal_handler_ = std::move(h);
  }

  bool is_leader() const override { return core_->role() == Role::leader; }
  uint64_t leader_id() const override { return core_->leader(); }
  uint64_t term() const override { return core_->term(); }
  uint64_t commit_index() const override { return core_->commit(); }
  uint64_t applied_index() const override { return applied_; }
  uint64_t self_id() const override { return opts_.self_id; }
  int64_t last_heard_ms(uint64_t id) const override { return transport_->last_heard_ms(id); }
  PeerStats peer_stats(uint64_t id) const override { return transport_->stats(id); }
  int64_t leader_contact_ms() const override;
  uint64_t cluster_id() const override { return cluster_id_; }
  Membership membership() const override { return core_->committed_membership(); }
  Membership membership_in_force() const override { return core_->membership(); }
  void propose_membership(const Membership& to, ProposalCallback cb) override;
  std::string membership_drift() const override {
    Membership m = membership();
    return m.epoch == 0 ? std::string() : pw::consensus::membership_drift(m, seed_peers_);
  }

 private:
  std::string on_frame(uint64_t from, std::string_view frame);
  void schedule_drain();
  void drain();
  void drain_one(Ready& rd);
  void apply_committed(const std::vector<Entry>& entries);
  void report(const ProposalFate& f);
  void maybe_snapshot();
  void run_deferred();
  void save_hard_state(const HardState& hs);
  void flush_commit();
  void on_soft_state(const SoftState& s);
  void adopt_cluster_id(uint64_t id, const std::string& source);
  /// The transport's formation check (formation.h), asked while cluster_id_ is 0.
  std::string formation_check(uint64_t peer, uint64_t theirs) const;
  void maybe_adopt_leader_cluster_id();
  void fail(const std::string& why);
  void fail_pending(const std::string& why);
  const Peer* peer(uint64_t id) const;

  static void tick_cb(int, short, void* arg);
  static void drain_cb(int, short, void* arg);

  event_base* base_;
  RaftOptions opts_;
  StateMachine* sm_;
  std::unique_ptr<LogStore> store_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<Transport> transport_;
  event* tick_ev_ = nullptr;
  event* drain_ev_ = nullptr;
  std::map<uint64_t, ProposalCallback> callbacks_;  // Core proposal id → callback
  AppMessageHandler app_handler_;
  std::function<void()> leader_handler_;
  std::function<void(const std::string&)> fatal_handler_;
  uint64_t applied_ = 0;
  uint64_t snapshot_index_ = 0;          // index of the latest snapshot taken or installed
  HardState saved_hs_;                   // what the hardstate file holds
  std::optional<HardState> pending_hs_;  // newer commit index, not yet persisted
  int64_t hs_saved_ms_ = 0;
  SoftState soft_;
  uint64_t cluster_id_ = 0;  // identity.h; 0 = not known yet
  bool in_ready_ = false;                        // between core_->ready() and advance()
  std::vector<std::function<void()>> deferred_;  // core calls made meanwhile
  bool started_ = false;
  bool stopped_ = false;
  bool failed_ = false;
  std::string fail_reason_;  // why the node failed (for the replay error)
  std::vector<Peer> seed_peers_;  // [cluster] members as configured (identity, drift)
  uint64_t transport_epoch_ = 0;            // membership epoch the transport's peers follow
  uint64_t transport_committed_epoch_ = 0;  // ... and the committed one (they differ during a change)
  /// The transport follows the membership in force (new members are
  /// dialed before the first message to them leaves).
  void sync_peers();
  std::string self_name_;

  // Mono ms at which Core tick number k was taken, for k in the last
  // kTickHistory ticks (index k % kTickHistory); tick 0 is start().
  static constexpr int64_t kTickHistory = 1024;
  std::vector<int64_t> tick_at_ms_ = std::vector<int64_t>(kTickHistory, 0);
};

/// Thrown by apply_committed when the StateMachine (application code)
/// fails: reported as such, not as a storage failure.
struct ApplyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

RaftNodeImpl::RaftNodeImpl(event_base* base, const RaftOptions& opts, StateMachine* sm)
    : base_(base), opts_(opts), sm_(sm) {
  if (!sm_) throw std::invalid_argument("raft: no state machine");
  // Member i of the config has id i + 1: the identity lists names in id order.
  seed_peers_ = opts_.peers;
  std::vector<Peer> peers = opts_.peers;
  std::sort(peers.begin(), peers.end(), [](const Peer& a, const Peer& b) { return a.id < b.id; });
  ClusterIdentity identity;
  identity.cluster_name = opts_.cluster_name;
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (peers[i].id != i + 1)
      throw std::invalid_argument("raft: member ids must be 1..N in config order, got " +
                                  std::to_string(peers[i].id) + " for '" + peers[i].name + "'");
    identity.members.push_back(peers[i].name);
    ids.push_back(peers[i].id);
  }

  LogStoreOptions so;
  so.dir = opts_.state_dir;
  so.identity = identity;
  // The member list is compared below, only while the log carries no
  // membership of its own (membership.h): after a change or a recover
  // --force-members, the committed membership is the truth.
  so.check_members = false;
  store_ = std::make_unique<LogStore>(so);  // checks the identity, recovers a torn tail
  if (auto stored = read_identity(opts_.state_dir)) cluster_id_ = stored->cluster_id;

  const InitialState& init = store_->initial_state();
  saved_hs_ = init.hard_state;
  if (!init.snapshot.empty()) {
    if (!sm_->restore(init.snapshot.data))
      throw std::runtime_error("raft: the snapshot in " + opts_.state_dir + " (index " +
                               std::to_string(init.snapshot.index) +
                               ") is not readable by the state machine; move the state "
                               "directory aside to rejoin from the leader");
    applied_ = snapshot_index_ = init.snapshot.index;
  }

  // Our id and the peers come from the membership the log carries (or that
  // a joining node was given); the file's order only seeds a new cluster.
  std::string& self_name = self_name_;
  for (const Peer& p : seed_peers_)
    if (p.id == opts_.self_id) self_name = p.name;
  Membership seed =
      opts_.joined ? *opts_.joined : seed_membership(seed_members(seed_peers_));
  {
    CoreOptions probe;
    probe.id = opts_.self_id;
    probe.peers = ids;
    probe.initial_members = seed;
    Membership m = Core(probe, init).membership();
    if (const MemberInfo* me = m.find_name(self_name)) {
      if (me->id != opts_.self_id)
        PW_INFO(kComp, "member %s has id %llu in the membership (epoch %llu), not %llu as its "
                "place in [cluster] members says: using %llu",
                self_name.c_str(), static_cast<unsigned long long>(me->id),
                static_cast<unsigned long long>(m.epoch),
                static_cast<unsigned long long>(opts_.self_id),
                static_cast<unsigned long long>(me->id));
      opts_.self_id = me->id;
    } else if (m.epoch > 0) {
      PW_WARN(kComp, "this node (%s) is not a member of the cluster (membership epoch %llu: %s): "
              "it stays passive; add it with `pgwarden ctl member add`",
              self_name.c_str(), static_cast<unsigned long long>(m.epoch), m.describe().c_str());
    }
    opts_.peers = peers_with_self(m, self_name, seed_peers_);
  }

  CoreOptions co;
  co.id = opts_.self_id;
  co.peers = ids;
  co.election_ticks = opts_.election_ticks;
  co.heartbeat_ticks = opts_.heartbeat_ticks;
  // 64 random bits: the seed also draws the cluster id of a brand-new cluster.
  std::random_device rd;
  co.seed = ((static_cast<uint64_t>(rd()) << 32) | rd()) ^ static_cast<uint64_t>(mono_us()) ^
            opts_.self_id;
  // Keep every message well inside one frame (entries + envelope).
  co.max_msg_bytes = std::min<uint64_t>(co.max_msg_bytes, opts_.max_frame_size / 4);
  co.max_proposal_bytes = std::min<uint64_t>(co.max_proposal_bytes, opts_.max_frame_size / 4);
  co.initial_members = seed;
  core_ = std::make_unique<Core>(co, init);
  transport_epoch_ = core_->membership().epoch;
  if (core_->membership().epoch == 0 && !opts_.joined) {
    check_identity(opts_.state_dir, identity, true);  // throws naming the difference
  } else if (std::string drift = pw::consensus::membership_drift(core_->membership(), seed_peers_);
             !drift.empty()) {
    PW_WARN(kComp, "membership epoch=%llu: %s",
            static_cast<unsigned long long>(core_->membership().epoch), drift.c_str());
  }

  TransportOptions to;
  to.cluster_name = opts_.cluster_name;
  to.self_id = opts_.self_id;
  to.peers = opts_.peers;
  to.max_frame_size = opts_.max_frame_size;
  to.max_queue_bytes = opts_.max_send_queue_bytes;
  to.tls = opts_.tls;
  to.cluster_id = cluster_id_;
  transport_ = std::make_unique<Transport>(base_, to);
  transport_->set_frame_handler(
      [this](uint64_t from, std::string_view frame) { return on_frame(from, frame); });
  transport_->set_formation_check(
      [this](uint64_t peer, uint64_t theirs) { return formation_check(peer, theirs); });

  tick_ev_ = event_new(base_, -1, EV_PERSIST, &RaftNodeImpl::tick_cb, this);
  drain_ev_ = event_new(base_, -1, 0, &RaftNodeImpl::drain_cb, this);

  // Replay: committed entries after the snapshot come out of the first
  // Ready; applying them now makes the state machine current before start().
  uint64_t from = applied_;
  drain();
  if (failed_)
    throw std::runtime_error("raft: cannot replay the log in " + opts_.state_dir + ": " +
                             fail_reason_);
  PW_INFO(kComp, "opened state_dir=%s term=%llu snapshot=%llu replayed=%llu last_index=%llu",
          opts_.state_dir.c_str(), static_cast<unsigned long long>(core_->term()),
          static_cast<unsigned long long>(snapshot_index_),
          static_cast<unsigned long long>(applied_ - from),
          static_cast<unsigned long long>(core_->last_index()));
}

RaftNodeImpl::~RaftNodeImpl() {
  stop();
  transport_.reset();
  event_free(tick_ev_);
  event_free(drain_ev_);
}

const Peer* RaftNodeImpl::peer(uint64_t id) const {
  for (const Peer& p : opts_.peers)
    if (p.id == id) return &p;
  return nullptr;
}

void RaftNodeImpl::start() {
  if (started_ || stopped_) return;
  transport_->start();
  started_ = true;
  tick_at_ms_[static_cast<size_t>(core_->ticks() % kTickHistory)] = mono_ms();
  timeval tv{static_cast<time_t>(opts_.tick_ms / 1000),
             static_cast<suseconds_t>((opts_.tick_ms % 1000) * 1000)};
  event_add(tick_ev_, &tv);
}

void RaftNodeImpl::stop() {
  if (stopped_) return;
  stopped_ = true;
  event_del(tick_ev_);
  event_del(drain_ev_);
  transport_->stop();
  if (!failed_) {
    try {
      flush_commit();
    } catch (const std::exception& e) {
      PW_WARN(kComp, "cannot persist the commit index at stop: %s", e.what());
    }
  }
  fail_pending("node stopped before the outcome was known");
}

void RaftNodeImpl::fail_pending(const std::string& why) {
  std::map<uint64_t, ProposalCallback> pending;
  pending.swap(callbacks_);
  for (auto& [id, cb] : pending) {
    ProposalResult r;
    r.error = why;
    r.maybe_committed = true;
    cb(r);
  }
}

void RaftNodeImpl::propose(const std::string& data, ProposalCallback cb) {
  if (stopped_) {
    ProposalResult r;
    r.error = failed_ ? "node failed" : "node stopped";
    cb(r);
    return;
  }
  if (in_ready_) {  // called back from inside a drain: after advance()
    deferred_.push_back(
        [this, data, cb = std::move(cb)]() mutable { propose(data, std::move(cb)); });
    return;
  }
  uint64_t id = core_->propose(data);
  callbacks_[id] = std::move(cb);
  schedule_drain();
}

void RaftNodeImpl::propose_membership(const Membership& to, ProposalCallback cb) {
  if (stopped_) {
    ProposalResult r;
    r.error = failed_ ? "node failed" : "node stopped";
    cb(r);
    return;
  }
  if (in_ready_) {
    deferred_.push_back(
        [this, to, cb = std::move(cb)]() mutable { propose_membership(to, std::move(cb)); });
    return;
  }
  PW_INFO(kComp, "membership change proposed: %s", to.describe().c_str());
  uint64_t id = core_->propose_config(to);
  callbacks_[id] = std::move(cb);
  schedule_drain();
}

void RaftNodeImpl::transfer_leadership(uint64_t to_id) {
  if (stopped_) return;
  if (in_ready_) {
    deferred_.push_back([this, to_id] { transfer_leadership(to_id); });
    return;
  }
  PW_INFO(kComp, "leadership transfer requested to=%llu term=%llu",
          static_cast<unsigned long long>(to_id), static_cast<unsigned long long>(core_->term()));
  core_->transfer_leadership(to_id);
  schedule_drain();
}

void RaftNodeImpl::broadcast_app(const std::string& data) {
  if (stopped_) return;
  std::string frame = encode_frame(FrameType::app, data);
  for (const Peer& p : opts_.peers)
    if (p.id != opts_.self_id) transport_->send(p.id, after_length(frame));
}

void RaftNodeImpl::send_app(uint64_t to_id, const std::string& data) {
  if (stopped_ || to_id == opts_.self_id) return;
  std::string frame = encode_frame(FrameType::app, data);
  transport_->send(to_id, after_length(frame));
}

std::string RaftNodeImpl::on_frame(uint64_t from, std::string_view frame) {
  if (stopped_) return {};
  if (frame.size() < 2) return "frame without version and type";
  if (static_cast<uint8_t>(frame[0]) != kCodecVersion)
    return "frame version " + std::to_string(static_cast<uint8_t>(frame[0])) + ", expected " +
           std::to_string(kCodecVersion);
  std::string_view payload = frame.substr(2);
  switch (static_cast<FrameType>(frame[1])) {
    case FrameType::raft: {
      Message m;
      std::string err;
      if (!decode_message(payload, &m, &err)) return "bad raft message: " + err;
      // The handshake authenticated the connection; a message claiming
      // another sender is a bug or an attack either way.
      if (m.from != from)
        return "raft message claims to come from " + std::to_string(m.from) +
               " on the connection of member " + std::to_string(from);
      try {
        core_->step(m);
      } catch (const std::exception& e) {
        return std::string("raft message refused by the core: ") + e.what();
      }
      schedule_drain();
      return {};
    }
    case FrameType::app:
      if (app_handler_) {
        try {
          app_handler_(from, std::string(payload));
        } catch (const std::exception& e) {
          PW_ERROR(kComp, "app message handler failed from=%llu: %s",
                   static_cast<unsigned long long>(from), e.what());
        }
      }
      return {};
    case FrameType::handshake:
      return "handshake frame after the handshake";
  }
  return "unknown frame type " + std::to_string(static_cast<uint8_t>(frame[1]));
}

void RaftNodeImpl::schedule_drain() {
  if (!stopped_) event_active(drain_ev_, 0, 0);
}

void RaftNodeImpl::tick_cb(int, short, void* arg) {
  auto* n = static_cast<RaftNodeImpl*>(arg);
  // Read before the tick: anything the core hears from now on happened
  // after this instant, whatever the timer's lateness.
  int64_t now = mono_ms();
  n->core_->tick();
  n->tick_at_ms_[static_cast<size_t>(n->core_->ticks() % kTickHistory)] = now;
  n->drain();
  n->maybe_adopt_leader_cluster_id();
  if (n->pending_hs_ && !n->failed_ &&
      mono_ms() - n->hs_saved_ms_ >= n->opts_.commit_persist_interval_ms) {
    try {
      n->flush_commit();
    } catch (const std::exception& e) {
      n->fail(e.what());
    }
  }
}

int64_t RaftNodeImpl::leader_contact_ms() const {
  // The core says the contact came `age` ticks ago: after tick number
  // ticks() - age was taken, and before the next one. The instant that tick
  // was taken is thus the earliest the contact can have happened — the age
  // rounded up to whole ticks — and, unlike now - age * tick_ms, it stays a
  // lower bound when ticks came late (a stopped or overloaded process): a
  // contact is never reported fresher than it is.
  if (!started_ || stopped_) return 0;
  int64_t age = core_->leader_contact_age_ticks();
  if (age < 0 || age >= kTickHistory) return 0;  // none, or too old to matter
  int64_t t = tick_at_ms_[static_cast<size_t>((core_->ticks() - age) % kTickHistory)];
  return t > 0 ? t : 0;
}

void RaftNodeImpl::drain_cb(int, short, void* arg) {
  static_cast<RaftNodeImpl*>(arg)->drain();
}

void RaftNodeImpl::drain() {
  // No exception may cross the libevent callback: a storage failure ends
  // the node (it must not acknowledge what it could not persist).
  try {
    while (!failed_ && !stopped_ && core_->has_ready()) {
      Ready rd = core_->ready();
      // Application code runs inside drain_one (apply, proposal callbacks);
      // whatever it asks of the core waits until advance() (core.h: no
      // other Core call between ready() and advance()).
      in_ready_ = true;
      try {
        drain_one(rd);
      } catch (...) {
        in_ready_ = false;
        throw;
      }
      in_ready_ = false;
      if (failed_) return;
      core_->advance(rd);
      if (rd.soft_state && leader_handler_) leader_handler_();
      maybe_snapshot();
      run_deferred();
    }
  } catch (const std::exception& e) {
    // Storage (LogStore errors name the file and what to do), or an
    // ApplyError: application code, already worded as such, so nobody goes
    // looking for a disk problem.
    fail(e.what());
  } catch (...) {
    fail("raft drain failed: unknown exception");
  }
}

void RaftNodeImpl::run_deferred() {
  std::vector<std::function<void()>> ops;
  ops.swap(deferred_);
  for (auto& op : ops) op();
}

void RaftNodeImpl::drain_one(Ready& rd) {
  if (rd.soft_state) on_soft_state(*rd.soft_state);
  if (!rd.snapshot.empty()) {
    store_->apply_snapshot(rd.snapshot);
    if (!sm_->restore(rd.snapshot.data))
      throw std::runtime_error("snapshot at index " + std::to_string(rd.snapshot.index) +
                               " from the leader is not readable by the state machine");
    applied_ = snapshot_index_ = rd.snapshot.index;
    PW_INFO(kComp, "installed snapshot index=%llu term=%llu bytes=%zu",
            static_cast<unsigned long long>(rd.snapshot.index),
            static_cast<unsigned long long>(rd.snapshot.term), rd.snapshot.data.size());
  }
  if (!rd.entries.empty()) store_->append(rd.entries);
  if (rd.hard_state) {
    const HardState& hs = *rd.hard_state;
    if (hs.term != saved_hs_.term || hs.vote != saved_hs_.vote ||
        opts_.commit_persist_interval_ms <= 0)
      save_hard_state(hs);  // a vote or term must be durable before anyone hears of it
    else
      pending_hs_ = hs;  // commit index only: persisted by the tick timer
  }
  sync_peers();
  // Only now is everything the messages promise durable.
  if (!stopped_) {
    for (const Message& m : rd.messages) {
      std::string frame = encode_message_frame(m);
      if (frame.size() > opts_.max_frame_size) {
        PW_ERROR(kComp,
                 "message type=%s to=%llu of %zu bytes exceeds max_frame_size %llu, not sent",
                 msg_type_name(m.type), static_cast<unsigned long long>(m.to), frame.size(),
                 static_cast<unsigned long long>(opts_.max_frame_size));
        continue;
      }
      transport_->send(m.to, after_length(frame));
    }
  }
  apply_committed(rd.committed_entries);
  for (const ProposalFate& f : rd.proposals) report(f);
}

void RaftNodeImpl::sync_peers() {
  const Membership& m = core_->membership();
  // While a change is uncommitted the links of both configurations stay:
  // a leader removing itself keeps replicating until its removal commits
  // (dissertation §4.2.2), and a member removed by an entry that a new
  // leader may still truncate is not cut off before that is settled.
  // Dropping the old leader's links at append left the removal to an
  // election timeout without a leader (and a primary without renewals).
  // (committed_membership() scans the log only while a change is pending.)
  const bool pending = m.epoch > core_->commit();
  Membership committed = pending ? core_->committed_membership() : Membership{};
  const uint64_t committed_epoch = pending ? committed.epoch : m.epoch;
  if (m.epoch == transport_epoch_ && committed_epoch == transport_committed_epoch_) return;
  transport_epoch_ = m.epoch;
  transport_committed_epoch_ = committed_epoch;
  Membership links = m;
  for (const MemberInfo& x : committed.members)
    if (!links.contains(x.id)) links.members.push_back(x);
  opts_.peers = peers_with_self(links, self_name_, seed_peers_);
  transport_->set_peers(opts_.peers);
}

void RaftNodeImpl::save_hard_state(const HardState& hs) {
  store_->save_hard_state(hs);
  saved_hs_ = hs;
  pending_hs_.reset();
  hs_saved_ms_ = mono_ms();
}

void RaftNodeImpl::flush_commit() {
  if (pending_hs_) save_hard_state(*pending_hs_);
}

void RaftNodeImpl::apply_committed(const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    if (auto id = cluster_id_of(e)) adopt_cluster_id(*id, "committed entry 1");
    if (e.index <= applied_) continue;  // covered by a snapshot already restored
    // Leader no-ops and empty proposals carry nothing for the application.
    if (e.type == EntryType::normal && !e.data.empty()) {
      try {
        sm_->apply(e.index, e.data);
      } catch (const std::exception& ex) {
        throw ApplyError("state machine apply failed at index " + std::to_string(e.index) + ": " +
                         ex.what());
      } catch (...) {
        throw ApplyError("state machine apply failed at index " + std::to_string(e.index) +
                         ": unknown exception");
      }
    }
    applied_ = e.index;
  }
}

void RaftNodeImpl::report(const ProposalFate& f) {
  auto it = callbacks_.find(f.id);
  if (it == callbacks_.end()) return;
  ProposalCallback cb = std::move(it->second);
  callbacks_.erase(it);
  ProposalResult r;
  switch (f.outcome) {
    case ProposalFate::Outcome::committed:
      r.committed = true;
      r.index = f.index;
      break;
    case ProposalFate::Outcome::dropped:
      r.error = f.reason;
      break;
    case ProposalFate::Outcome::unknown:
      r.error = "outcome unknown: " + f.reason;
      r.maybe_committed = true;
      break;
  }
  cb(r);
}

void RaftNodeImpl::maybe_snapshot() {
  if (opts_.snapshot_entries == 0 || applied_ < snapshot_index_ + opts_.snapshot_entries) return;
  if (core_->applied() < applied_) return;  // Core learns of the apply in advance()
  int64_t t0 = mono_us();
  const Snapshot& s = core_->compact(applied_, sm_->snapshot());
  store_->save_snapshot(s);
  snapshot_index_ = s.index;
  PW_INFO(kComp, "snapshot index=%llu term=%llu bytes=%zu took_us=%lld",
          static_cast<unsigned long long>(s.index), static_cast<unsigned long long>(s.term),
          s.data.size(), static_cast<long long>(mono_us() - t0));
}

void RaftNodeImpl::on_soft_state(const SoftState& s) {
  SoftState old = soft_;
  soft_ = s;
  const Peer* lead = peer(s.leader);
  if (s.role != old.role || s.term != old.term || s.leader != old.leader) {
    PW_INFO(kComp, "role=%s term=%llu leader=%s", role_name(s.role),
            static_cast<unsigned long long>(s.term), lead ? lead->name.c_str() : "none");
  }
}

void RaftNodeImpl::adopt_cluster_id(uint64_t id, const std::string& source) {
  if (id == 0 || id == cluster_id_) return;
  if (cluster_id_ != 0) {
    // Cannot happen through the handshake check; keep ours, say it loudly.
    PW_ERROR(kComp, "cluster_id=%s from %s differs from this node's cluster_id=%s: keeping ours",
             cluster_id_text(id).c_str(), source.c_str(), cluster_id_text(cluster_id_).c_str());
    return;
  }
  save_cluster_id(opts_.state_dir, id);  // durable before any handshake carries it
  cluster_id_ = id;
  transport_->set_cluster_id(id);
  PW_INFO(kComp, "cluster_id=%s recorded in state_dir=%s (from %s)", cluster_id_text(id).c_str(),
          opts_.state_dir.c_str(), source.c_str());
}

std::string RaftNodeImpl::formation_check(uint64_t peer, uint64_t theirs) const {
  FormationView v;
  v.membership = core_->membership();  // the seed, a joined one, or what the log says
  v.self_id = opts_.self_id;
  v.self_name = self_name_;
  // Entry 1, appended from a leader we admitted but not applied yet, names
  // the cluster we already take part in forming.
  if (const Entry* e = core_->log().entry(1))
    if (auto id = cluster_id_of(*e)) v.own_log_id = *id;
  for (const MemberInfo& m : v.membership.members)
    if (m.id != opts_.self_id) v.announced[m.id] = transport_->peer_cluster_id(m.id);
  return formation_refusal(v, peer, theirs);
}

void RaftNodeImpl::maybe_adopt_leader_cluster_id() {
  // A member that starts empty (new, or its state dir moved aside) may be
  // caught up by a snapshot and never see entry 1: it takes the id of the
  // leader it follows, as that leader announced it in its handshake.
  if (cluster_id_ != 0 || failed_ || stopped_ || soft_.role != Role::follower || soft_.leader == 0)
    return;
  uint64_t id = transport_->peer_cluster_id(soft_.leader);
  if (id == 0) return;
  const Peer* lead = peer(soft_.leader);
  try {
    adopt_cluster_id(id, "leader " + (lead ? lead->name : std::to_string(soft_.leader)));
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

void RaftNodeImpl::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  fail_reason_ = why;
  PW_ERROR(kComp, "node stopping: %s", why.c_str());
  stop();
  if (fatal_handler_) {
    fatal_handler_(why);
  } else if (started_) {
    // A raft member that cannot persist must not keep running: abort so the
    // service manager restarts it (and the operator sees the error above).
    std::abort();
  }
}

}  // namespace

std::unique_ptr<RaftNode> RaftNode::open(event_base* base, const RaftOptions& opts,
                                         StateMachine* sm) {
  return std::make_unique<RaftNodeImpl>(base, opts, sm);
}

}  // namespace pw::consensus
