// tests/sim/sim_ha_world.cc — see sim_ha_world.h.
#include "sim_ha_world.h"

#include <algorithm>

#include "base/log.h"
#include "ha/cluster_state.h"

namespace pw::sim {

using pgctl::Result;

namespace {
constexpr int64_t kWallOrigin = 1'700'000'000'000;

std::vector<std::string> parse_sync_names(const std::string& v, size_t* k) {
  // ANY k ("a","b") — the only form the agent writes.
  *k = v.rfind("ANY ", 0) == 0 ? std::stoul(v.substr(4)) : 0;
  std::vector<std::string> out;
  size_t p = 0;
  while ((p = v.find('"', p)) != std::string::npos) {
    size_t q = v.find('"', p + 1);
    if (q == std::string::npos) break;
    out.push_back(v.substr(p + 1, q - p - 1));
    p = q + 1;
  }
  return out;
}

bool is_prefix(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}
}  // namespace

// ---- SimPostgres -----------------------------------------------------------

SimDisk& SimPostgres::disk() { return w_.node(node_).disk; }

uint64_t SimPostgres::lsn() const { return 1000 + 100 * w_.node(node_).disk.wal.size(); }

void SimPostgres::later(int64_t ms, std::function<void()> fn) { w_.later(node_, ms, std::move(fn)); }

void SimPostgres::kill(const char*) {
  if (starting_) {
    // Killed during startup: the start fails (pgctl reports the exit to the
    // start, not to the exit handler).
    starting_ = false;
    disk().unclean = true;
    pgctl::Done cb = std::move(start_cb_);
    later(0, [cb] { cb(Result::failure("postgres exited during startup: killed")); });
    return;
  }
  if (!running_) return;
  running_ = false;
  streaming_ = false;
  disk().unclean = true;
  if (promote_at_ >= 0) {
    promote_at_ = -1;
    pgctl::Done cb = std::move(promote_cb_);
    later(0, [cb] { cb(Result::failure("promote: server closed the connection")); });
  }
  // The agent learns it from SIGCHLD, when its process runs.
  later(0, [this] {
    if (exit_handler_) exit_handler_(9);
  });
}

void SimPostgres::background(int64_t now_ms) {
  if (starting_ && now_ms >= ready_at_) {
    starting_ = false;
    SimDisk& k = disk();
    running_ = true;
    streaming_ = false;
    k.unclean = false;
    if (start_role_ == pgctl::Role::primary) {
      if (k.was_standby) {  // starts as a standby and promotes
        ++k.timeline;
        w_.timeline_opened(node_, k.timeline);
      }
      k.was_standby = false;
      standby_ = false;
      upstream_.clear();
      become_writable();
    } else {
      standby_ = true;
      k.was_standby = true;
      upstream_ = start_upstream_;
    }
    pgctl::Done cb = std::move(start_cb_);
    later(0, [cb] { cb(Result::success()); });  // the agent hears of it when it runs
  }
  if (promote_at_ >= 0 && now_ms >= promote_at_) {
    promote_at_ = -1;
    pgctl::Done cb = std::move(promote_cb_);
    if (running_ && standby_) {
      standby_ = false;
      streaming_ = false;
      upstream_.clear();
      // PostgreSQL's choice (own + 1, as if no newer history file were
      // known), raised by the placeholders to the floor.
      disk().timeline = std::max(disk().timeline + 1, promote_min_);
      disk().was_standby = false;
      w_.timeline_opened(node_, disk().timeline);
      become_writable();
    }
    Result r = running_ ? Result::success() : Result::failure("promote: not running");
    if (r.ok) {
      r.timeline = disk().timeline;
      if (r.timeline < promote_min_) r = Result::failure("promote: below the timeline floor");
    }
    later(0, [cb, r] { cb(r); });
  }
}

void SimPostgres::become_writable() {}

SimPostgres* SimPostgres::source(const pgctl::Upstream& u, std::string* why) {
  SimNode* n = w_.by_host(u.host);
  if (!n || !n->proc) {
    *why = "could not connect to " + u.host;
    return nullptr;
  }
  if (w_.cluster().is_cut(n->id, node_) || w_.cluster().is_cut(node_, n->id)) {
    *why = "connection to " + u.host + " timed out";
    return nullptr;
  }
  if (!n->proc->pg.primary()) {
    *why = u.host + " is not a running primary";
    return nullptr;
  }
  return &n->proc->pg;
}

void SimPostgres::replicate_all() { replicate(true); }

void SimPostgres::replicate(bool all, size_t max_records) {
  if (!standby() || upstream_.empty()) {
    streaming_ = false;
    return;
  }
  std::string why;
  SimPostgres* src = source({upstream_, 0}, &why);
  SimDisk& me = disk();
  if (!src || src->disk().system_id != me.system_id || !is_prefix(me.wal, src->disk().wal)) {
    streaming_ = false;
    return;
  }
  const auto& from = src->disk().wal;
  size_t n = std::min(from.size(), me.wal.size() + (all ? from.size() : max_records));  // a little lag
  me.wal.assign(from.begin(), from.begin() + static_cast<long>(n));
  me.timeline = src->disk().timeline;
  streaming_ = true;
}

pgctl::DataDirInfo SimPostgres::inspect() {
  pgctl::DataDirInfo d;
  const SimDisk& k = disk();
  if (!k.has_data) return d;
  d.kind = pgctl::DataDirInfo::Kind::cluster;
  d.system_id = k.system_id;
  d.timeline = k.timeline;
  // The checkpoint record starts before the end of the WAL (a standby that
  // replayed it is past checkpoint_lsn, as the switchover expects).
  d.checkpoint_lsn = lsn() - 50;
  d.was_standby = k.was_standby;
  d.clean_shutdown = !running_;
  d.major_version = 15;
  return d;
}

void SimPostgres::initdb(pgctl::Done cb) {
  later(50, [this, cb] {
    SimDisk& k = disk();
    if (k.has_data || running_) return cb(Result::failure("initdb: data directory not empty"));
    k.has_data = true;
    k.system_id = w_.next_system_id();
    k.timeline = 1;
    k.was_standby = false;
    k.wal.clear();
    cb(Result::success());
  });
}

void SimPostgres::start(pgctl::Role role, const pgctl::Upstream& upstream, pgctl::Done cb) {
  // Like pgctl: refused at once, or the postmaster is forked before start()
  // returns (its pid known) and the start is reported once it accepts
  // connections — after crash recovery when the last stop was unclean.
  if (running_ || starting_) return later(0, [cb] { cb(Result::failure("start: PostgreSQL is already running")); });
  if (!disk().has_data) return later(0, [cb] { cb(Result::failure("cannot start PostgreSQL: no data directory")); });
  starting_ = true;
  pid_ = w_.next_pid();
  start_role_ = role;
  start_upstream_ = upstream.host;
  start_cb_ = std::move(cb);
  int64_t recovery = disk().unclean ? w_.cluster().rng().range(30, 3 * w_.node(node_).cfg.ha_lease_ms) : 30;
  ready_at_ = w_.clock_ms(node_) + recovery;
}

void SimPostgres::stop(pgctl::StopMode mode, pgctl::Done cb) {
  later(20, [this, mode, cb] {
    if (starting_) {  // stopped during startup: the start fails
      starting_ = false;
      disk().unclean = true;
      pgctl::Done scb = std::move(start_cb_);
      later(0, [scb] { scb(Result::failure("postgres stopped during startup")); });
    }
    if (running_ && mode == pgctl::StopMode::immediate) disk().unclean = true;
    if (running_ && !standby_ && mode == pgctl::StopMode::fast) {
      // A clean shutdown writes a checkpoint record, and the walsenders
      // send everything to the streaming standbys before the server exits.
      disk().wal.push_back(0);
      std::string self_host = w_.node(node_).cfg.self().host;
      for (auto& [id, n] : w_.nodes())
        if (n.proc && id != node_ && n.proc->pg.streaming() && n.proc->pg.upstream() == self_host) n.proc->pg.replicate_all();
    }
    running_ = false;
    streaming_ = false;
    cb(Result::success());
  });
}

void SimPostgres::promote(uint32_t min_timeline, pgctl::Done cb) {
  // pg_promote: the server promotes itself (end of recovery, new timeline);
  // the agent only waits for the answer.
  if (!running_) return later(0, [cb] { cb(Result::failure("promote: not running")); });
  if (promote_at_ >= 0) return later(0, [cb] { cb(Result::failure("promote: already in progress")); });
  if (!standby_) return later(0, [cb] { cb(Result::success()); });
  promote_cb_ = std::move(cb);
  promote_min_ = min_timeline;
  promote_at_ = w_.clock_ms(node_) + 30;
}

void SimPostgres::follow(const pgctl::Upstream& upstream, pgctl::Done cb) {
  later(10, [this, upstream, cb] {
    upstream_ = upstream.host;
    if (running_ && !standby_) {  // a running primary is demoted
      standby_ = true;
      disk().was_standby = true;
    }
    streaming_ = false;
    cb(Result::success());
  });
}

void SimPostgres::basebackup(const pgctl::Upstream& upstream, pgctl::Done cb) {
  later(100, [this, upstream, cb] {
    if (running_) return cb(Result::failure("basebackup: PostgreSQL is running"));
    std::string why;
    SimPostgres* src = source(upstream, &why);
    if (!src) return cb(Result::failure("pg_basebackup: " + why));
    SimDisk& k = disk();
    const SimDisk& s = src->disk();
    k.has_data = true;
    k.system_id = s.system_id;
    k.timeline = s.timeline;
    k.wal = s.wal;
    k.was_standby = true;
    cb(Result::success());
  });
}

void SimPostgres::rewind(const pgctl::Upstream& upstream, pgctl::Done cb) {
  later(80, [this, upstream, cb] {
    if (running_) return cb(Result::failure("pg_rewind: PostgreSQL is running"));
    std::string why;
    SimPostgres* src = source(upstream, &why);
    if (!src) return cb(Result::failure_untouched("pg_rewind: " + why));
    SimDisk& k = disk();
    if (!k.has_data || k.system_id != src->disk().system_id) {
      std::string p;
      move_aside(&p);
      return cb(Result::failure("pg_rewind: source and target clusters are from different systems"));
    }
    k.wal = src->disk().wal;
    k.timeline = src->disk().timeline;
    k.was_standby = true;
    cb(Result::success());
  });
}

Result SimPostgres::move_aside(std::string* new_path) {
  if (running_) return Result::failure("move aside: PostgreSQL is running");
  SimDisk& k = disk();
  if (k.has_data) {
    k.has_data = false;
    k.wal.clear();
    k.system_id = 0;
    k.timeline = 0;
    k.was_standby = false;
    ++k.moved_aside;
  }
  if (new_path) *new_path = "data.moved-" + std::to_string(k.moved_aside);
  return Result::success();
}

void SimPostgres::demote(const pgctl::Upstream& upstream, pgctl::Done cb) {
  stop(pgctl::StopMode::fast, [this, upstream, cb](const Result&) { start(pgctl::Role::standby, upstream, cb); });
}

void SimPostgres::ensure_replication_role(pgctl::Done cb) {
  later(5, [this, cb] { cb(primary() ? Result::success() : Result::failure("replication role: not a primary")); });
}

void SimPostgres::ensure_superuser_password(pgctl::Done cb) {
  later(2, [this, cb] { cb(primary() ? Result::success() : Result::failure("superuser password: not a primary")); });
}

void SimPostgres::sync_slots(const std::vector<std::string>&, pgctl::Done cb) {
  later(5, [this, cb] { cb(primary() ? Result::success() : Result::failure("slots: not a primary")); });
}

void SimPostgres::set_synchronous_standby_names(const std::string& value, pgctl::Done cb) {
  later(5, [this, value, cb] {
    sync_names_ = parse_sync_names(value, &sync_k_);
    cb(Result::success());
  });
}

void SimPostgres::probe(std::function<void(const pgctl::Status&)> cb) {
  later(2, [this, cb] {
    pgctl::Status st;
    st.running = running_;
    if (running_) {
      st.in_recovery = standby_;
      st.timeline = disk().timeline;
      if (standby_) {
        st.receive_lsn = st.replay_lsn = lsn();
        st.wal_receiver_streaming = streaming_;
        st.upstream_host = upstream_;
      } else {
        st.current_lsn = lsn();
        std::string self_host = w_.node(node_).cfg.self().host;
        for (auto& [id, n] : w_.nodes()) {
          if (id == node_ || !n.proc) continue;
          const SimPostgres& o = n.proc->pg;
          if (o.standby() && o.streaming() && o.upstream() == self_host)
            st.standbys.push_back({n.name, "", "streaming", "", o.lsn(), 0});
        }
      }
    } else {
      st.error = "not running";
    }
    cb(st);
  });
}

// ---- SimRaft ---------------------------------------------------------------

void SimRaft::propose(const std::string& data, consensus::ProposalCallback cb) {
  if (w_.breakage().failover) {
    auto c = node::Command::decode(data);
    if (c && c->type == node::CmdType::set_primary && c->reason.rfind("failover:", 0) == 0) {
      w_.later(node_, 0, [cb] { cb({false, 0, "sim --break-failover: failovers are dropped", false}); });
      return;
    }
  }
  submit([&] { return w_.cluster().propose(node_, data); }, std::move(cb));
}

void SimRaft::submit(const std::function<uint64_t()>& propose, consensus::ProposalCallback cb) {
  if (!w_.cluster().up(node_)) {
    w_.later(node_, 0, [cb] { cb({false, 0, "node down", false}); });
    return;
  }
  uint64_t id = propose();
  cbs_[id] = std::move(cb);
  // The fate may have come while the cluster handled the proposal.
  auto early = early_.find(id);
  if (early != early_.end()) {
    consensus::ProposalFate f = early->second;
    early_.erase(early);
    fate(f);
  }
}

void SimRaft::fate(const consensus::ProposalFate& f) {
  auto it = cbs_.find(f.id);
  if (it == cbs_.end()) {
    early_[f.id] = f;
    return;
  }
  consensus::ProposalCallback cb = std::move(it->second);
  cbs_.erase(it);
  using O = consensus::ProposalFate::Outcome;
  if (f.outcome == O::committed) {
    ready_.push_back({{true, f.index, "", false}, std::move(cb)});
    return;
  }
  consensus::ProposalResult r{false, 0, f.reason, f.outcome == O::unknown};
  w_.later(node_, 0, [cb, r] { cb(r); });
}

void SimRaft::deliver_fates() {
  if (ready_.empty() || !w_.cluster().up(node_)) return;
  uint64_t applied = w_.node(node_).sm ? w_.node(node_).sm->last_index() : 0;
  std::vector<std::pair<consensus::ProposalResult, consensus::ProposalCallback>> now;
  for (auto it = ready_.begin(); it != ready_.end();) {
    if (it->first.index <= applied) {
      now.push_back(std::move(*it));
      it = ready_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [r, cb] : now) cb(r);
}

void SimRaft::transfer_leadership(uint64_t to_id) { w_.cluster().transfer_leadership(node_, to_id); }
void SimRaft::set_election_priority(consensus::ElectionPriority p) {
  if (consensus::Core* c = w_.cluster().core(node_)) c->set_election_priority(p);
}

void SimRaft::broadcast_app(const std::string& data) {
  for (auto& [id, n] : w_.nodes())
    if (id != node_) w_.cluster().send_app(node_, id, data);
}
void SimRaft::send_app(uint64_t to_id, const std::string& data) { w_.cluster().send_app(node_, to_id, data); }

void SimRaft::app_message(uint64_t from, const std::string& data) {
  heard_[from] = w_.clock_ms(node_);
  if (app_) app_(from, data);
}

bool SimRaft::is_leader() const {
  return w_.cluster().up(node_) && w_.cluster().core(node_)->role() == consensus::Role::leader;
}
uint64_t SimRaft::leader_id() const { return w_.cluster().up(node_) ? w_.cluster().core(node_)->leader() : 0; }
uint64_t SimRaft::term() const { return w_.cluster().up(node_) ? w_.cluster().core(node_)->term() : 0; }
uint64_t SimRaft::commit_index() const { return w_.cluster().up(node_) ? w_.cluster().core(node_)->commit() : 0; }
uint64_t SimRaft::applied_index() const { return w_.cluster().up(node_) ? w_.cluster().core(node_)->applied() : 0; }
int64_t SimRaft::last_heard_ms(uint64_t id) const {
  auto it = heard_.find(id);
  return it == heard_.end() ? 0 : it->second;
}
consensus::Membership SimRaft::membership() const {
  if (w_.cluster().up(node_)) last_membership_ = w_.cluster().core(node_)->committed_membership();
  return last_membership_;
}

consensus::Membership SimRaft::membership_in_force() const {
  return w_.cluster().up(node_) ? w_.cluster().core(node_)->membership() : last_membership_;
}

void SimRaft::propose_membership(const consensus::Membership& to, consensus::ProposalCallback cb) {
  submit([&] { return w_.cluster().propose_config(node_, to); }, std::move(cb));
}

int64_t SimRaft::leader_contact_ms() const {
  if (!w_.cluster().up(node_)) return 0;
  int64_t age = w_.cluster().core(node_)->leader_contact_age_ticks();
  if (age < 0) return 0;
  int64_t tick_ms = w_.cluster().options().tick_us / 1000;
  // Ticks run on the node's clock: the contact is at least `age` ticks old
  // and at most one more (conservative, as RaftNodeImpl does).
  return std::max<int64_t>(1, w_.clock_ms(node_) - (age + 1) * tick_ms);
}

// ---- SimAgentWorld ---------------------------------------------------------

int64_t SimAgentWorld::mono_ms() const { return w_.clock_ms(node_); }
int64_t SimAgentWorld::wall_ms() const { return kWallOrigin + w_.cluster().now_us() / 1000; }

void SimAgentWorld::wake(int64_t delay_ms) {
  SimProcess* p = w_.node(node_).proc.get();
  if (!p) return;
  if (delay_ms <= 0) {
    p->kick_pending = true;
    return;
  }
  int64_t at = mono_ms() + delay_ms;
  if (p->kick_at < 0 || at < p->kick_at) p->kick_at = at;
}

void SimAgentWorld::publish_route(const proxy::Route& r) {
  SimProcess* p = w_.node(node_).proc.get();
  if (!p) return;
  // --break-route: a proxy that never withdraws a route (keeps the last
  // usable one for a lease past its validity), the mistake I3 guards against.
  if (w_.breakage().route && !r.has_primary && p->route.has_primary) {
    p->route.valid_until_ms = std::max(p->route.valid_until_ms, mono_ms() + w_.node(node_).cfg.ha_lease_ms);
    return;
  }
  p->route = r;
}

std::optional<uint64_t> SimAgentWorld::read_marker() const { return w_.node(node_).disk.marker; }
void SimAgentWorld::write_marker(uint64_t system_id) { w_.node(node_).disk.marker = system_id; }
void SimAgentWorld::remove_marker() { w_.node(node_).disk.marker.reset(); }

// ---- SimProcess / HaWorld --------------------------------------------------

SimProcess::SimProcess(HaWorld& w, uint64_t node, const conf::Config& cfg, node::ClusterStateMachine& sm)
    : world(w, node), raft(w, node), pg(w, node), agent(cfg, world, sm, pg, fencer) {}

HaWorld::HaWorld(int n, bool sync_mode, Breakage b, bool dr_member, int sync_count, bool strict)
    : sync_mode_(sync_mode), break_(b) {
  for (int i = 1; i <= n; ++i) {
    SimNode& sn = nodes_[i];
    sn.id = i;
    sn.name = "n" + std::to_string(i);
  }
  for (auto& [id, sn] : nodes_) {
    conf::Config& c = sn.cfg;
    c.node_name = sn.name;
    c.state_dir = "/nonexistent/sim/" + sn.name;
    c.cluster_name = "sim";
    for (auto& [j, o] : nodes_) c.members.push_back({o.name, "10.0.0." + std::to_string(j), 5010});
    // The production defaults scaled by 1/10 (raft tick 10 ms, election
    // 50-100 ms): lease 300 ms, loop 30 ms, fence margin 100 ms.
    c.raft_tick_ms = 10;
    c.raft_election_timeout_ms = 50;
    c.raft_heartbeat_interval_ms = 10;
    c.ha_lease_ms = 300;
    // --break-lease: even members believe the lease is half as long, so as
    // deciders they replace a holder while it still holds it.
    if (b.lease && id % 2 == 0) c.ha_lease_ms = 150;
    c.ha_max_clock_drift = 0.05;
    c.ha_fence_grace_ms = 30;
    c.ha_fence_margin_ms = 100;
    c.ha_loop_interval_ms = 30;
    c.ha_bootstrap_timeout_ms = 1500;
    c.ha_synchronous_mode = sync_mode;
    c.ha_synchronous_node_count = sync_count;
    c.ha_synchronous_mode_strict = strict;
    c.ha_maximum_lag_on_failover = 1 << 20;
    c.tag_nofailover = dr_member && id == static_cast<uint64_t>(n);
  }
}

SimNode* HaWorld::by_host(const std::string& host) {
  for (auto& [id, n] : nodes_)
    if (n.cfg.self().host == host) return &n;
  return nullptr;
}

std::unique_ptr<consensus::StateMachine> HaWorld::make_state_machine(uint64_t id) {
  SimNode& n = nodes_.at(id);
  auto sm = std::make_unique<node::ClusterStateMachine>();
  n.sm = sm.get();
  if (c_) make_process(id);  // else attach() does, once the cluster exists
  return sm;
}

void HaWorld::make_process(uint64_t id) {
  SimNode& n = nodes_.at(id);
  n.proc = std::make_unique<SimProcess>(*this, id, n.cfg, *n.sm);
  ++n.incarnation;
  n.proc->agent.attach_observer();
  n.proc->agent.set_raft(&n.proc->raft);
}

void HaWorld::attach(SimCluster* c) {
  c_ = c;
  for (auto& [id, n] : nodes_)
    if (n.sm && !n.proc) make_process(id);
}

void HaWorld::crashed(uint64_t id) {
  SimNode& n = nodes_.at(id);
  if (n.proc && (n.proc->pg.running() || n.proc->pg.starting())) n.disk.unclean = true;
  // The process is gone, and PostgreSQL with it (PDEATHSIG); the disk stays.
  n.proc.reset();
  n.sm = nullptr;
}

void HaWorld::restarted(uint64_t) {}

void HaWorld::lose(uint64_t id) {
  SimNode& n = nodes_.at(id);
  n.disk = SimDisk{};
  n.lost = true;
  if (break_.sync_rule)
    for (auto& [oid, o] : nodes_)
      if (!o.lost) o.cfg.ha_synchronous_mode = false;  // the agents hold a reference to it
}

void HaWorld::later(uint64_t id, int64_t ms, std::function<void()> fn) {
  SimProcess* p = nodes_.at(id).proc.get();
  if (!p) return;
  p->timers.push_back({clock_ms(id) + ms, std::move(fn)});
}

void HaWorld::on_tick(uint64_t id) {
  SimNode& n = nodes_.at(id);
  if (!n.proc) return;
  if (verbose_) log_set_node(n.name);
  int64_t now = clock_ms(id);
  if (!n.proc->started) {
    n.proc->started = true;
    n.proc->next_tick = now + n.cfg.ha_loop_interval_ms;
    n.proc->agent.start();
    return;
  }
  for (int guard = 0; guard < 1000 && n.proc; ++guard) {
    auto& t = n.proc->timers;
    auto it = std::min_element(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it == t.end() || it->first > now) break;
    auto fn = std::move(it->second);
    t.erase(it);
    fn();
  }
  if (n.proc && now >= n.proc->next_tick) {
    n.proc->next_tick = now + n.cfg.ha_loop_interval_ms;
    n.proc->agent.tick();
  }
}

void HaWorld::after_event(uint64_t id) {
  SimNode& n = nodes_.at(id);
  if (!n.proc || !n.proc->started || c_->paused(id)) return;
  if (verbose_) log_set_node(n.name);
  n.proc->raft.deliver_fates();
  for (int guard = 0; guard < 20 && n.proc; ++guard) {
    SimProcess& p = *n.proc;
    bool due = p.kick_pending || (p.kick_at >= 0 && clock_ms(id) >= p.kick_at);
    if (!due) break;
    p.kick_pending = false;
    if (p.kick_at >= 0 && clock_ms(id) >= p.kick_at) p.kick_at = -1;
    p.agent.kick_now();
  }
}

void HaWorld::fencers() {
  for (auto& [id, n] : nodes_) {
    if (!n.proc) continue;
    SimProcess& p = *n.proc;
    p.pg.background(clock_ms(id));
    // The fencer: its own process, alive while the agent is paused.
    if (!break_.fencer && p.fencer.pid != 0 && p.fencer.pid == p.pg.postmaster_pid() &&
        clock_ms(id) >= p.fencer.deadline_ms) {
      p.pg.kill("fencer");
      p.fencer.pid = 0;
    }
  }
}

void HaWorld::background_step() {
  // Each standby at its own pace: the synchronous set's members (and the
  // k-th of them) are not all equally advanced, and now and then one slows
  // to a crawl for a while (a busy disk), so a new synchronous standby's
  // catch-up — the window where C is wider than S — takes time.
  for (auto& [id, n] : nodes_) {
    if (!n.proc) continue;
    if (c_->rng().chance(0.002)) n.slow = !n.slow;
    n.proc->pg.replicate(false, n.slow ? c_->rng().below(5) == 0 : c_->rng().below(9));
  }
  settle_sync_writes();
}

void HaWorld::client_write(uint64_t via) {
  SimNode& n = nodes_.at(via);
  if (!n.proc || c_->paused(via)) return;
  const proxy::Route& r = n.proc->route;
  if (!r.has_primary || r.hold_new || clock_ms(via) >= r.valid_until_ms) return;
  SimNode* t = by_host(r.primary.host);
  if (!t || !t->proc || !t->proc->pg.primary()) return;
  if (t->id != via && (c_->is_cut(via, t->id) || c_->is_cut(t->id, via))) return;
  uint64_t w = next_write_id();
  t->disk.wal.push_back(w);
  if (sync_mode_ && !break_.sync && !(break_.after_override && overridden_) && !t->proc->pg.sync_names().empty()) {
    pending_.push_back({t->id, w});
    return;
  }
  acknowledge(t->id, w);
}

void HaWorld::acknowledge(uint64_t, uint64_t id) {
  acked_.insert(id);
  if (overridden_) acked_after_override_.insert(id);
  ++acks_total_;
}

void HaWorld::settle_sync_writes() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    SimNode& p = nodes_.at(it->first);
    bool gone = !p.proc || !p.proc->pg.primary() ||
                std::find(p.disk.wal.begin(), p.disk.wal.end(), it->second) == p.disk.wal.end();
    if (gone) {  // the client saw an error or no answer: not acknowledged
      it = pending_.erase(it);
      continue;
    }
    // ANY k: k of the named standbys streaming from it have the write.
    size_t have = 0;
    for (const auto& name : p.proc->pg.sync_names()) {
      for (auto& [id, s] : nodes_) {
        if (s.name != name || !s.proc || !s.proc->pg.streaming() ||
            s.proc->pg.upstream() != p.cfg.self().host)
          continue;
        const auto& wal = s.disk.wal;
        if (std::find(wal.begin(), wal.end(), it->second) != wal.end()) ++have;
      }
    }
    bool acked = have >= std::max<size_t>(1, p.proc->pg.sync_k());
    if (acked) {
      acknowledge(it->first, it->second);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

uint64_t HaWorld::accept_loss(uint64_t id) {
  const auto& wal = nodes_.at(id).disk.wal;
  std::set<uint64_t> have(wal.begin(), wal.end()), kept;
  for (uint64_t a : acked_)
    if (have.count(a)) kept.insert(a);
  uint64_t n = acked_.size() - kept.size();
  acked_.swap(kept);
  forgiven_ += n;
  overridden_ = true;
  // pending_ stays: a write still waiting for its standby is acknowledged
  // after the override, if ever, and is then promised (see the header).
  return n;
}

uint32_t HaWorld::newest_timeline(uint64_t system_id) const {
  uint32_t tl = 0;
  for (const auto& [key, who] : timelines_)
    if (key.first == system_id) tl = std::max(tl, key.second);
  return tl;
}

void HaWorld::timeline_opened(uint64_t id, uint32_t timeline) {
  const SimNode& n = nodes_.at(id);
  std::string who = n.name + " (forked after " + std::to_string(n.disk.wal.size()) + " WAL records)";
  auto [it, fresh] = timelines_.emplace(std::make_pair(n.disk.system_id, timeline), who);
  if (!fresh)
    throw SimViolation("timeline " + std::to_string(timeline) + " opened twice: by " + it->second + " and by " + who);
}

void HaWorld::check_holds_acked(uint64_t id) {
  SimNode& n = nodes_.at(id);
  std::set<uint64_t> have(n.disk.wal.begin(), n.disk.wal.end());
  uint64_t missing = 0, example = 0;
  for (uint64_t a : acked_)
    if (!have.count(a)) {
      ++missing;
      example = a;
    }
  if (missing == 0) return;
  if (sync_mode_)
    throw SimViolation("I4: " + n.name + " became writable without " + std::to_string(missing) +
                       " acknowledged write(s), e.g. id " + std::to_string(example) + " (synchronous mode" +
                       (acked_after_override_.count(example) ? ", acknowledged after an operator's override" : "") +
                       ")");
  lost_async_ += missing;
  std::set<uint64_t> kept;  // each loss is counted once
  for (uint64_t a : acked_)
    if (have.count(a)) kept.insert(a);
  acked_.swap(kept);
}

}  // namespace pw::sim
