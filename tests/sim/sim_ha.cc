// tests/sim/sim_ha.cc — the production HA agent (node::Agent with all its
// controllers) on every node of the deterministic Raft simulation, each in
// a simulated world (sim_ha_world.h): drifting clocks, a faulty network,
// simulated PostgreSQL servers, fencers and client writes through the
// nodes' routes.
//
// Faults: loss, duplication, reordering, symmetric and one-way partitions,
// leader isolation, crashes with restart from the simulated disk, paused
// agents (SIGSTOP: the fencer and PostgreSQL keep running — a start, its
// crash recovery or a promotion completes meanwhile), postmaster
// kills, clock drift within the configured bound, and operator requests
// (switchover, failover --to, pause/resume, reinit, reset-cluster) at
// random nodes and times. In a quarter of the seeds (seed % 8 in {2, 3}),
// in-place restarts of pgwarden (SIGUSR2, node/inplace_restart.h): the
// leaving agent prepares the hand-off, raft restarts from its disk with a
// new agent that resumes from the carried state, PostgreSQL and the fencer
// keep running, and the new image starts after a random delay of up to 1.5
// leases (one that never comes in time: the fencer must fence). In another
// quarter ((seed / 64) % 4 == 0), half of the crashes lose the host for
// good: never restarted, its data directory gone (the primary, a member of
// the synchronous set or any node, a third of the time each).
//
// Checked after every event:
//   I1  at most one agent holds an unexpired lease (each on its own clock);
//   I2  a simulated PostgreSQL is writable only while its agent holds the
//       lease (bootstrap before the first lease excepted);
//   I3  no usable route (a proxy that would forward now) leads to an older
//       epoch's primary while a newer epoch's primary is writable;
//   I4  (synchronous mode) a server writable under a lease holds every
//       write a client saw acknowledged;
//   I5  one bootstrap per cluster generation (between operator resets);
//   epochs never go back on a node;
//   no timeline id of a system is opened by two promotions (two histories
//   under one id: sim_ha_world.h, HaWorld::timeline_opened).
// Liveness: once every fault heals, a writable primary under its lease,
// ready and reachable through the routes, within 30 s of simulated time —
// where a failover rule requires one (sim_ha_rules.h: no host lost, the
// last primary survives, asynchronous mode with a survivor on the newest
// timeline, or synchronous mode with |C| - q + 1 members of C surviving).
// A failure names the rule. Where a lost host blocks failover by a rule,
// the operator follows pgwarden's advice (failover --accept-data-loss,
// reset-cluster) and a primary must come back after that.
//
//   sim_ha                          PW_SIM_HA_SEEDS seeds (default 1000) per
//                                   node count (3 and 5), from a random base
//   sim_ha --base B                 the same from base seed B
//   sim_ha --seeds N                N seeds per node count (a long campaign)
//   sim_ha --seed S --nodes N [-v]  replay one seed exactly
//   sim_ha --loss {primary,sync-nonsync,sync-only}   hosts lost for good (run_loss)
//   sim_ha --break-{lease,fencer,route,sync,failover}  checker self-tests;
//   sim_ha --loss sync-only --break-sync-rule          the same for "no automatic failover"
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/log.h"
#include "ha/cluster_state.h"
#include "sim_cluster.h"
#include "sim_ha_rules.h"
#include "sim_ha_world.h"

using namespace pw;
using namespace pw::node;
using pw::sim::HaWorld;
using pw::sim::SimCluster;
using pw::sim::SimViolation;

namespace {

sim::Breakage g_break;
constexpr int64_t kBootstrapGraceUs = 500'000;  // a claimant learns its claim is gone

class HaSim : public sim::SimObserver {
 public:
  // Odd seeds run synchronous mode with synchronous_node_count 1..n-2
  // (seed / 2) and strict mode in one seed of four (seed / 8). `sync_count`
  // > 0 (the loss scenarios): that mode, that count, never strict.
  HaSim(int n, uint64_t seed, bool verbose, bool sync = false, int sync_count = 0)
      : world_(n, sync_count > 0 ? sync : seed % 2 == 1, g_break, n >= 5 && seed % 4 == 3,
               sync_count > 0 ? sync_count : 1 + static_cast<int>((seed / 2) % (n - 2)),
               sync_count == 0 && (seed / 8) % 4 == 1),
        verbose_(verbose) {
    sim::ClusterOptions o;
    o.nodes = n;
    o.seed = seed;
    o.max_drift = 0.02;  // rates within ±2%: pairwise ratio within the 5% the lease assumes
    o.compact_every = 40;
    o.election_ticks = 5;  // [raft] election_timeout 500 ms / tick 100 ms, as the agents' configs say
    o.unique_payloads = false;
    // The raft seed carries the members' names and addresses, as RaftNode's
    // does, so membership changes reach the agents with the names they use.
    std::vector<consensus::MemberInfo> initial;
    for (auto& [id, sn] : world_.nodes())
      for (const auto& m : sn.cfg.members)
        if (m.name == sn.name) initial.push_back({id, m.name, m.host, m.raft_port, true, false});
    o.seed_membership = consensus::seed_membership(initial);
    cluster_ = std::make_unique<SimCluster>(o, [this](uint64_t id) { return world_.make_state_machine(id); });
    world_.attach(cluster_.get());
    world_.set_verbose(verbose);
    cluster_->add_observer(this);
  }

  SimCluster& cluster() { return *cluster_; }
  HaWorld& world() { return world_; }

  // ---- observer hooks --------------------------------------------------
  void on_crash(uint64_t id) override { world_.crashed(id); }
  void on_app_message(uint64_t id, uint64_t from, const std::string& data) override {
    if (auto* p = world_.node(id).proc.get()) p->raft.app_message(from, data);
  }
  void on_fate(uint64_t id, const consensus::ProposalFate& f) override {
    if (auto* p = world_.node(id).proc.get()) p->raft.fate(f);
  }
  void on_soft_state(uint64_t id, const consensus::SoftState&) override {
    if (auto* p = world_.node(id).proc.get()) p->raft.soft_state_changed();
  }
  void on_tick(uint64_t id) override { world_.on_tick(id); }
  void on_event(uint64_t id) override {
    world_.after_event(id);
    world_.fencers();
    int64_t now = cluster_->now_us();
    if (now - last_bg_ >= 5000) {
      last_bg_ = now;
      world_.background_step();
    }
    if (now - last_write_ >= 10000) {
      last_write_ = now;
      world_.client_write(1 + cluster_->rng().below(world_.nodes().size()));
    }
    follow_committed();
    check();
  }

  // ---- the committed log, applied once more (checker's truth) -----------
  void follow_committed() {
    while (global_index_ < cluster_->committed_length()) {
      ++global_index_;
      const consensus::Entry& e = cluster_->committed_entry(global_index_);
      if (e.type != consensus::EntryType::normal || e.data.empty()) continue;
      auto cmd = Command::decode(e.data);
      if (!cmd) continue;
      ClusterState before = global_;
      ApplyEffect eff = apply_command(global_, *cmd, global_index_);
      if (!eff.applied) continue;
      int64_t now = cluster_->now_us();
      if (cmd->type == CmdType::reset_cluster) {
        ++generation_;
        world_.forget_acked();
        ++resets_;
      }
      if (cmd->type == CmdType::bootstrap_done || cmd->type == CmdType::adopt) {
        if (bootstrapped_generation_ == generation_)
          throw SimViolation("I5: bootstrapped twice in one generation: " + boot_node_ + " and " + cmd->node);
        bootstrapped_generation_ = generation_;
        boot_node_ = cmd->node;
        boot_epoch_ = global_.epoch;
        ++bootstraps_;
      }
      if (cmd->type == CmdType::set_primary) {
        ++failovers_;
        last_set_primary_ = cmd->node + " (" + cmd->reason + ")";
      }
      if (cmd->type == CmdType::set_primary && cmd->reason.find("accepting the loss") != std::string::npos) {
        for (auto& [id, n] : world_.nodes())
          if (n.name == cmd->node) world_.accept_loss(id);
        ++overrides_;
      }
      if (cmd->type == CmdType::release && !cmd->to.empty()) ++switchovers_;
      // A claimant whose claim just went away may still be mid-way.
      if (before.init == InitKind::claimed &&
          !(global_.init == InitKind::claimed && global_.init_node == before.init_node))
        grace_until_[before.init_node] = now + kBootstrapGraceUs;
      if (before.init == InitKind::done && before.primary == boot_node_ && before.epoch == boot_epoch_ &&
          global_.epoch != boot_epoch_)
        grace_until_[before.primary] = now + kBootstrapGraceUs;
    }
  }

  // ---- invariants --------------------------------------------------------
  void check() {
    std::string holders;
    int n = 0;
    for (auto& [id, node] : world_.nodes()) {
      if (!node.proc) continue;
      Agent& a = node.proc->agent;
      if (a.lease_until_ms() > 0) {
        if (node.cfg.tag_nofailover)
          throw SimViolation(node.name + " is tagged nofailover but holds the lease (epoch " +
                             std::to_string(a.lease_epoch()) + ")");
        ++n;
        holders += " " + node.name + "(epoch " + std::to_string(a.lease_epoch()) + ")";
        if (verbose_)
          holders += "[until " + std::to_string(a.lease_until_ms()) + " now " + std::to_string(world_.clock_ms(id)) + "]";
      }
      // Epochs never go back within a process's life.
      uint64_t e = a.state().epoch;
      if (e < node.proc->max_epoch)
        throw SimViolation(node.name + ": epoch went back from " + std::to_string(node.proc->max_epoch) + " to " +
                           std::to_string(e));
      node.proc->max_epoch = e;
    }
    if (n > 1) throw SimViolation("I1: two unexpired leases:" + holders);
    if (n == 1) ++lease_events_;
    int64_t now = cluster_->now_us();
    for (auto& [id, node] : world_.nodes()) {
      if (!node.proc || !node.proc->pg.primary()) continue;
      Agent& a = node.proc->agent;
      if (a.lease_until_ms() > 0) {
        if (node.proc->checked_epoch != a.lease_epoch()) {
          node.proc->checked_epoch = a.lease_epoch();
          world_.check_holds_acked(id);
        }
        // I3: nobody may still forward to an older epoch's primary.
        for (auto& [xid, x] : world_.nodes()) {
          if (!x.proc || cluster_->paused(xid)) continue;
          const proxy::Route& r = x.proc->route;
          if (!r.has_primary || r.hold_new || world_.clock_ms(xid) >= r.valid_until_ms || r.epoch >= a.lease_epoch())
            continue;
          sim::SimNode* to = world_.by_host(r.primary.host);
          if (to && to->id != id && to->proc && to->proc->pg.running())
            throw SimViolation("I3: " + x.name + " routes to " + to->name + " (epoch " + std::to_string(r.epoch) +
                               ") while " + node.name + " is writable in epoch " +
                               std::to_string(a.lease_epoch()));
        }
        continue;
      }
      // I2: writable without a lease only while bootstrapping.
      bool bootstrap = (global_.init == InitKind::claimed && global_.init_node == node.name) ||
                       (global_.init == InitKind::done && global_.primary == node.name &&
                        global_.epoch == boot_epoch_ && node.disk.system_id == global_.system_id);
      auto g = grace_until_.find(node.name);
      if (!bootstrap && !(g != grace_until_.end() && now < g->second))
        throw SimViolation("I2: " + node.name + "'s PostgreSQL is writable without a lease (agent: " +
                           a.agent_state() + ", committed primary " + global_.primary + " epoch " +
                           std::to_string(global_.epoch) + ")");
    }
  }

  /// A primary under its lease, ready, and reachable through some route.
  bool healthy() {
    for (auto& [id, node] : world_.nodes()) {
      if (!node.proc || !node.proc->pg.primary() || !node.proc->agent.holds_lease()) continue;
      if (global_.primary != node.name || global_.ready_epoch != global_.epoch) continue;
      for (auto& [xid, x] : world_.nodes()) {
        if (!x.proc) continue;
        const proxy::Route& r = x.proc->route;
        if (r.has_primary && !r.hold_new && world_.clock_ms(xid) < r.valid_until_ms &&
            r.primary.host == node.cfg.self().host)
          return true;
      }
    }
    return false;
  }

  // ---- hosts lost for good ----------------------------------------------
  /// The voters of the newest committed raft membership a running node
  /// knows (a removed node may still hold an older one).
  std::set<std::string> member_names() {
    consensus::Membership best;
    bool any = false;
    for (auto& [id, n] : world_.nodes())
      if (n.proc && cluster_->up(id)) {
        consensus::Membership m = n.proc->raft.membership();
        if (!any || m.epoch > best.epoch) best = m, any = true;
      }
    std::set<std::string> out;
    for (const auto& m : best.members)
      if (best.is_voter(m.id)) out.insert(m.name);
    return out;
  }
  /// Crashes `id` and loses it for good (never restarted, data gone).
  void lose(uint64_t id) {
    cluster_->crash(id);
    world_.lose(id);
  }
  /// The survivor an operator would name in `failover --to X
  /// --accept-data-loss`: the most advanced member holding this cluster's
  /// data (`ctl list` shows the positions), not tagged nofailover.
  std::string override_target() {
    const sim::SimNode* best = nullptr;
    for (auto& [id, n] : world_.nodes())
      if (!n.lost && n.proc && n.disk.has_data && n.disk.system_id == global_.system_id && !n.cfg.tag_nofailover &&
          !global_.reinit.count(n.name) && (!best || n.disk.wal.size() > best->disk.wal.size()))
        best = &n;
    return best ? best->name : std::string();
  }
  /// All diagnostics of the running agents, "node: code: text -> action".
  std::string diagnostics() {
    std::string out;
    for (auto& [id, n] : world_.nodes())
      if (n.proc && n.proc->started && !cluster_->paused(id))
        for (const auto& x : n.proc->agent.diagnostics())
          out += "\n    " + n.name + ": " + x.code + ": " + x.message + " -> " + x.action;
    return out;
  }
  /// Like an operator after a host is lost for good: does what pgwarden
  /// advises, if it advises giving up the lost data (failover
  /// --accept-data-loss to the most advanced survivor, or reset-cluster
  /// where no survivor has data). Returns what was done ("" = no such
  /// advice).
  std::string follow_loss_advice() {
    for (auto& [id, n] : world_.nodes()) {
      if (!n.proc || !n.proc->started || cluster_->paused(id)) continue;
      Agent& a = n.proc->agent;
      for (const auto& x : a.diagnostics()) {
        auto done = [](const OpResult&) {};
        if ((x.code == "init_done_no_data" || x.code == "data_member_unreachable") &&
            x.action.find("reset-cluster") != std::string::npos) {
          a.reset_cluster("sim", done);
          return "reset-cluster at " + n.name + " (" + x.code + ")";
        }
        if (x.code == "no_failover_candidate" && x.action.find("remove nofailover from its [tags]") != std::string::npos &&
            override_target().empty()) {
          // Only DR members (tagged nofailover) kept the data: lift the tag
          // on the most advanced one and restart it in place, as advised;
          // the override below then names it.
          sim::SimNode* dr = nullptr;
          for (auto& [xid, x2] : world_.nodes())
            if (!x2.lost && x2.proc && x2.proc->started && !cluster_->paused(xid) && x2.cfg.tag_nofailover &&
                x2.disk.has_data && x2.disk.system_id == global_.system_id &&
                (!dr || x2.disk.wal.size() > dr->disk.wal.size()))
              dr = &x2;
          if (dr) {
            dr->cfg.tag_nofailover = false;
            // Copies: the restart replaces the agent whose diagnostic `x` is.
            const std::string name = dr->name, code = x.code;
            restart_in_place(dr->id, 0);
            return "nofailover lifted on " + name + " and pgwarden restarted there in place (" + code + ")";
          }
        }
        if (x.action.find("--accept-data-loss") != std::string::npos) {
          std::string to = override_target();
          if (to.empty()) continue;
          a.failover(to, true, "sim", done);
          return "failover --to " + to + " --accept-data-loss at " + n.name + " (" + x.code + ")";
        }
      }
    }
    return {};
  }

  // ---- operator requests at random nodes --------------------------------
  void operator_request(sim::SimRng& rng) {
    std::vector<uint64_t> up;
    for (auto& [id, node] : world_.nodes())
      if (node.proc && node.proc->started && !cluster_->paused(id)) up.push_back(id);
    if (up.empty()) return;
    Agent& a = world_.node(up[rng.below(up.size())]).proc->agent;
    std::string target = "n" + std::to_string(1 + rng.below(world_.nodes().size()));
    auto done = [this](const OpResult& r) { ++(r.http_status == 200 ? ops_ok_ : ops_refused_); };
    switch (rng.below(13)) {
      case 0: case 1: case 2: a.switchover(rng.chance(0.5) ? target : "", false, done); break;
      case 3: case 4: case 5: a.failover(target, done); break;
      case 6: a.set_paused(true, done); paused_cluster_ = true; break;
      case 7: case 8: a.set_paused(false, done); break;
      case 9: case 10: a.reinit(target, done); break;
      case 12: {
        // Membership: in 5-node runs, remove a member (down to 3 voters);
        // the agents' rosters, slots and routes follow the committed change.
        // Both modes: in synchronous mode the removal is marked in the log
        // first, the primary narrows the member out of the committed set,
        // and the raft leader re-checks on the applied state before the
        // change (issue 21 item 6; before, a member could enter the set
        // between the check and the commit, and failover then waited for a
        // member never heard again).
        consensus::Membership m = a.raft() ? a.raft()->membership() : consensus::Membership{};
        // Seeds that lose hosts for good remove only lost ones, as an
        // operator would: removing a live voter while hosts are lost (or
        // before they are) can leave a quorum that never comes back
        // (found by seed 55081035062:5: n1 removed, then n2 and n3 lost,
        // 2 of 4 voters left).
        bool removable = true;
        if (loss_seed_) {
          removable = false;
          for (auto& [id, n] : world_.nodes())
            if (n.lost && m.find_name(n.name)) target = n.name, removable = true;
        }
        if (world_.nodes().size() >= 5 && m.voter_count() > 3 && removable) {
          a.member_remove(target, [this, done](const OpResult& r) {
            if (r.http_status == 200) ++member_removals_;  // committed (refusals: primary, pending, ...)
            done(r);
          });
        } else {
          a.switchover("", false, done);
        }
        break;
      }
      default: {
        // Like an operator following the advice: reset-cluster only where
        // pgwarden says the data is gone (init_done_no_data). A reset
        // while a member with data is away starts a new cluster beside it,
        // which only that operator can sort out.
        // Likewise `failover --accept-data-loss`, only where pgwarden
        // advises it (synchronous mode: the members that may hold the
        // latest commits are not heard), to a member it would promote.
        bool advised = false, accept_loss = false;
        for (const auto& x : a.diagnostics()) {
          advised |= x.code == "init_done_no_data";
          accept_loss |= x.code == "no_failover_candidate" && x.action.find("--accept-data-loss") != std::string::npos;
        }
        if (advised) a.reset_cluster("sim", done);
        else if (accept_loss) a.failover(target, true, "sim", done);
        else a.switchover("", false, done);
        break;
      }
    }
    ++ops_;
  }

  std::string describe() {
    std::string out;
    for (auto& [id, node] : world_.nodes()) {
      char buf[600];
      if (!node.proc) {
        snprintf(buf, sizeof buf, "%s down (disk: data=%d sys=%llu wal=%zu)\n", node.name.c_str(), node.disk.has_data,
                 (unsigned long long)node.disk.system_id, node.disk.wal.size());
      } else {
        Agent& a = node.proc->agent;
        const ClusterState& s = a.state();
        snprintf(buf, sizeof buf,
                 "%s paused=%d timers=%zu raft=%s pg=%s wal=%zu tl=%u lease_epoch=%llu | init=%d primary=%s epoch=%llu "
                 "ready=%llu | %s | %s\n",
                 node.name.c_str(), cluster_->paused(id), node.proc->timers.size(),
                 consensus::role_name(cluster_->core(id)->role()),
                 node.proc->pg.primary()   ? "primary"
                 : node.proc->pg.standby() ? "standby"
                 : node.proc->pg.starting() ? "starting"
                                            : "stopped",
                 node.disk.wal.size(), node.disk.timeline, (unsigned long long)a.lease_epoch(), (int)s.init,
                 s.primary.c_str(), (unsigned long long)s.epoch, (unsigned long long)s.ready_epoch,
                 a.agent_state().c_str(), a.debug_line().c_str());
      }
      out += buf;
    }
    return out;
  }

  // ---- in-place restart of pgwarden ------------------------------------
  /// The in-place restart of `id` (SIGUSR2): the agent prepares (settle,
  /// raft leadership, a fresh renewal), then the process image is replaced:
  /// raft restarts from its disk, a new agent resumes from what the old one
  /// carried, PostgreSQL and the fencer are the same. The new image starts
  /// `gap_us` later (the node is stopped meanwhile, raft included).
  void restart_in_place(uint64_t id, int64_t gap_us) {
    sim::SimNode& n = world_.node(id);
    if (!n.proc || !n.proc->started || cluster_->paused(id)) return;
    auto result = std::make_shared<std::optional<std::pair<std::string, AgentHandoff>>>();
    n.proc->agent.prepare_handoff(
        [result](const std::string& e, const AgentHandoff& h) { result->emplace(e, h); });
    cluster_->run_until([&] { return result->has_value() || !world_.node(id).proc; }, 40'000'000);
    if (!result->has_value() || !world_.node(id).proc) return;
    if (!(*result)->first.empty()) {
      ++inplace_refused_;
      return;
    }
    sim::SimPostgres::Carried pg = n.proc->pg.carry();
    sim::SimFencer fencer = n.proc->fencer;
    cluster_->crash(id);
    cluster_->restart(id);
    sim::SimProcess& p = *world_.node(id).proc;
    p.pg.take(pg);
    p.fencer.pid = fencer.pid;
    p.fencer.deadline_ms = fencer.deadline_ms;
    p.agent.resume((*result)->second);
    ++inplace_;
    if (gap_us > 0) {
      cluster_->pause(id);
      cluster_->run_for(gap_us);
      cluster_->resume(id);
    }
  }

  HaWorld world_;
  std::unique_ptr<SimCluster> cluster_;
  bool verbose_;
  uint64_t inplace_ = 0, inplace_refused_ = 0;
  ClusterState global_;
  uint64_t global_index_ = 0;
  uint64_t generation_ = 0, bootstrapped_generation_ = UINT64_MAX;
  std::string boot_node_;
  uint64_t boot_epoch_ = 0;
  std::map<std::string, int64_t> grace_until_;
  int64_t last_bg_ = 0, last_write_ = 0;
  uint64_t bootstraps_ = 0, failovers_ = 0, switchovers_ = 0, resets_ = 0, lease_events_ = 0;
  uint64_t ops_ = 0, ops_ok_ = 0, ops_refused_ = 0, member_removals_ = 0, overrides_ = 0;
  bool paused_cluster_ = false;
  std::string last_set_primary_;  // the last committed set_primary: "node (reason)"
  bool loss_seed_ = false;        // this seed loses hosts for good (run_seed)
};

struct Totals {
  uint64_t seeds = 0, failovers = 0, switchovers = 0, crashes = 0, partitions = 0, pauses = 0, pm_kills = 0;
  uint64_t inplace = 0, inplace_refused = 0;
  uint64_t ops = 0, resets = 0, member_removals = 0, overrides = 0, acked = 0, lost_async = 0, lease_events = 0;
  uint64_t lost_hosts = 0, forgiven = 0, rule_required = 0, rule_blocked = 0;
  int64_t worst_recovery_us = 0;  // loss scenarios: loss (or override) to a healthy primary
};

/// The seed's mode, for the replay line.
std::string h_config(uint64_t seed, int nodes) {
  if (seed % 2 == 0) return "async";
  return "sync synchronous_node_count=" + std::to_string(1 + (seed / 2) % (nodes - 2)) +
         ((seed / 8) % 4 == 1 ? " strict" : "");
}

/// One seed: bootstrap, then random faults and operator requests, then heal
/// and check liveness.
std::string run_seed(uint64_t seed, int nodes, bool verbose, Totals* t) {
  HaSim h(nodes, seed, verbose);
  SimCluster& c = h.cluster();
  sim::SimRng& rng = c.rng();
  try {
    if (!c.run_until([&] { return h.healthy(); }, 20'000'000))
      return "no healthy primary after bootstrap within 20 s of simulated time" +
             (verbose ? "\n" + h.describe() : std::string());
    std::set<uint64_t> crashed, paused, lost;
    // Seeds with in-place restarts replace the heal action (below) by one:
    // the other seeds, the named regression ones included, run as before.
    const bool inplace = seed % 8 == 2 || seed % 8 == 3;
    // A quarter of the seeds (none of the named regression ones) lose hosts
    // for good: half of their crashes are never restarted and wipe the
    // disk, the victim being the primary, a member of the synchronous set
    // or any node, a third of the time each.
    const bool losses = (seed / 64) % 4 == 0;
    h.loss_seed_ = losses;
    for (int step = 0; step < 12; ++step) {
      c.faults().loss = rng.chance(0.5) ? rng.unit() * 0.3 : 0.0;
      c.faults().dup = rng.chance(0.3) ? 0.05 : 0.0;
      int a = static_cast<int>(rng.below(11));
      uint64_t victim = 1 + rng.below(nodes);
      size_t down = crashed.size() + paused.size() + lost.size();
      bool may_take_down = down + 1 <= static_cast<size_t>((nodes - 1) / 2) && c.up(victim) && !paused.count(victim);
      if (a == 0 && may_take_down && losses && rng.chance(0.5)) {
        uint64_t pick = victim;
        int how = static_cast<int>(rng.below(3));
        for (auto& [id, n] : h.world().nodes()) {
          if (how == 0 && n.name == h.global_.primary) pick = id;
          if (how == 1 && !h.global_.sync.empty() && n.name == h.global_.sync.front()) pick = id;
        }
        if (c.up(pick) && !paused.count(pick)) victim = pick;
        h.lose(victim);
        lost.insert(victim);
        ++t->lost_hosts;
      } else if (a == 0 && may_take_down) {
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
      } else if (a == 5 && may_take_down) {
        // Pause the primary preferably, or a node whose PostgreSQL is on its
        // way to being one (a start as primary, maybe in crash recovery, or
        // a promotion, which complete while the agent is frozen): the
        // interesting cases for I1/I2.
        for (auto& [id, n] : h.world().nodes())
          if (n.proc && (n.proc->pg.primary() || n.proc->pg.starting_as_primary() || n.proc->pg.promoting()) &&
              !crashed.count(id))
            victim = id;
        if (!paused.count(victim) && !crashed.count(victim) && c.up(victim)) {
          c.pause(victim);
          paused.insert(victim);
          ++t->pauses;
        }
      } else if (a == 6 && !paused.empty()) {
        uint64_t p = *paused.begin();
        c.resume(p);
        paused.erase(p);
      } else if (a == 7) {
        for (auto& [id, n] : h.world().nodes())
          if (n.proc && n.proc->pg.primary()) {
            n.proc->pg.kill("fault");
            ++t->pm_kills;
            break;
          }
      } else if (a == 8 || a == 9) {
        h.operator_request(rng);
      } else if (inplace && !crashed.count(victim) && !paused.count(victim)) {
        // The primary half of the time: its lease, fencer and PostgreSQL
        // are what the hand-off must keep safe.
        if (rng.chance(0.5))
          for (auto& [id, n] : h.world().nodes())
            if (n.proc && n.proc->pg.primary() && !crashed.count(id) && !paused.count(id)) victim = id;
        int64_t lease_us = h.world().node(victim).cfg.ha_lease_ms * 1000;
        h.restart_in_place(victim, rng.chance(0.2) ? rng.range(0, lease_us * 3 / 2) : rng.range(0, lease_us / 4));
      } else {
        c.heal_network();
      }
      c.run_for(rng.range(50'000, 800'000));
    }
    // Heal everything: a writable primary under the lease must come back.
    c.faults().loss = 0;
    c.faults().dup = 0;
    for (uint64_t p : paused) c.resume(p);
    c.heal_network();
    for (uint64_t r : crashed) c.restart(r);
    c.run_for(200'000);
    if (h.paused_cluster_) {
      // Like an operator: resume, and again while it did not commit (a
      // proposal made during an election is dropped).
      for (int attempt = 0; attempt < 20; ++attempt) {
        bool paused = false;
        for (auto& [id, n] : h.world().nodes())
          if (n.proc && n.proc->started) {
            paused |= n.proc->agent.state().paused;
            n.proc->agent.set_paused(false, [](const OpResult&) {});
          }
        if (!paused) break;
        c.run_for(500'000);
      }
    }
    // Liveness. What the rules say must happen is judged at the heal, from
    // the disks and the committed state (sim_ha_rules.h): a failure names
    // the rule. Where a rule blocks (a lost host may hold the only copy of
    // acknowledged writes, or of the newest timeline), the cluster may stay
    // without a primary: the operator then follows pgwarden's advice (the
    // override), and a primary must come back after that.
    const sim::FailoverRule rule = sim::failover_rule(h.world(), h.global_, h.member_names());
    if (!lost.empty()) ++(rule.required ? t->rule_required : t->rule_blocked);
    if (!c.run_until([&] { return h.healthy(); }, 30'000'000)) {
      if (rule.required)
        return "liveness: no writable primary within 30 s of simulated time after healing; required by: " +
               rule.rule + (verbose ? "\n" + h.describe() + "  diagnostics:" + h.diagnostics() : std::string());
      std::string did;
      for (int attempt = 0; attempt < 10 && !h.healthy(); ++attempt) {
        std::string d = h.follow_loss_advice();
        if (d.empty() && did.empty())
          return "liveness: no writable primary within 30 s after healing; no rule requires one (" + rule.rule +
                 ") but no agent advises a way out; diagnostics:" + h.diagnostics() +
                 (verbose ? "\n" + h.describe() : std::string());
        if (!d.empty()) did = d;
        c.run_until([&] { return h.healthy(); }, 3'000'000);
      }
      if (!c.run_until([&] { return h.healthy(); }, 30'000'000))
        return "liveness: no writable primary within 30 s of simulated time after the operator's " + did +
               " (blocked before: " + rule.rule + "); diagnostics:" + h.diagnostics() +
               (verbose ? "\n" + h.describe() : std::string());
    }
    c.run_for(500'000);
    t->forgiven += h.world().forgiven();
    t->failovers += h.failovers_;
    t->switchovers += h.switchovers_;
    t->ops += h.ops_;
    t->resets += h.resets_;
    t->member_removals += h.member_removals_;
    t->overrides += h.overrides_;
    t->lease_events += h.lease_events_;
    t->inplace += h.inplace_;
    t->inplace_refused += h.inplace_refused_;
    t->acked += h.world().writes_acked();
    t->lost_async += h.world().lost_async();
  } catch (const std::exception& e) {
    return std::string(e.what()) + (verbose ? "\n" + h.describe() + c.describe() : "");
  }
  return {};
}

/// Issue 21: the raft leader is a standby, not the lock holder, and is cut
/// off from everyone for 1.5 s of simulated time (five leases). Nothing may
/// move: the holder's PostgreSQL stays writable the whole time (no fence),
/// no new epoch, and the reachable members route to the holder again
/// within the scaled acceptance bound. *gap_ms gets the longest interval
/// during which none of the reachable members had a usable route to it.
std::string run_leader_isolation(uint64_t seed, int nodes, bool verbose, Totals* t, int64_t* gap_ms) {
  HaSim h(nodes, seed, verbose);
  SimCluster& c = h.cluster();
  sim::SimRng& rng = c.rng();
  auto holder_now = [&]() -> uint64_t {
    for (auto& [id, n] : h.world().nodes())
      if (n.proc && n.proc->pg.primary() && n.proc->agent.holds_lease()) return id;
    return 0;
  };
  try {
    if (!c.run_until([&] { return h.healthy(); }, 20'000'000))
      return "no healthy primary after bootstrap within 20 s of simulated time";
    c.run_for(rng.range(200'000, 600'000));  // leadership settles on the holder
    uint64_t holder = holder_now();
    if (!holder || !h.healthy()) return "no healthy primary before the fault";
    std::vector<uint64_t> standbys;
    for (auto& [id, n] : h.world().nodes())
      if (id != holder && n.proc) standbys.push_back(id);
    uint64_t target = standbys[rng.below(standbys.size())];
    if (c.leader() != target) {
      c.transfer_leadership(c.leader(), target);
      if (!c.run_until([&] { return c.leader() == target; }, 1'000'000))
        return "leadership did not move to the standby n" + std::to_string(target);
    }
    // A random phase against heartbeats and renewals, past the new
    // leader's first entries (as when leadership stayed behind after a
    // failover) and shorter than the hysteresis before leadership goes back
    // to the holder (LeaderPlacement::settle_ms, 150 ms here).
    c.run_for(rng.range(20'000, 100'000));
    if (c.leader() != target) return "leadership left the standby before the fault";
    const sim::SimNode& hn = h.world().node(holder);
    const std::string holder_name = hn.name, holder_host = hn.cfg.self().host;
    const uint64_t epoch = h.global_.epoch;
    c.isolate(target);
    ++t->partitions;
    const int64_t t0 = c.now_us(), t_end = t0 + 1'500'000;
    int64_t last_routed = t0, gap = 0;
    bool was_routed = true;
    c.run_until(
        [&] {
          int64_t now = c.now_us();
          auto* p = h.world().node(holder).proc.get();
          if (!p || !p->pg.primary())
            throw SimViolation("leader isolation: the holder " + holder_name + " stopped being writable " +
                               std::to_string((now - t0) / 1000) + " ms into the fault (agent: " +
                               (p ? p->agent.agent_state() : std::string("down")) + ")");
          if (h.global_.epoch != epoch)
            throw SimViolation("leader isolation: a new epoch " + std::to_string(h.global_.epoch) + " (" +
                               h.global_.primary + ") " + std::to_string((now - t0) / 1000) + " ms into the fault");
          bool routed = false;
          for (auto& [xid, x] : h.world().nodes()) {
            if (xid == target || !x.proc) continue;
            const proxy::Route& r = x.proc->route;
            routed |= r.has_primary && !r.hold_new && h.world().clock_ms(xid) < r.valid_until_ms &&
                      r.primary.host == holder_host;
          }
          if (verbose && routed != was_routed)
            printf("  +%lld ms: %s route to the holder; leader n%llu\n", (long long)(now - t0) / 1000,
                   routed ? "a" : "no", (unsigned long long)c.leader());
          was_routed = routed;
          if (routed) last_routed = now;
          gap = std::max(gap, now - last_routed);
          return now >= t_end;
        },
        2'000'000);
    *gap_ms = gap / 1000;
    c.heal_network();
    if (!c.run_until([&] { return h.healthy(); }, 30'000'000))
      return "liveness: no writable primary within 30 s of simulated time after healing";
    t->failovers += h.failovers_;
    t->acked += h.world().writes_acked();
  } catch (const std::exception& e) {
    return std::string(e.what()) + (verbose ? "\n" + h.describe() + c.describe() : "");
  }
  return {};
}

/// Hosts lost for good (crashed, never restarted, data gone), issue 21:
///   primary       either mode's rule at n nodes (n = 3, 5; the seed's
///                 parity picks the mode, synchronous_node_count 1): the
///                 primary is lost while a standby streams from it —
///                 failover must happen;
///   sync-nonsync  synchronous mode, 5 nodes, synchronous_node_count 1: the
///                 primary and a standby outside the synchronous set C are
///                 lost — C is heard, failover must happen;
///   sync-only     the same, but the lost standby is C's only member and the
///                 only one holding the latest acknowledged writes: no
///                 automatic failover (asserted while pgwarden advises the
///                 override), then `failover --to X --accept-data-loss`
///                 must bring a writable primary back; the writes it gave up
///                 are forgiven (HaWorld::accept_loss), later ones are not
///                 (a switchover checks them, I4, then a failover after the
///                 lost members are removed and the primary's host crashes).
/// Liveness bound: kLossBoundUs of simulated time from the loss (or the
/// override) to a writable, ready, routed primary.
// Five leases (15 s at the production timers); the slowest of 6,000 runs
// took 800 ms (the lease wait, promotion, ready, routes).
constexpr int64_t kLossBoundUs = 1'500'000;

std::string run_loss(const std::string& kind, uint64_t seed, int nodes, bool verbose, Totals* t) {
  const bool sync = kind != "primary" || seed % 2 == 1;
  HaSim h(nodes, seed, verbose, sync, 1);
  SimCluster& c = h.cluster();
  sim::SimRng& rng = c.rng();
  sim::HaWorld& w = h.world();
  auto id_of = [&](const std::string& name) -> uint64_t {
    for (auto& [id, n] : w.nodes())
      if (n.name == name) return id;
    return 0;
  };
  auto streams_from = [&](const sim::SimNode& n, const sim::SimNode& p) {
    return n.proc && n.proc->pg.streaming() && n.proc->pg.upstream() == p.cfg.self().host;
  };
  auto fail = [&](const std::string& what) {
    return "loss " + kind + ": " + what + (verbose ? "\n" + h.describe() + "  diagnostics:" + h.diagnostics() : "");
  };
  try {
    if (!c.run_until([&] { return h.healthy(); }, 20'000'000)) return fail("no healthy primary after bootstrap");
    c.run_for(rng.range(200'000, 1'000'000));
    // The moment of the loss: a healthy primary with the standbys the kind
    // needs (at most 5 s of simulated time to get there).
    uint64_t primary = 0, sync_member = 0, other = 0;
    const bool ready = c.run_until(
        [&] {
          if (!h.healthy()) return false;
          primary = id_of(h.global_.primary);
          sim::SimNode& p = w.node(primary);
          if (!p.proc || !p.proc->pg.primary()) return false;
          sync_member = other = 0;
          if (kind == "primary") {
            // A standby streaming from it (synchronous mode: a member of C).
            for (auto& [id, n] : w.nodes())
              if (id != primary && !n.cfg.tag_nofailover && streams_from(n, p) &&
                  (!sync || std::find(h.global_.sync.begin(), h.global_.sync.end(), n.name) != h.global_.sync.end()))
                other = id;
            return other != 0;
          }
          if (h.global_.sync.size() != 1) return false;
          sync_member = id_of(h.global_.sync.front());
          if (!streams_from(w.node(sync_member), p)) return false;
          if (kind == "sync-nonsync") {
            for (auto& [id, n] : w.nodes())
              if (id != primary && id != sync_member) other = id;
            return true;
          }
          // sync-only: an acknowledged write the synchronous standby holds
          // and no other survivor does (the others crawl meanwhile).
          for (auto& [id, n] : w.nodes()) n.slow = id != primary && id != sync_member;
          const auto& sw = w.node(sync_member).disk.wal;
          for (auto it = sw.rbegin(); it != sw.rend(); ++it) {
            if (!w.acked().count(*it)) continue;
            for (auto& [id, n] : w.nodes())
              if (id != primary && id != sync_member &&
                  std::find(n.disk.wal.begin(), n.disk.wal.end(), *it) != n.disk.wal.end())
                return false;
            return true;
          }
          return false;
        },
        5'000'000);
    if (!ready) return fail("the cluster never reached the state before the loss (setup)");
    const uint64_t failovers_before = h.failovers_, epoch_before = h.global_.epoch;
    std::vector<uint64_t> victims{primary};
    if (kind == "sync-nonsync") victims.push_back(other);
    if (kind == "sync-only") victims.push_back(sync_member);
    std::string names;
    for (uint64_t v : victims) {
      names += (names.empty() ? "" : " and ") + w.node(v).name;
      h.lose(v);
      ++t->lost_hosts;
    }
    const sim::FailoverRule rule = sim::failover_rule(w, h.global_, h.member_names());
    const int64_t t0 = c.now_us();
    if (kind != "sync-only") {
      if (!rule.required) return fail("the checker's rules see no failover required after losing " + names + ": " + rule.rule);
      ++t->rule_required;
      if (!c.run_until([&] { return h.healthy(); }, kLossBoundUs))
        return fail("liveness: no writable primary within " + std::to_string(kLossBoundUs / 1000) +
                    " ms of simulated time after losing " + names + " for good; required by: " + rule.rule);
      if (h.failovers_ == failovers_before) return fail("healthy again without a failover (the lost primary?)");
      t->worst_recovery_us = std::max(t->worst_recovery_us, c.now_us() - t0);
    } else {
      if (rule.required) return fail("the checker's rules require a failover after losing " + names + ": " + rule.rule);
      ++t->rule_blocked;
      // No automatic failover: checked after every event while the
      // survivors (a quorum) come to the advice, and two leases on.
      const std::string lost_sync = w.node(sync_member).name;
      auto no_failover = [&] {
        if (h.failovers_ != failovers_before || h.global_.epoch != epoch_before)
          throw SimViolation("loss sync-only: automatic failover to " + h.last_set_primary_ + " " +
                             std::to_string((c.now_us() - t0) / 1000) + " ms after losing " + names +
                             ", while the synchronous rule forbids it (" + rule.rule + ")");
      };
      bool advised = false;
      c.run_until(
          [&] {
            no_failover();
            for (auto& [id, n] : w.nodes())
              if (n.proc && n.proc->started)
                for (const auto& x : n.proc->agent.diagnostics())
                  advised |= x.code == "no_failover_candidate" && x.message.find(lost_sync) != std::string::npos &&
                             x.action.find("--accept-data-loss") != std::string::npos;
            return advised;
          },
          kLossBoundUs);
      if (!advised) return fail("no survivor advises --accept-data-loss naming " + lost_sync + " after losing " + names);
      const int64_t until = c.now_us() + 2 * w.node(1).cfg.ha_lease_ms * 1000;
      c.run_until([&] { no_failover(); return c.now_us() >= until; }, 10'000'000);
      // The operator's override, to the most advanced survivor. (The crawl
      // that set up the loss ends.)
      for (auto& [id, n] : w.nodes()) n.slow = false;
      const std::string to = h.override_target();
      std::string answer;
      const int64_t t1 = c.now_us();
      for (auto& [id, n] : w.nodes())
        if (n.proc && n.proc->started && answer.empty()) {
          n.proc->agent.failover(to, true, "sim", [&answer](const OpResult& r) {
            answer = std::to_string(r.http_status) + " " + r.message;
          });
          break;
        }
      if (!c.run_until([&] { return h.healthy(); }, kLossBoundUs))
        return fail("liveness: no writable primary within " + std::to_string(kLossBoundUs / 1000) +
                    " ms of simulated time after `failover --to " + to + " --accept-data-loss` (answer: " + answer +
                    "); required by: the operator's override of the synchronous rule");
      t->worst_recovery_us = std::max(t->worst_recovery_us, c.now_us() - t1);
      if (h.overrides_ != 1) return fail("the override was not committed as one accepting the loss: " + h.last_set_primary_);
      if (w.forgiven() == 0) return fail("the override gave up no acknowledged write (setup: " + to + " had them all)");
      // Writes acknowledged after the override are promised again: a
      // switchover to another survivor checks them (I4, on the new primary).
      const uint64_t epoch_override = h.global_.epoch, acked_before = w.acks_total();
      // (Not a liveness bound: the new synchronous standby may crawl for a
      // while, and commits wait for it.)
      if (!c.run_until([&] { return w.acks_total() >= acked_before + 10; }, 20'000'000))
        return fail("fewer than 10 writes acknowledged within 20 s after the override");
      for (auto& [id, n] : w.nodes())
        if (n.proc && n.proc->started) {
          n.proc->agent.switchover("", false, [](const OpResult&) {});
          break;
        }
      if (!c.run_until([&] { return h.global_.epoch > epoch_override && h.healthy(); }, 20'000'000))
        return fail("no switchover within 20 s after the override");
      // And a failover: the operator removes the lost members (5 -> 3
      // voters), then the primary's host crashes (and comes back): the
      // survivor promoted must hold every write acknowledged since the
      // override (I4; --break-after-override: it may not).
      for (const std::string& gone : {w.node(primary).name, lost_sync}) {
        int status = 0;
        for (int attempt = 0; attempt < 20 && status != 200; ++attempt) {
          status = -1;
          for (auto& [id, n] : w.nodes())
            if (n.proc && n.proc->started && n.name == h.global_.primary) {
              n.proc->agent.member_remove(gone, [&status](const OpResult& r) { status = r.http_status; });
              break;
            }
          c.run_until([&] { return status != -1; }, 5'000'000);
          if (status != 200) c.run_for(300'000);
        }
        if (status != 200) return fail("member remove " + gone + " was not committed");
      }
      c.run_for(300'000);
      const uint64_t epoch_crash = h.global_.epoch, acked_mid = w.acks_total();
      if (!c.run_until([&] { return w.acks_total() >= acked_mid + 10; }, 20'000'000))
        return fail("fewer than 10 writes acknowledged after removing the lost members");
      const uint64_t victim = id_of(h.global_.primary);
      c.crash(victim);
      const sim::FailoverRule again = sim::failover_rule(w, h.global_, h.member_names());
      if (!c.run_until([&] { return h.global_.epoch > epoch_crash && h.healthy(); }, kLossBoundUs))
        return fail("liveness: no writable primary within " + std::to_string(kLossBoundUs / 1000) +
                    " ms after the crash of " + w.node(victim).name + " (3 voters left); required by: " +
                    (again.required ? again.rule : "(the checker's rules see none: " + again.rule + ")"));
      c.restart(victim);
      t->overrides += h.overrides_;
      t->forgiven += w.forgiven();
    }
    c.run_for(500'000);
    t->failovers += h.failovers_;
    t->acked += w.writes_acked();
  } catch (const std::exception& e) {
    return std::string(e.what()) + (verbose ? "\n" + h.describe() + c.describe() : "");
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  long long one_seed = -1;
  int one_nodes = 3;
  bool verbose = false;
  long long seeds = 1000;
  if (const char* env = getenv("PW_SIM_HA_SEEDS")) seeds = atoll(env);
  uint64_t base = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000000000ull;
  bool self_test = false;
  bool leader_isolation = false;
  std::string loss;  // --loss KIND: run_loss's scenario only
  const char* expect = "";  // self-test: the violation the broken protection must cause
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) one_seed = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--nodes") && i + 1 < argc) one_nodes = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--base") && i + 1 < argc) base = strtoull(argv[++i], nullptr, 10);
    else if (!strcmp(argv[i], "-v")) verbose = true;
    else if (!strcmp(argv[i], "--leader-isolation")) leader_isolation = true;
    else if (!strcmp(argv[i], "--loss") && i + 1 < argc) loss = argv[++i];
    else if (!strcmp(argv[i], "--break-failover")) g_break.failover = self_test = true, expect = "liveness: ";
    else if (!strcmp(argv[i], "--break-sync-rule")) g_break.sync_rule = true;
    else if (!strcmp(argv[i], "--break-after-override")) g_break.after_override = true;
    else if (!strcmp(argv[i], "--break-lease")) g_break.lease = self_test = true, expect = "I1: ";
    else if (!strcmp(argv[i], "--break-fencer")) g_break.fencer = self_test = true, expect = "I2: ";
    else if (!strcmp(argv[i], "--break-route")) g_break.route = self_test = true, expect = "I3: ";
    else if (!strcmp(argv[i], "--break-sync")) g_break.sync = self_test = true, expect = "I4: ";
    else {
      fprintf(stderr,
              "usage: %s [--leader-isolation | --loss {primary,sync-nonsync,sync-only}] [--seeds N] [--base B] | "
              "[--leader-isolation | --loss KIND] --seed S --nodes N [-v] | "
              "--break-{lease,fencer,route,sync,failover,sync-rule,after-override}\n",
              argv[0]);
      return 2;
    }
  }
  const char* breaks = g_break.lease ? " --break-lease" : g_break.fencer ? " --break-fencer"
                       : g_break.route ? " --break-route" : g_break.sync ? " --break-sync"
                       : g_break.failover ? " --break-failover" : "";
  // Errors are part of the game (clones that fail, proposals dropped): only
  // -v shows the log.
  if (!verbose) log_set_level(static_cast<LogLevel>(static_cast<int>(LogLevel::error) + 1));
  if (getenv("PW_SIM_DEBUG")) log_set_level(LogLevel::debug);
  Totals t;
  if (!loss.empty()) {
    if (loss != "primary" && loss != "sync-nonsync" && loss != "sync-only") {
      fprintf(stderr, "--loss: unknown scenario '%s' (primary, sync-nonsync, sync-only)\n", loss.c_str());
      return 2;
    }
    const char* lbreak = g_break.failover         ? " --break-failover"
                         : g_break.sync_rule      ? " --break-sync-rule"
                         : g_break.after_override ? " --break-after-override"
                                                  : "";
    if (one_seed >= 0) {
      std::string err = run_loss(loss, static_cast<uint64_t>(one_seed), one_nodes, verbose, &t);
      printf("loss %s seed=%lld nodes=%d: %s\n", loss.c_str(), one_seed, one_nodes, err.empty() ? "ok" : err.c_str());
      return err.empty() ? 0 : 1;
    }
    printf("sim_ha --loss %s%s: base seed %llu, %lld seeds per node count\n", loss.c_str(), lbreak,
           (unsigned long long)base, seeds);
    int failed = 0;
    std::vector<int> counts = loss == "primary" ? std::vector<int>{3, 5} : std::vector<int>{5};
    for (int nodes : counts)
      for (long long i = 0; i < seeds && failed < 5; ++i) {
        uint64_t s = base + static_cast<uint64_t>(i);
        std::string err = run_loss(loss, s, nodes, false, &t);
        ++t.seeds;
        if (!err.empty()) {
          printf("FAILED seed=%llu nodes=%d: %s\n  replay: %s%s --loss %s --seed %llu --nodes %d -v\n",
                 (unsigned long long)s, nodes, err.c_str(), argv[0], lbreak, loss.c_str(), (unsigned long long)s,
                 nodes);
          ++failed;
        }
      }
    printf("sim_ha --loss %s: %llu seeds, %llu hosts lost, %llu failovers, %llu overrides (%llu acknowledged writes "
           "given up by them), %llu writes acknowledged; slowest recovery %lld ms (bound %lld): %s\n",
           loss.c_str(), (unsigned long long)t.seeds, (unsigned long long)t.lost_hosts,
           (unsigned long long)t.failovers, (unsigned long long)t.overrides, (unsigned long long)t.forgiven,
           (unsigned long long)t.acked, (long long)t.worst_recovery_us / 1000, (long long)kLossBoundUs / 1000,
           failed ? "FAILED" : "ok");
    return failed ? 1 : 0;
  }
  if (leader_isolation) {
    // Issue 21's scenario only, in both modes (odd seeds: synchronous).
    // The scaled acceptance bound: 1 s of write unavailability at the
    // production timers is 100 ms here (every timer is divided by 10).
    const int64_t kGapLimitMs = 100;
    int failed = 0;
    int64_t worst = 0;
    auto one = [&](uint64_t s, int nodes, bool v) {
      int64_t gap = 0;
      std::string err = run_leader_isolation(s, nodes, v, &t, &gap);
      if (err.empty() && gap > kGapLimitMs)
        err = "leader isolation: the reachable members had no route to the holder for " + std::to_string(gap) +
              " ms (limit " + std::to_string(kGapLimitMs) + " ms)";
      worst = std::max(worst, gap);
      ++t.seeds;
      return err;
    };
    if (one_seed >= 0) {
      std::string err = one(static_cast<uint64_t>(one_seed), one_nodes, verbose);
      printf("leader isolation seed=%lld nodes=%d mode=%s: %s (longest route gap %lld ms)\n", one_seed, one_nodes,
             one_seed % 2 ? "sync" : "async", err.empty() ? "ok" : err.c_str(), (long long)worst);
      return err.empty() ? 0 : 1;
    }
    printf("sim_ha --leader-isolation: base seed %llu, %lld seeds per node count (3 and 5)\n",
           (unsigned long long)base, seeds);
    for (int nodes : {3, 5})
      for (long long i = 0; i < seeds && failed < 5; ++i) {
        uint64_t s = base + static_cast<uint64_t>(i);
        std::string err = one(s, nodes, false);
        if (!err.empty()) {
          printf("FAILED seed=%llu nodes=%d: %s\n  replay: %s --leader-isolation --seed %llu --nodes %d -v\n",
                 (unsigned long long)s, nodes, err.c_str(), argv[0], (unsigned long long)s, nodes);
          ++failed;
        }
      }
    printf("sim_ha --leader-isolation: %llu seeds, longest route gap %lld ms (limit %lld): %s\n",
           (unsigned long long)t.seeds, (long long)worst, (long long)kGapLimitMs, failed ? "FAILED" : "ok");
    return failed ? 1 : 0;
  }
  if (one_seed >= 0) {
    std::string err = run_seed(static_cast<uint64_t>(one_seed), one_nodes, verbose, &t);
    const std::string cfg = h_config(static_cast<uint64_t>(one_seed), one_nodes);
    printf("seed=%lld nodes=%d mode=%s: %s\n", one_seed, one_nodes, cfg.c_str(), err.empty() ? "ok" : err.c_str());
    return err.empty() ? 0 : 1;
  }
  printf("sim_ha: base seed %llu, %lld seeds per node count (3 and 5); odd seeds run synchronous mode\n",
         (unsigned long long)base, seeds);
  fflush(stdout);
  int failed = 0;
  bool found = false;
  for (int nodes : {3, 5}) {
    for (long long i = 0; i < seeds && failed < 5; ++i) {
      uint64_t s = base + static_cast<uint64_t>(i);
      std::string err = run_seed(s, nodes, false, &t);
      ++t.seeds;
      if (!err.empty()) {
        printf("FAILED seed=%llu nodes=%d: %s\n  replay: %s%s --seed %llu --nodes %d -v\n", (unsigned long long)s,
               nodes, err.c_str(), argv[0], breaks, (unsigned long long)s, nodes);
        fflush(stdout);
        ++failed;
        if (self_test && err.find(expect) == 0) {
          found = true;
          break;
        }
        if (self_test) failed = 0;  // another symptom of the broken system: keep looking
      }
    }
    if (found) break;
  }
  if (self_test)
    printf("self-test: %s\n", found ? "the checker caught the broken protection"
                                    : "the broken protection went unnoticed (checker too weak?)");
  printf(
      "sim_ha: %llu seeds, faults: %llu crashes, %llu partitions/cuts, %llu paused agents, %llu postmaster kills, "
      "%llu in-place restarts of pgwarden (%llu refused), %llu hosts lost for good (at the heal, a failover "
      "required by the rules in %llu runs, blocked in %llu; %llu acknowledged writes given up by overrides), "
      "loss up to 30%%, duplication, reordering, clock drift ±2%%; %llu operator requests (%llu resets, %llu member removals, "
      "%llu data-loss overrides committed); "
      "%llu failovers, %llu switchovers; %llu writes acknowledged, %llu lost in asynchronous mode, 0 in synchronous "
      "mode (checked); I1/I2/I3/I4/I5/epoch/timeline checks after every event (%llu with a lease held): %s\n",
      (unsigned long long)t.seeds, (unsigned long long)t.crashes, (unsigned long long)t.partitions,
      (unsigned long long)t.pauses, (unsigned long long)t.pm_kills, (unsigned long long)t.inplace,
      (unsigned long long)t.inplace_refused, (unsigned long long)t.lost_hosts, (unsigned long long)t.rule_required,
      (unsigned long long)t.rule_blocked, (unsigned long long)t.forgiven, (unsigned long long)t.ops,
      (unsigned long long)t.resets, (unsigned long long)t.member_removals, (unsigned long long)t.overrides,
      (unsigned long long)t.failovers, (unsigned long long)t.switchovers,
      (unsigned long long)t.acked, (unsigned long long)t.lost_async, (unsigned long long)t.lease_events,
      failed ? "FAILED" : "ok");
  return failed ? 1 : 0;
}
