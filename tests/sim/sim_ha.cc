// tests/sim/sim_ha.cc — the HA layer (cluster state, decider, lease) on top
// of the deterministic Raft simulation (sim_cluster.h), with the production
// classes: ClusterStateMachine, decide(), LeaseWatch, LeaseHold. Each node
// runs a small agent model on its own drifting clock: it gossips its status,
// decides when it is the raft leader (after a barrier of its term, as
// node/agent.cc does), renews the lease when it holds the lock, "promotes"
// only while it holds the lease and fences when it does not.
//
// Faults: loss, duplication, reordering, symmetric/asymmetric partitions,
// leader isolation, crashes with restart from the simulated disk, paused
// nodes (SIGSTOP: no tick, no message handling, the clock keeps running),
// clock drift up to the configured bound.
//
// Checked after every event:
//   I1  at most one node holds an unexpired lease (each on its own clock);
//   I5  the cluster is bootstrapped once: every replica that applied
//       bootstrap_done agrees on the node and system id, never twice;
//   epochs never go backwards on a replica, and every epoch has one holder
//   on every replica (epoch -> primary is a function).
// Liveness: once faults heal, a primary holding the lease is writable
// within a bounded time.
//
//   sim_ha                       PW_SIM_HA_SEEDS seeds (default 2000), 3 and 5 nodes
//   sim_ha --seed S --nodes N    replay one seed exactly
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/log.h"
#include "node/cluster_state.h"
#include "node/decider.h"
#include "node/lease.h"
#include "node/member_status.h"
#include "sim_cluster.h"

using namespace pw;
using namespace pw::node;
using pw::sim::SimCluster;

namespace {

constexpr int64_t kLeaseMs = 300;  // election timeout is 100-200 ms: same ratio as 3 s vs 1 s
constexpr int kLoopTicks = 3;      // agent loop every 30 ms (250 ms in production)

struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --break-lease (a self-test of the checker): the decider waits only half
// the lease before replacing a holder. I1 must then be reported violated.
bool g_break_lease = false;

struct AgentModel {
  uint64_t id = 0;
  std::string name;
  ClusterStateMachine* sm = nullptr;
  LeaseParams params{kLeaseMs, 0.05, 30, 100};
  LeaseWatch watch{g_break_lease ? LeaseParams{kLeaseMs / 2, 0.0, 0, 100} : params};
  LeaseHold hold{params};
  uint64_t renew_seq = 0;
  int64_t last_renew = -1000000;
  uint64_t barrier_term = 0, barrier_prop = 0, barrier_index = 0;
  uint64_t decider_prop = 0;
  int64_t claim_applied_at = 0;
  int64_t bootstrap_started = -1;
  int64_t bootstrap_sent_at = -1000;
  bool writable = false;  // the modelled PostgreSQL accepts writes
  bool has_data = false;
  uint64_t system_id = 0;
  uint64_t lsn = 0;
  uint64_t ready_sent = 0;
  int64_t ready_sent_at = 0;
  bool paused = false;
  std::map<std::string, std::pair<MemberStatus, int64_t>> peers;
  uint64_t status_seq = 0;
  uint64_t max_epoch_seen = 0;
  int ticks = 0;
  std::string last_diag;
};

class HaSim : public sim::SimObserver {
 public:
  HaSim(int n, uint64_t seed, bool verbose) : verbose_(verbose) {
    sim::ClusterOptions o;
    o.nodes = n;
    o.seed = seed;
    o.max_drift = 0.02;  // rates within ±2%: pairwise ratio within the 5% the lease assumes
    o.compact_every = 40;
    for (int i = 1; i <= n; ++i) {
      models_[i].id = i;
      models_[i].name = "n" + std::to_string(i);
      names_.push_back(models_[i].name);
    }
    cluster_ = std::make_unique<SimCluster>(o, [this](uint64_t node) {
      auto sm = std::make_unique<ClusterStateMachine>();
      AgentModel& m = models_[node];
      m.sm = sm.get();
      sm->set_observer(&HaSim::on_cmd, &m);
      sm->set_restore_observer(&HaSim::on_restore, &m);
      ctx_[&m] = this;
      return sm;
    });
    cluster_->add_observer(this);
  }

  SimCluster& cluster() { return *cluster_; }
  int64_t clock_ms(uint64_t node) const { return cluster_->node_clock_us(node) / 1000; }

  // ---- observers of the applied log (same rules as node/agent.cc) --------
  static std::map<AgentModel*, HaSim*> ctx_;
  static void on_cmd(void* p, uint64_t, const Command& c, const ApplyEffect& e) {
    auto* m = static_cast<AgentModel*>(p);
    HaSim* self = ctx_[m];
    int64_t now = self->clock_ms(m->id);
    const ClusterState& s = m->sm->state();
    if (!e.applied) return;
    if (c.type == CmdType::renew) {
      m->watch.renewal_applied(c.epoch, now);
      if (c.node == m->name) m->hold.applied(c.epoch, c.seq);
    }
    if (c.type == CmdType::claim) m->claim_applied_at = now;
    if (e.primary_changed) {
      m->watch.renewal_applied(s.epoch, now);
      if (s.primary != m->name) m->hold.reset();
    }
    if (c.type == CmdType::bootstrap_done) self->check_bootstrap(c);
    if (s.epoch < m->max_epoch_seen && s.init != InitKind::absent)
      throw Violation(m->name + ": epoch went back from " + std::to_string(m->max_epoch_seen) +
                      " to " + std::to_string(s.epoch));
    m->max_epoch_seen = std::max(m->max_epoch_seen, s.epoch);
    auto [it, fresh] = self->holder_of_epoch_.emplace(s.epoch, s.primary);
    if (!fresh && it->second != s.primary)
      throw Violation("epoch " + std::to_string(s.epoch) + " has two holders: " + it->second +
                      " and " + s.primary);
  }
  static void on_restore(void* p) {
    auto* m = static_cast<AgentModel*>(p);
    HaSim* self = ctx_[m];
    int64_t now = self->clock_ms(m->id);
    m->watch.renewal_applied(m->sm->state().epoch, now);
    m->claim_applied_at = now;
    m->max_epoch_seen = std::max(m->max_epoch_seen, m->sm->state().epoch);
  }

  void check_bootstrap(const Command& c) {
    if (boot_node_.empty()) {
      boot_node_ = c.node;
      boot_sysid_ = c.system_id;
      ++bootstraps_;
    } else if (boot_node_ != c.node || boot_sysid_ != c.system_id) {
      throw Violation("I5: bootstrapped twice: " + boot_node_ + " and " + c.node);
    }
  }

  // ---- harness hooks ----------------------------------------------------
  void on_crash(uint64_t node) override {
    AgentModel& m = models_[node];
    // The process is gone: PostgreSQL dies with it (PDEATHSIG), leases and
    // soft state are volatile. Data on disk stays.
    bool data = m.has_data;
    uint64_t sys = m.system_id, lsn = m.lsn;
    std::string name = m.name;
    m = AgentModel{};
    m.id = node;
    m.name = name;
    m.has_data = data;
    m.system_id = sys;
    m.lsn = lsn;
  }
  void on_app_message(uint64_t node, uint64_t, const std::string& data) override {
    AgentModel& m = models_[node];
    if (m.paused) return;  // a stopped process reads nothing (late delivery is lost)
    auto st = MemberStatus::decode(data);
    if (!st) throw Violation("undecodable status");
    std::string name = st->name;
    m.peers[name] = {std::move(*st), clock_ms(node)};
  }
  void on_fate(uint64_t node, const consensus::ProposalFate& f) override {
    AgentModel& m = models_[node];
    if (f.id == m.barrier_prop) {
      if (f.outcome == consensus::ProposalFate::Outcome::committed)
        m.barrier_index = f.index;
      else
        m.barrier_term = 0;
    }
    if (f.id == m.decider_prop) m.decider_prop = 0;
  }
  void on_tick(uint64_t node) override {
    AgentModel& m = models_[node];
    if (m.paused || !m.sm) return;
    if (++m.ticks % kLoopTicks != 0) return;
    agent_step(m);
  }
  void on_event(uint64_t) override { check_i1(); }

  // I1: count the nodes that believe they hold an unexpired lease.
  void check_i1() {
    std::string holders;
    int n = 0;
    for (auto& [id, m] : models_) {
      if (!cluster_->up(id)) continue;
      if (m.hold.epoch() != 0 && m.hold.holds(m.hold.epoch(), clock_ms(id))) {
        ++n;
        holders += " " + m.name + "(epoch " + std::to_string(m.hold.epoch()) + ")";
      }
    }
    if (n > 1) throw Violation("I1: two unexpired leases:" + holders);
    if (n == 1) ++lease_held_events_;
  }

  void agent_step(AgentModel& m) {
    const int64_t now = clock_ms(m.id);
    const ClusterState& s = m.sm->state();
    consensus::Core* core = cluster_->core(m.id);
    // Gossip.
    MemberStatus st;
    st.name = m.name;
    st.seq = ++m.status_seq;
    st.data = m.has_data ? DataKind::cluster : DataKind::empty;
    st.system_id = m.system_id;
    st.timeline = 1;
    st.lsn = m.lsn;
    st.pg_running = m.has_data;
    st.in_recovery = !m.writable;
    for (auto& [id, other] : models_)
      if (id != m.id) cluster_->send_app(m.id, id, st.encode());

    // Decider (leader only, after a barrier of its term).
    if (core->role() == consensus::Role::leader) {
      if (m.barrier_term != core->term()) {
        m.barrier_term = core->term();
        m.barrier_index = 0;
        Command b;
        b.type = CmdType::barrier;
        b.node = m.name;
        b.wall_ms = now;
        b.seq = ++unique_;
        m.barrier_prop = cluster_->propose(m.id, b.encode());
      } else if (m.barrier_index && m.sm->last_index() >= m.barrier_index && !m.decider_prop) {
        DeciderInput in;
        in.state = &s;
        in.members = names_;
        for (auto& [name, p] : m.peers)
          in.seen[name] = {p.first, now - p.second <= 4 * kLoopTicks * 10};
        in.seen[m.name] = {st, true};
        in.self = m.name;
        in.now_ms = now;
        in.lease_expired = !s.primary.empty() && m.watch.expired(s.epoch, now);
        in.claim_age_ms = now - m.claim_applied_at;
        in.bootstrap_timeout_ms = 1500;
        in.maximum_lag_on_failover = 1 << 20;
        Decision d = decide(in);
        m.last_diag =
            d.diagnostics.empty() ? "" : d.diagnostics[0].code + ": " + d.diagnostics[0].message;
        if (d.propose) {
          d.propose->wall_ms = now;
          d.propose->seq = ++unique_;
          m.decider_prop = cluster_->propose(m.id, d.propose->encode());
          if (d.propose->type == CmdType::set_primary) ++failovers_;
        }
      }
    }
    // Bootstrap when we own the claim: "initdb" takes 50 ms.
    if (s.init == InitKind::claimed && s.init_node == m.name && !m.has_data) {
      if (m.bootstrap_started < 0) m.bootstrap_started = now;
      if (now - m.bootstrap_started >= 50 && now - m.bootstrap_sent_at > 100) {
        m.bootstrap_sent_at = now;
        m.has_data = true;
        m.system_id = 1000 + m.id;
        m.writable = true;  // bootstrap: nothing to protect yet (as in the agent)
        Command c;
        c.type = CmdType::bootstrap_done;
        c.node = m.name;
        c.system_id = m.system_id;
        c.seq = ++unique_;
        cluster_->propose(m.id, c.encode());
      }
    }
    // Clone from a ready primary.
    if (s.init == InitKind::done && !m.has_data && !s.primary.empty() && s.ready_epoch == s.epoch &&
        s.primary != m.name) {
      m.has_data = true;
      m.system_id = s.system_id;
    }
    // Renew while we hold the lock.
    if (s.init == InitKind::done && s.primary == m.name && now - m.last_renew >= kLeaseMs / 4) {
      Command c;
      c.type = CmdType::renew;
      c.node = m.name;
      c.epoch = s.epoch;
      c.seq = ++m.renew_seq + (uint64_t(m.id) << 40) + (++unique_ << 20);
      m.hold.proposed(s.epoch, c.seq, now);
      m.last_renew = now;
      cluster_->propose(m.id, c.encode());
    }
    // Promote only under the lease; fence otherwise (I2 on top of I1).
    bool holds =
        s.primary == m.name && m.hold.holds(s.epoch, now) && !m.hold.must_fence(s.epoch, now);
    bool bootstrapping = s.init == InitKind::claimed && s.init_node == m.name;
    if (m.writable && !holds && !bootstrapping && !(s.primary == m.name && m.hold.epoch() == 0))
      m.writable = false;
    if (holds && m.has_data && m.system_id == s.system_id) {
      m.writable = true;
      m.lsn += 100;
      // Retried (like the agent does when a proposal is dropped) until applied.
      if (s.ready_epoch != s.epoch && (m.ready_sent != s.epoch || now - m.ready_sent_at > 100)) {
        m.ready_sent = s.epoch;
        m.ready_sent_at = now;
        Command c;
        c.type = CmdType::ready;
        c.node = m.name;
        c.epoch = s.epoch;
        c.seq = ++unique_;
        cluster_->propose(m.id, c.encode());
      }
    }
    // Standbys follow the primary's position.
    if (!m.writable && m.has_data) {
      for (auto& [id, o] : models_)
        if (o.writable && o.system_id == m.system_id && !cluster_->is_cut(id, m.id))
          m.lsn = std::max(m.lsn, o.lsn);
    }
  }

  void pause(uint64_t node, bool on) {
    models_[node].paused = on;
    if (on) cluster_->isolate(node);
  }

  /// True when some node holds the lease and serves writes for the committed epoch.
  bool healthy() const {
    for (auto& [id, m] : models_) {
      if (!cluster_->up(id) || !m.sm) continue;
      const ClusterState& s = m.sm->state();
      if (m.writable && s.primary == m.name && s.ready_epoch == s.epoch) return true;
    }
    return false;
  }

  std::string describe() {
    std::string out;
    for (auto& [id, m] : models_) {
      char buf[512];
      const ClusterState* s = m.sm ? &m.sm->state() : nullptr;
      snprintf(buf, sizeof buf,
               "%s up=%d paused=%d role=%s data=%d sys=%llu lsn=%llu writable=%d hold_epoch=%llu "
               "holds=%d | "
               "init=%d primary=%s epoch=%llu ready=%llu diag=%s\n",
               m.name.c_str(), cluster_->up(id), m.paused,
               cluster_->up(id) ? consensus::role_name(cluster_->core(id)->role()) : "-",
               m.has_data, (unsigned long long)m.system_id, (unsigned long long)m.lsn, m.writable,
               (unsigned long long)m.hold.epoch(), m.hold.holds(m.hold.epoch(), clock_ms(id)),
               s ? (int)s->init : -1, s ? s->primary.c_str() : "-",
               s ? (unsigned long long)s->epoch : 0ull,
               s ? (unsigned long long)s->ready_epoch : 0ull, m.last_diag.c_str());
      out += buf;
    }
    return out;
  }

  std::map<uint64_t, AgentModel> models_;
  std::vector<std::string> names_;
  std::unique_ptr<SimCluster> cluster_;
  std::map<uint64_t, std::string> holder_of_epoch_;
  std::string boot_node_;
  uint64_t boot_sysid_ = 0;
  uint64_t unique_ = 0;
  uint64_t bootstraps_ = 0, failovers_ = 0, lease_held_events_ = 0;
  uint64_t pauses_ = 0;
  bool verbose_;
};
std::map<AgentModel*, HaSim*> HaSim::ctx_;

struct Totals {
  uint64_t seeds = 0, failovers = 0, crashes = 0, partitions = 0, pauses = 0, lease_events = 0;
};

/// One seed: bootstrap, then random faults, then heal and check liveness.
std::string run_seed(uint64_t seed, int nodes, bool verbose, Totals* t) {
  HaSim h(nodes, seed, verbose);
  SimCluster& c = h.cluster();
  sim::SimRng& rng = c.rng();
  try {
    c.faults().loss = 0.0;
    if (!c.run_until([&] { return h.healthy(); }, 20'000'000))
      return "no healthy primary after bootstrap within 20 s of simulated time";
    std::set<uint64_t> crashed, paused;
    for (int step = 0; step < 12; ++step) {
      c.faults().loss = rng.chance(0.5) ? rng.unit() * 0.3 : 0.0;
      c.faults().dup = rng.chance(0.3) ? 0.05 : 0.0;
      int a = static_cast<int>(rng.below(8));
      uint64_t victim = 1 + rng.below(nodes);
      size_t down = crashed.size() + paused.size();
      if (a == 0 && down + 1 <= static_cast<size_t>((nodes - 1) / 2) && c.up(victim) &&
          !paused.count(victim)) {
        c.crash(victim);
        crashed.insert(victim);
        ++t->crashes;
      } else if (a == 1 && !crashed.empty()) {
        uint64_t r = *crashed.begin();
        c.restart(r);
        crashed.erase(r);
      } else if (a == 2) {
        std::set<uint64_t> g;
        for (int i = 1; i <= nodes; ++i)
          if (rng.chance(0.5)) g.insert(i);
        c.partition(g);
        ++t->partitions;
      } else if (a == 3 && c.leader()) {
        c.isolate(c.leader());
        ++t->partitions;
      } else if (a == 4) {
        uint64_t b = 1 + rng.below(nodes);
        if (b != victim) c.cut(victim, b);
        ++t->partitions;
      } else if (a == 5 && down + 1 <= static_cast<size_t>((nodes - 1) / 2) && c.up(victim) &&
                 !paused.count(victim)) {
        // Pause the primary preferably: the interesting case for I1.
        for (auto& [id, m] : h.models_)
          if (m.writable && c.up(id)) victim = id;
        if (!paused.count(victim) && !crashed.count(victim)) {
          h.pause(victim, true);
          paused.insert(victim);
          ++t->pauses;
        }
      } else if (a == 6 && !paused.empty()) {
        uint64_t p = *paused.begin();
        h.pause(p, false);
        paused.erase(p);
        c.heal_network();
      } else {
        c.heal_network();
        for (uint64_t p : paused) c.isolate(p);
      }
      c.run_for(rng.range(50'000, 800'000));
    }
    // Heal everything: a writable primary under the lease must come back.
    c.faults().loss = 0;
    c.faults().dup = 0;
    for (uint64_t p : paused) h.pause(p, false);
    c.heal_network();
    for (uint64_t r : crashed) c.restart(r);
    if (!c.run_until([&] { return h.healthy(); }, 30'000'000))
      return "liveness: no writable primary within 30 s of simulated time after healing" +
             (verbose ? "\n" + h.describe() : std::string());
    c.run_for(500'000);
    t->failovers += h.failovers_;
    t->lease_events += h.lease_held_events_;
  } catch (const std::exception& e) {
    return std::string(e.what()) + (verbose ? "\n" + c.describe() : "");
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  long long one_seed = -1;
  int one_nodes = 3;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc)
      one_seed = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
      one_nodes = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-v"))
      verbose = true;
    else if (!strcmp(argv[i], "--break-lease"))
      g_break_lease = true;
    else {
      fprintf(stderr, "usage: %s [--seed S --nodes N [-v]]  (env PW_SIM_HA_SEEDS=count)\n",
              argv[0]);
      return 2;
    }
  }
  if (!verbose) log_set_level(LogLevel::error);
  Totals t;
  if (one_seed >= 0) {
    std::string err = run_seed(static_cast<uint64_t>(one_seed), one_nodes, verbose, &t);
    printf("seed=%lld nodes=%d: %s\n", one_seed, one_nodes, err.empty() ? "ok" : err.c_str());
    return err.empty() ? 0 : 1;
  }
  long long seeds = 2000;
  if (const char* env = getenv("PW_SIM_HA_SEEDS")) seeds = atoll(env);
  int failed = 0;
  for (long long s = 1; s <= seeds; ++s) {
    int n = (s % 4 == 0) ? 5 : 3;
    std::string err = run_seed(static_cast<uint64_t>(s), n, false, &t);
    ++t.seeds;
    if (!err.empty()) {
      printf("FAILED seed=%lld nodes=%d: %s\n  replay: %s --seed %lld --nodes %d -v\n", s, n,
             err.c_str(), argv[0], s, n);
      if (++failed >= (g_break_lease ? 1 : 5)) break;
    }
  }
  printf(
      "sim_ha: %llu seeds (3 and 5 nodes), faults: %llu crashes, %llu partitions/cuts, %llu paused "
      "nodes, "
      "loss up to 30%%, duplication, reordering, clock drift ±2%%; %llu failovers; I1/I5/epoch "
      "checks after every "
      "event (%llu events with a lease held): %s\n",
      static_cast<unsigned long long>(t.seeds), static_cast<unsigned long long>(t.crashes),
      static_cast<unsigned long long>(t.partitions), static_cast<unsigned long long>(t.pauses),
      static_cast<unsigned long long>(t.failovers), static_cast<unsigned long long>(t.lease_events),
      failed ? "FAILED" : "ok");
  return failed ? 1 : 0;
}
