// node/agent.cc — the agent's loop: ticks, observers of the applied log,
// status gossip, the decider, lease renewal, the route and diagnostics.
// What PostgreSQL should become is in agent_reconcile.cc; operator
// requests are in agent_ops.cc.
#include "node/agent.h"

#include <event2/event.h>
#include <unistd.h>

#include <algorithm>

#include "base/clock.h"
#include "base/log.h"

namespace pw::node {

Agent::Agent(event_base* base, const conf::Config& cfg, ClusterStateMachine* sm, pgctl::Postgres* pg,
             Fencer* fencer, std::function<void(const proxy::Route&)> publish_route)
    : base_(base),
      cfg_(cfg),
      sm_(sm),
      pg_(pg),
      fencer_(fencer),
      publish_route_(std::move(publish_route)),
      lease_params_{cfg.ha_lease_ms, cfg.ha_max_clock_drift, cfg.ha_fence_grace_ms, cfg.ha_fence_margin_ms},
      watch_(lease_params_),
      hold_(lease_params_) {
  own_.name = cfg.node_name;
  own_.nofailover = cfg.tag_nofailover;
  own_.priority = cfg.tag_priority;
  started_at_ = mono_ms();
}

Agent::~Agent() {
  if (tick_ev_) event_free(tick_ev_);
  if (kick_ev_) event_free(kick_ev_);
}

void Agent::attach_observer() {
  sm_->set_observer(&Agent::on_apply, this);
  sm_->set_restore_observer(&Agent::on_restore, this);
}

void Agent::set_raft(consensus::RaftNode* raft) {
  raft_ = raft;
  raft_->set_app_handler([this](uint64_t from, const std::string& d) { on_status_message(from, d); });
  raft_->set_leader_change_handler([this] { kick(); });
}

void Agent::start() {
  pg_->set_exit_handler([this](int status) {
    PW_WARN("agent", "postgres exited status=%d epoch=%llu", status,
            static_cast<unsigned long long>(state().epoch));
    pg_primary_ = false;
    pg_status_.running = false;
    following_.clear();
    fencer_->disarm();
    if (state().primary == cfg_.node_name && pg_down_since_ == 0) pg_down_since_ = mono_ms();
    kick();
  });
  refresh_data_dir();
  tick_ev_ = event_new(base_, -1, EV_PERSIST, &Agent::on_tick, this);
  kick_ev_ = event_new(base_, -1, 0, &Agent::on_kick, this);
  timeval tv{cfg_.ha_loop_interval_ms / 1000, static_cast<suseconds_t>((cfg_.ha_loop_interval_ms % 1000) * 1000)};
  event_add(tick_ev_, &tv);
  tick();
}

void Agent::on_tick(int, short, void* arg) { static_cast<Agent*>(arg)->tick(); }
void Agent::on_kick(int, short, void* arg) {
  auto* a = static_cast<Agent*>(arg);
  a->run_decider();
  a->publish_route();
  a->reconcile();
}
void Agent::kick() {
  if (kick_ev_ && !event_pending(kick_ev_, EV_TIMEOUT, nullptr)) {
    timeval zero{0, 0};
    event_add(kick_ev_, &zero);
  }
}

void Agent::tick() {
  probe();
  if (!busy_ && !pg_status_.running) refresh_data_dir();
  gossip();
  run_decider();
  renew_lease();
  publish_route();
  reconcile();
  Diagnostics from_decider = decider_diags_;
  if (raft_ && !raft_->is_leader()) {
    // Followers show what the decider (the raft leader) reports.
    auto it = peers_.find(member_name(raft_->leader_id()));
    if (it != peers_.end() && mono_ms() - it->second.second < 2000) from_decider = it->second.first.decider_diags;
  }
  update_diagnostics(from_decider);
}

// ---- observers of the applied log -------------------------------------

void Agent::on_apply(void* ctx, uint64_t, const Command& c, const ApplyEffect& e) {
  auto* a = static_cast<Agent*>(ctx);
  const ClusterState& s = a->state();
  int64_t now = mono_ms();
  if (!e.applied) {
    PW_DEBUG("agent", "rejected %s node=%s: %s", cmd_name(c.type), c.node.c_str(), e.why_rejected.c_str());
    return;
  }
  switch (c.type) {
    case CmdType::renew:
      a->watch_.renewal_applied(c.epoch, now);
      if (c.node == a->cfg_.node_name) {
        a->hold_.applied(c.epoch, c.seq);
        if (a->pg_primary_ && a->hold_.holds(c.epoch, now))
          a->fencer_->arm(a->pg_->postmaster_pid(), a->hold_.until_ms());
      }
      return;  // the hot path: nothing else changes
    case CmdType::bootstrap_done:
    case CmdType::adopt:
      // Our bootstrap (if any) is now the cluster or lost for good.
      if (c.node == a->cfg_.node_name) unlink(a->marker_path().c_str());
      break;
    case CmdType::claim:
      a->claim_applied_at_ = now;
      PW_INFO("agent", "bootstrap claimed by %s", c.node.c_str());
      break;
    default:
      break;
  }
  if (e.primary_changed) {
    a->watch_.renewal_applied(s.epoch, now);
    if (s.primary != a->cfg_.node_name) a->hold_.reset();
    PW_INFO("agent", "lock changed epoch=%llu primary=%s reason=\"%s\"",
            static_cast<unsigned long long>(s.epoch), s.primary.empty() ? "-" : s.primary.c_str(),
            s.history.empty() ? "" : s.history.back().reason.c_str());
    // Cut the old route at once and tell the others (I3 acknowledgement).
    a->publish_route();
    a->gossip();
  }
  a->kick();
}

void Agent::on_restore(void* ctx) {
  auto* a = static_cast<Agent*>(ctx);
  int64_t now = mono_ms();
  // A restored snapshot counts as a renewal seen now: always conservative.
  a->watch_.renewal_applied(a->state().epoch, now);
  a->claim_applied_at_ = now;
  a->kick();
}

// ---- status gossip --------------------------------------------------------

void Agent::on_status_message(uint64_t from, const std::string& data) {
  auto st = MemberStatus::decode(data);
  if (!st) {
    PW_WARN("agent", "malformed status message from member id=%llu (ignored)", static_cast<unsigned long long>(from));
    return;
  }
  if (st->name != member_name(from)) {
    PW_WARN("agent", "status names %s but came from member id=%llu (ignored)", st->name.c_str(),
            static_cast<unsigned long long>(from));
    return;
  }
  auto it = peers_.find(st->name);
  if (it != peers_.end() && st->seq != 0 && st->seq <= it->second.first.seq && st->seq + 1000 > it->second.first.seq)
    return;  // reordered duplicate (a restarted sender starts again from a low seq)
  uint64_t old_ack = it == peers_.end() ? 0 : it->second.first.acked_epoch;
  const std::string name = st->name;  // (the assignment below moves *st first)
  auto& slot = peers_[name];
  slot = {std::move(*st), mono_ms()};
  if (slot.first.acked_epoch != old_ack) kick();
}

void Agent::gossip() {
  const ClusterState& s = state();
  own_.seq = ++status_seq_;
  own_.data = data_.kind == pgctl::DataDirInfo::Kind::empty     ? DataKind::empty
              : data_.kind == pgctl::DataDirInfo::Kind::cluster ? DataKind::cluster
                                                                 : DataKind::unusable;
  own_.data_reason = data_.reason;
  own_.system_id = data_.system_id;
  own_.pg_running = pg_status_.running;
  own_.in_recovery = pg_status_.running && pg_status_.in_recovery;
  own_.streaming = pg_status_.running && pg_status_.wal_receiver_streaming;
  own_.upstream = pg_status_.upstream_host;
  if (data_.kind != pgctl::DataDirInfo::Kind::cluster || data_.system_id != tl_system_id_) {
    tl_high_ = 0;
    tl_system_id_ = data_.system_id;
  }
  if (pg_status_.running) {
    // A standby learns its timeline from its WAL receiver; when the primary
    // dies the receiver (and what it said) is gone and only the older
    // checkpoint timeline is left. A data directory's timeline never goes
    // back, so report the highest seen for it.
    tl_high_ = std::max({tl_high_, pg_status_.timeline, data_.timeline});
    own_.timeline = tl_high_;
    own_.lsn = pg_status_.in_recovery ? std::max(pg_status_.receive_lsn, pg_status_.replay_lsn)
                                      : pg_status_.current_lsn;
    // A probe of a server still starting up may report no position yet:
    // fall back to what pg_control says rather than claiming LSN 0.
    if (own_.lsn == 0) own_.lsn = data_.checkpoint_lsn;
    own_.replay_lsn = pg_status_.replay_lsn;
  } else {
    own_.timeline = data_.timeline;
    own_.lsn = data_.checkpoint_lsn;
    own_.replay_lsn = 0;
  }
  own_.acked_epoch = route_epoch_;
  own_.agent_state = agent_state_;
  own_.last_error = last_error_;
  own_.decider_diags = (raft_ && raft_->is_leader()) ? decider_diags_ : Diagnostics{};
  (void)s;
  if (raft_) raft_->broadcast_app(own_.encode());
}

std::map<std::string, SeenStatus> Agent::seen() const {
  std::map<std::string, SeenStatus> out;
  int64_t now = mono_ms();
  int64_t window = std::max<int64_t>(1000, 4 * cfg_.ha_loop_interval_ms);
  for (const auto& [name, p] : peers_) out[name] = {p.first, now - p.second <= window};
  out[cfg_.node_name] = {own_, true};
  return out;
}

// ---- decider (raft leader only) --------------------------------------------

void Agent::run_decider() {
  if (!raft_ || !raft_->is_leader()) {
    decider_diags_.clear();
    return;
  }
  // A new leader may not have applied every entry committed before its term
  // (a lease renewal, say). Deciding on that older view could replace a
  // holder whose renewal is already committed, so the decider waits until a
  // barrier of its own term is applied: everything before it is then applied.
  uint64_t term = raft_->term();
  if (barrier_term_ != term) {
    barrier_term_ = term;
    barrier_index_ = 0;
    Command b;
    b.type = CmdType::barrier;
    b.node = cfg_.node_name;
    raft_->propose(b.encode(), [this, term](const consensus::ProposalResult& r) {
      if (barrier_term_ != term) return;
      if (r.committed) barrier_index_ = r.index;
      else barrier_term_ = 0;  // retry next turn
      kick();
    });
    return;
  }
  if (barrier_index_ == 0 || sm_->last_index() < barrier_index_) return;
  if (decider_inflight_) return;
  const ClusterState& s = state();
  DeciderInput in = decider_input();
  Decision d = decide(in);
  decider_diags_ = d.diagnostics;
  if (!d.propose) return;
  PW_INFO("decider", "proposing %s node=%s epoch=%llu term=%llu reason=\"%s\"", cmd_name(d.propose->type),
          d.propose->node.c_str(), static_cast<unsigned long long>(s.epoch),
          static_cast<unsigned long long>(term), d.propose->reason.c_str());
  decider_inflight_ = true;
  raft_->propose(d.propose->encode(), [this](const consensus::ProposalResult& r) {
    decider_inflight_ = false;
    if (!r.committed) PW_INFO("decider", "proposal dropped: %s", r.error.c_str());
    kick();
  });
}

DeciderInput Agent::decider_input() const {
  // Everything the decider's rules read, from this node's view; the decider
  // itself, switchover target choice and operator checks all start here.
  const ClusterState& s = state();
  int64_t now = mono_ms();
  DeciderInput in;
  in.state = &s;
  for (const auto& m : cfg_.members) in.members.push_back(m.name);
  in.seen = seen();
  in.self = cfg_.node_name;
  in.now_ms = now;
  in.lease_expired = !s.primary.empty() && watch_.expired(s.epoch, now);
  in.claim_age_ms = now - claim_applied_at_;
  in.bootstrap_timeout_ms = cfg_.ha_bootstrap_timeout_ms;
  in.maximum_lag_on_failover = cfg_.ha_maximum_lag_on_failover;
  in.synchronous_mode = cfg_.ha_synchronous_mode;
  in.reinit_when_all_empty = cfg_.bootstrap_reinit_when_all_empty;
  in.wall_ms = wall_ms();
  return in;
}

// ---- lease ---------------------------------------------------------------

void Agent::renew_lease() {
  const ClusterState& s = state();
  if (!raft_ || s.init != InitKind::done || s.primary != cfg_.node_name) return;
  if (fenced_epoch_ == s.epoch || release_proposed_ == s.epoch) return;
  int64_t now = mono_ms();
  int64_t period = std::max<int64_t>(50, cfg_.ha_lease_ms / 4);
  if (now - last_renew_proposed_ < period) return;
  if (renew_inflight_ && now - last_renew_proposed_ < cfg_.ha_lease_ms / 2) return;
  uint64_t seq = ++renew_seq_;
  Command c;
  c.type = CmdType::renew;
  c.node = cfg_.node_name;
  c.epoch = s.epoch;
  c.seq = seq;
  hold_.proposed(s.epoch, seq, now);
  last_renew_proposed_ = now;
  renew_inflight_ = true;
  raft_->propose(c.encode(), [this](const consensus::ProposalResult&) { renew_inflight_ = false; });
}

bool Agent::holds_lease() const {
  // Inside the fence margin the primary is demoting: not a primary for health checks.
  int64_t now = mono_ms();
  uint64_t e = state().epoch;
  return hold_.holds(e, now) && !hold_.must_fence(e, now) && state().primary == cfg_.node_name;
}
int64_t Agent::lease_remaining_ms() const {
  return holds_lease() ? std::max<int64_t>(0, hold_.until_ms() - mono_ms()) : 0;
}
bool Agent::pg_ready_as_primary() const {
  const ClusterState& s = state();
  return holds_lease() && pg_primary_ && s.ready_epoch == s.epoch && !s.switchover;
}

// ---- route (I3) ------------------------------------------------------------

bool Agent::fresh_view(int64_t now) const {
  if (!raft_) return false;
  if (raft_->is_leader()) return true;
  uint64_t leader = raft_->leader_id();
  if (leader == 0) return false;
  int64_t heard = raft_->last_heard_ms(leader);
  return heard > 0 && now - heard < cfg_.ha_lease_ms / 2;
}

void Agent::publish_route() {
  const ClusterState& s = state();
  int64_t now = mono_ms();
  proxy::Route r;
  r.epoch = s.epoch;
  if (!fresh_view(now)) {
    r.unavailable_reason = "no quorum: this node cannot reach the cluster's leader";
  } else if (s.init != InitKind::done) {
    r.unavailable_reason = "the cluster is not bootstrapped yet";
  } else if (s.primary.empty()) {
    r.unavailable_reason = "failover in progress: no primary";
  } else if (s.ready_epoch != s.epoch) {
    r.unavailable_reason = "failover in progress: " + s.primary + " is being promoted";
  } else {
    int64_t heard = raft_->is_leader() ? now : raft_->last_heard_ms(raft_->leader_id());
    r.valid_until_ms = heard + cfg_.ha_lease_ms / 2;
    bool ok = true;
    if (s.primary == cfg_.node_name) {
      ok = hold_.holds(s.epoch, now) && !hold_.must_fence(s.epoch, now);
      r.valid_until_ms = std::min(r.valid_until_ms, hold_.until_ms() - cfg_.ha_fence_margin_ms);
    }
    if (ok) {
      r.has_primary = true;
      r.primary = {member_host(s.primary), cfg_.pg_port, 0};
      if (s.switchover) {
        // Planned switchover: statements in flight finish, new clients wait
        // for the new primary instead of meeting a shutting-down server.
        r.hold_new = true;
        r.unavailable_reason = "switchover in progress";
      }
    } else {
      r.unavailable_reason = "the primary's lease is expiring";
    }
    uint64_t primary_lsn = 0;
    auto all = seen();
    if (auto it = all.find(s.primary); it != all.end()) primary_lsn = it->second.status.lsn;
    for (const auto& [name, st] : all) {
      if (name == s.primary || !st.fresh || !st.status.streaming || st.status.system_id != s.system_id) continue;
      uint64_t lag = primary_lsn > st.status.replay_lsn ? primary_lsn - st.status.replay_lsn : 0;
      r.replicas.push_back({member_host(name), cfg_.pg_port, lag});
    }
  }
  if (publish_route_) publish_route_(r);
  route_epoch_ = s.epoch;
}

// ---- diagnostics -----------------------------------------------------------

void Agent::update_diagnostics(const Diagnostics& decider_diags) {
  Diagnostics d;
  int64_t now = mono_ms();
  if (raft_ && !fresh_view(now) && now - started_at_ > 2 * cfg_.raft_election_timeout_ms) {
    std::string unreachable;
    for (const auto& m : cfg_.members) {
      if (m.name == cfg_.node_name) continue;
      int64_t h = raft_->last_heard_ms(member_id(m.name));
      if (h == 0 || now - h > 2 * cfg_.raft_election_timeout_ms)
        unreachable += (unreachable.empty() ? "" : ", ") + m.name + " (" + m.host + ":" + std::to_string(m.raft_port) + ")";
    }
    d.push_back({"no_quorum",
                 "no quorum: this node cannot reach a majority of the cluster; unreachable: " +
                     (unreachable.empty() ? std::string("none (election in progress)") : unreachable),
                 "start pgwarden on the unreachable members and check that their raft port is open "
                 "between the nodes; this node will not act as primary meanwhile"});
  }
  const ClusterState& s = state();
  if (s.init == InitKind::done && data_.kind == pgctl::DataDirInfo::Kind::cluster && data_.system_id != s.system_id)
    d.push_back({"foreign_data_dir",
                 "the data directory " + cfg_.pg_data_dir + " belongs to another cluster (system id " +
                     std::to_string(data_.system_id) + ", this cluster is " + std::to_string(s.system_id) + ")",
                 "move it away yourself, or set [postgresql] move_aside_foreign_data = on to let pgwarden rename it and clone"});
  if (data_.kind == pgctl::DataDirInfo::Kind::unusable)
    d.push_back({"data_dir_unusable", "the data directory " + cfg_.pg_data_dir + " is unusable: " + data_.reason,
                 "fix it or move it away; pgwarden never deletes it"});
  if (!last_error_.empty() && (agent_state_.find("clon") != std::string::npos || agent_state_.find("rewind") != std::string::npos))
    d.push_back({"clone_failing", "cloning this member fails: " + last_error_,
                 "check that the primary is reachable on its PostgreSQL port and the replication password file matches"});
  for (const auto& x : decider_diags) d.push_back(x);
  std::string key;
  for (const auto& x : d) key += x.code + "|" + x.message + "\n";
  if (key != diag_key_) {
    for (const auto& x : d)
      if (diag_key_.find(x.code + "|" + x.message) == std::string::npos)
        PW_WARN("diag", "%s: %s — %s", x.code.c_str(), x.message.c_str(), x.action.c_str());
    if (d.empty() && !diag_key_.empty()) PW_INFO("diag", "all clear");
    diag_key_ = key;
  }
  diags_ = std::move(d);
}

// ---- small helpers ---------------------------------------------------------

void Agent::set_agent_state(const std::string& st) {
  if (st == agent_state_) return;
  PW_INFO("agent", "state %s -> %s epoch=%llu", agent_state_.c_str(), st.c_str(),
          static_cast<unsigned long long>(state().epoch));
  agent_state_ = st;
}

void Agent::set_error(const std::string& e) {
  if (e != last_error_ && !e.empty()) PW_ERROR("agent", "%s epoch=%llu", e.c_str(), static_cast<unsigned long long>(state().epoch));
  last_error_ = e;
}

std::string Agent::member_host(const std::string& name) const {
  for (const auto& m : cfg_.members)
    if (m.name == name) return m.host;
  return {};
}
pgctl::Upstream Agent::upstream_of(const std::string& name) const { return {member_host(name), cfg_.pg_port}; }
std::vector<std::string> Agent::other_members() const {
  std::vector<std::string> v;
  for (const auto& m : cfg_.members)
    if (m.name != cfg_.node_name) v.push_back(m.name);
  return v;
}
uint64_t Agent::member_id(const std::string& name) const {
  for (size_t i = 0; i < cfg_.members.size(); ++i)
    if (cfg_.members[i].name == name) return i + 1;
  return 0;
}
std::string Agent::member_name(uint64_t id) const {
  return id >= 1 && id <= cfg_.members.size() ? cfg_.members[id - 1].name : std::string();
}

bool Agent::all_acked(uint64_t epoch, int64_t now) const {
  // I3: every member has cut the old primary (acknowledged `epoch`) or has
  // been silent longer than its own route can stay valid.
  for (const auto& m : other_members()) {
    auto it = peers_.find(m);
    int64_t last = it == peers_.end() ? started_at_ : it->second.second;
    if (it != peers_.end() && it->second.first.acked_epoch >= epoch) continue;
    if (now - last > cfg_.ha_lease_ms / 2 + cfg_.ha_loop_interval_ms) continue;
    return false;
  }
  return true;
}

void Agent::propose(Command c, std::function<void(bool)> then) {
  c.wall_ms = wall_ms();
  if (!raft_) {
    if (then) then(false);
    return;
  }
  std::string what = cmd_name(c.type);
  raft_->propose(c.encode(), [this, what, then](const consensus::ProposalResult& r) {
    if (!r.committed) PW_INFO("agent", "proposal %s dropped: %s", what.c_str(), r.error.c_str());
    if (then) then(r.committed);
    kick();
  });
}

}  // namespace pw::node
