// Unit tests for the agent's parts (issue 11, "also seen" items), each on
// the production class with a recording fake world, raft node and
// PostgreSQL: renewals retried through a new leader at once, a release that
// was not committed proposed again (and the releaser's lease ended first),
// a former primary's directory always rewound before following, a
// bootstrap claim read back through the log before initdb, the
// synchronous set narrowed in the log only once a remaining member caught up,
// synchronous_node_count (ANY k over k chosen standbys, q lowered before a
// narrower setting), synchronous_mode_strict, and a pending reinit of a member
// of the committed set held until the set no longer names it.
// Issue 21: the fencer armed with the postmaster and the lease while
// PostgreSQL starts as primary (item 4); a nofailover member kept out of the
// synchronous set whether its status is stale or missing (item 5); a
// proposal whose outcome is unknown confirmed through a barrier before the
// sync controller decides again, and answered 504 to an operator (item 7);
// the diagnostics of a raft state refused for its cluster id.
#include <catch2/catch.hpp>
#include <map>

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "ha/agent.h"
#include "ha/agent_context.h"
#include "ha/agent_diagnostics.h"
#include "ha/bootstrap_controller.h"
#include "ha/leader_placement.h"
#include "ha/lease_renewer.h"
#include "ha/membership_controller.h"
#include "ha/primary_controller.h"
#include "ha/route_builder.h"
#include "ha/standby_controller.h"
#include "ha/switchover_controller.h"
#include "ha/sync_controller.h"
#include "support/ha_commands.h"

using namespace pw;
using namespace pw::node;

namespace {

struct FakeWorld : AgentWorld {
  int64_t now = 100000;
  int wakes = 0;
  std::optional<uint64_t> marker;
  int64_t mono_ms() const override { return now; }
  int64_t wall_ms() const override { return 1700000000000 + now; }
  void wake(int64_t) override { ++wakes; }
  void publish_route(const proxy::Route&) override {}
  std::optional<uint64_t> read_marker() const override { return marker; }
  void write_marker(uint64_t id) override { marker = id; }
  void remove_marker() override { marker.reset(); }
};

struct FakeRaft : consensus::RaftNode {
  uint64_t leader = 2;
  std::vector<std::pair<Command, consensus::ProposalCallback>> proposals;
  void start() override {}
  void stop() override {}
  void propose(const std::string& data, consensus::ProposalCallback cb) override {
    proposals.push_back({*Command::decode(data), std::move(cb)});
  }
  std::vector<uint64_t> transfers;
  consensus::ElectionPriority priority = consensus::ElectionPriority::normal;
  void transfer_leadership(uint64_t to) override { transfers.push_back(to); }
  void set_election_priority(consensus::ElectionPriority p) override { priority = p; }
  void broadcast_app(const std::string&) override {}
  void send_app(uint64_t, const std::string&) override {}
  void set_app_handler(consensus::AppMessageHandler) override {}
  void set_leader_change_handler(std::function<void()>) override {}
  bool is_leader() const override { return leader == 1; }
  uint64_t leader_id() const override { return leader; }
  uint64_t term_ = 3;
  uint64_t term() const override { return term_; }
  uint64_t commit_index() const override { return 0; }
  uint64_t applied_index() const override { return 0; }
  uint64_t self_id() const override { return 1; }
  int64_t last_heard_ms(uint64_t) const override { return 0; }
  size_t count(CmdType t) const {
    size_t n = 0;
    for (const auto& p : proposals) n += p.first.type == t;
    return n;
  }
};

struct FakePg : pgctl::Postgres {
  pgctl::DataDirInfo data;
  std::vector<std::string> calls;
  pgctl::DataDirInfo inspect() override { return data; }
  void initdb(pgctl::Done) override { calls.push_back("initdb"); }
  // Like pgctl: the postmaster is forked (pid known) before start() returns;
  // the start is reported later, through start_done.
  pid_t fork_pid = 0;
  pid_t pid = 0;
  pgctl::Done start_done;
  void start(pgctl::Role role, const pgctl::Upstream&, pgctl::Done done) override {
    calls.push_back(role == pgctl::Role::primary ? "start primary" : "start standby");
    pid = fork_pid;
    start_done = std::move(done);
  }
  void stop(pgctl::StopMode, pgctl::Done) override { calls.push_back("stop"); }
  void promote(uint32_t min_timeline, pgctl::Done done) override {
    calls.push_back("promote");
    promote_floors.push_back(min_timeline);
    if (promote_result && done) done(*promote_result);
  }
  std::vector<uint32_t> promote_floors;
  std::optional<pgctl::Result> promote_result;  // unset: the promotion never finishes
  void wait_for_clients(int64_t, int64_t, pgctl::Done) override { calls.push_back("wait_for_clients"); }
  void follow(const pgctl::Upstream&, pgctl::Done) override { calls.push_back("follow"); }
  void basebackup(const pgctl::Upstream&, pgctl::Done) override { calls.push_back("basebackup"); }
  void rewind(const pgctl::Upstream&, pgctl::Done) override { calls.push_back("rewind"); }
  pgctl::Result move_aside(std::string*) override { calls.push_back("move_aside"); return {}; }
  void demote(const pgctl::Upstream&, pgctl::Done) override {}
  void ensure_replication_role(pgctl::Done) override {}
  void ensure_superuser_password(pgctl::Done) override {}
  void run_sql_file(const std::string&, pgctl::Done) override {}
  void sync_slots(const std::vector<std::string>&, pgctl::Done) override {}
  std::vector<std::string> standby_names;  // every synchronous_standby_names set
  std::optional<pgctl::Status> probe_answer;  // unset: a probe never returns
  void set_synchronous_standby_names(const std::string& v, pgctl::Done done) override {
    standby_names.push_back(v);
    if (done) done({});
  }
  void probe(std::function<void(const pgctl::Status&)> cb) override {
    if (probe_answer) cb(*probe_answer);
  }
  pid_t postmaster_pid() const override { return pid; }
  bool adopted() const override { return false; }
  void set_expected_system_id(uint64_t) override {}
  pgctl::CloneProgress clone_progress() const override { return {}; }
  uint32_t bin_major_version() const override { return 15; }
  void set_exit_handler(std::function<void(int)>) override {}
  std::optional<uint64_t> fork;  // what pg_wal's history says (unset: no file)
  std::vector<std::pair<uint32_t, uint32_t>> switchpoints_asked;
  std::optional<uint64_t> switchpoint(uint32_t tli, uint32_t ancestor) override {
    switchpoints_asked.push_back({tli, ancestor});
    return fork;
  }
};

struct FakeFencer : FencerPort {
  std::vector<std::pair<pid_t, int64_t>> arms;  // every order, in turn
  void arm(pid_t pm, int64_t deadline) override { arms.push_back({pm, deadline}); }
  FencerHealth supervise() override { return {}; }
};

struct Rig {
  conf::Config cfg;
  FakeWorld world;
  FakeRaft raft;
  FakePg pg;
  FakeFencer fencer;
  ClusterStateMachine sm;
  std::unique_ptr<AgentContext> ctx;
  uint64_t index = 0;
  explicit Rig(int members = 3) {
    cfg.node_name = "n1";
    cfg.cluster_name = "t";
    for (int i = 1; i <= members; ++i)
      cfg.members.push_back({"n" + std::to_string(i), "10.0.0." + std::to_string(i), 5010});
    ctx = std::make_unique<AgentContext>(cfg, world, sm, pg, fencer);
    ctx->raft = &raft;
  }
  void apply(Command c) { sm.apply(++index, c.encode()); }
  /// `node` claimed the bootstrap and finished it: it holds epoch 1.
  void bootstrapped_by(const std::string& node) {
    apply(cmd(CmdType::claim, node));
    Command done = cmd(CmdType::bootstrap_done, node);
    done.system_id = 7;
    apply(done);
  }
  void primary_n1() { bootstrapped_by("n1"); }
};

}  // namespace

TEST_CASE("a renewal lost with its leader is proposed again at once through the new leader") {
  Rig r;
  r.primary_n1();
  LeaseRenewer renewer(*r.ctx);
  renewer.run();
  REQUIRE(r.raft.count(CmdType::renew) == 1);
  const int64_t period = renewal_period_ms(r.cfg.ha_lease_ms);
  r.world.now += period / 2;
  renewer.run();  // the first is still in flight (sent to leader n2): wait
  CHECK(r.raft.count(CmdType::renew) == 1);
  r.raft.leader = 3;  // n2 vanished; n3 leads now
  renewer.leader_changed();
  renewer.run();
  CHECK(r.raft.count(CmdType::renew) == 2);  // not a period later: now
  r.world.now += 1;
  renewer.run();
  CHECK(r.raft.count(CmdType::renew) == 2);
  // Still not committed a period later: another one, while the holder's
  // route window (0.3 lease) is still open.
  r.world.now += period;
  renewer.run();
  CHECK(r.raft.count(CmdType::renew) == 3);
}

TEST_CASE("a renewal dropped with no leader goes at once when one is known; a confirmed one is not repeated") {
  Rig r;
  r.primary_n1();
  LeaseRenewer renewer(*r.ctx);
  const int64_t period = renewal_period_ms(r.cfg.ha_lease_ms);
  r.raft.leader = 0;
  renewer.run();
  REQUIRE(r.raft.count(CmdType::renew) == 1);
  r.raft.proposals.back().second(consensus::ProposalResult{});  // dropped: no leader known
  renewer.leader_changed();  // still none: proposing now would be dropped too
  renewer.run();
  CHECK(r.raft.count(CmdType::renew) == 1);
  r.world.now += period / 3;
  r.raft.leader = 2;  // elected: the unconfirmed renewal goes again, now
  renewer.leader_changed();
  renewer.run();
  REQUIRE(r.raft.count(CmdType::renew) == 2);
  // That one is confirmed (applied); another leader change repeats nothing.
  const Command& last = r.raft.proposals.back().first;
  r.ctx->lease.hold.applied(last.epoch, last.seq);
  REQUIRE(r.ctx->lease.hold.confirmed_ms() == r.world.now);
  r.world.now += 1;
  r.raft.leader = 3;
  renewer.leader_changed();
  renewer.run();
  CHECK(r.raft.count(CmdType::renew) == 2);
}

namespace {
struct LeaderRaft : FakeRaft {
  int64_t contact = 0;
  int64_t leader_contact_ms() const override { return contact; }
};
}  // namespace

TEST_CASE("the holder's own route ends 0.3 lease after its newest confirmed renewal") {
  // The old primary, cut from its peers while its clients still reach it,
  // must stop forwarding within 0.3 lease of its last confirmed renewal:
  // writes it acknowledges after that would be rewound away (issue 12).
  Rig r;
  LeaderRaft raft;
  raft.leader = 1;  // n1 leads raft and holds the lock
  r.ctx->raft = &raft;
  r.primary_n1();
  r.apply(cmd(CmdType::ready, "n1", r.sm.state().epoch));
  REQUIRE(r.sm.state().ready_epoch == r.sm.state().epoch);
  const uint64_t E = r.sm.state().epoch;
  const int64_t lease = r.cfg.ha_lease_ms;
  const int64_t t_p = r.world.now;
  r.ctx->lease.hold.proposed(E, 1, t_p);
  r.ctx->lease.hold.applied(E, 1);
  r.ctx->lease.watch.renewal_applied(E, t_p);
  raft.contact = t_p;  // a quorum answered just now

  proxy::Route route = build_route(*r.ctx);
  REQUIRE(route.has_primary);
  CHECK(route.valid_until_ms <= t_p + holder_route_window_ms(lease));

  // Heard the quorum since, but no renewal confirmed: past the window, no route.
  r.world.now = t_p + holder_route_window_ms(lease) + 1;
  raft.contact = r.world.now;
  route = build_route(*r.ctx);
  CHECK_FALSE(route.has_primary);
  // ... although the lease still holds, and is not yet at its fence point.
  CHECK(r.ctx->lease.hold.holds(E, r.world.now));
  CHECK_FALSE(r.ctx->lease.hold.must_fence(E, r.world.now));

  // A renewal proposed now and confirmed opens it again.
  r.ctx->lease.hold.proposed(E, 2, r.world.now);
  r.ctx->lease.hold.applied(E, 2);
  r.ctx->lease.watch.renewal_applied(E, r.world.now);
  route = build_route(*r.ctx);
  CHECK(route.has_primary);
}

TEST_CASE("a release ends our lease first and is proposed again when it was not committed") {
  Rig r;
  r.primary_n1();
  r.ctx->lease.hold.proposed(1, 5, r.world.now);
  r.ctx->lease.hold.applied(1, 5);
  REQUIRE(r.ctx->lease.hold.holds(1, r.world.now));
  r.ctx->release(1, "", 0, "test");
  CHECK_FALSE(r.ctx->lease.hold.holds(1, r.world.now));  // before the proposal can commit
  REQUIRE(r.raft.count(CmdType::release) == 1);
  r.ctx->release(1, "", 0, "test");
  CHECK(r.raft.count(CmdType::release) == 1);  // in flight: once
  r.raft.proposals.back().second({false, 0, "no leader known", false});
  r.ctx->release(1, "", 0, "test");
  CHECK(r.raft.count(CmdType::release) == 2);  // dropped: asked again
}

TEST_CASE("a directory that last ran as a primary is rewound before following, whatever the log says") {
  // A crashed primary restarts and replays a log that still names it
  // primary: its directory must still be marked for rewind.
  Rig r;
  r.primary_n1();
  REQUIRE(r.sm.state().primary == "n1");
  r.pg.data.kind = pgctl::DataDirInfo::Kind::cluster;
  r.pg.data.system_id = 7;
  r.pg.data.was_standby = false;
  r.ctx->local.refresh();
  CHECK(r.ctx->local.needs_rewind());
  r.pg.data.was_standby = true;  // a standby's directory: no rewind needed
  LocalPg fresh(r.pg);
  fresh.refresh();
  CHECK_FALSE(fresh.needs_rewind());
}

TEST_CASE("a replayed bootstrap claim is read back through the log before initdb") {
  Rig r;
  Command claim;
  claim.type = CmdType::claim;
  claim.node = "n1";
  r.apply(claim);  // replayed from our own log after a restart
  r.ctx->local.refresh();
  BootstrapController boot(*r.ctx);
  boot.reconcile();
  CHECK(r.pg.calls.empty());  // no initdb on the replayed claim alone
  REQUIRE(r.raft.count(CmdType::barrier) == 1);
  SECTION("the claim is still ours once the barrier is applied: initdb") {
    r.raft.proposals.back().second({true, r.index + 1, "", false});
    r.apply(cmd(CmdType::barrier));
    boot.reconcile();
    REQUIRE(r.pg.calls.size() == 1);
    CHECK(r.pg.calls[0] == "initdb");
  }
  SECTION("the claim was cleared and given on before the barrier: nothing") {
    r.apply(cmd(CmdType::clear_claim, "n1"));
    r.apply(cmd(CmdType::claim, "n2"));
    r.raft.proposals.back().second({true, r.index + 1, "", false});
    r.apply(cmd(CmdType::barrier));
    boot.reconcile();
    CHECK(r.pg.calls.empty());
  }
}

namespace {
struct MemberRaft : FakeRaft {
  consensus::Membership m = consensus::seed_membership(
      {{1, "n1", "10.0.0.1", 5010, true, false}, {2, "n2", "10.0.0.2", 5010, true, false},
       {3, "n3", "10.0.0.3", 5010, true, false}});
  int proposed = 0;
  std::vector<std::pair<consensus::Membership, consensus::ProposalCallback>> changes;
  int64_t heard = 0;  // every peer's last frame (the quorum check of member remove)
  consensus::Membership membership() const override { return m; }
  void propose_membership(const consensus::Membership& to, consensus::ProposalCallback cb) override {
    ++proposed;
    changes.push_back({to, std::move(cb)});
  }
  int64_t last_heard_ms(uint64_t) const override { return heard; }
};

// A peer's status message as its own MemberView would send it.
std::string peer_status(const std::string& name, DataKind data, uint64_t system_id, uint64_t seq_base = 1,
                        bool nofailover = false, uint32_t timeline = 0) {
  MemberView v(name, {"n1", "n2", "n3"}, 1000, 0, seq_base);
  v.own().name = name;
  v.own().data = data;
  v.own().system_id = system_id;
  v.own().nofailover = nofailover;
  v.own().timeline = timeline;
  return v.next_own_message(0);
}
}  // namespace

TEST_CASE("member remove refuses the primary, the only copy of the data, and a removal that breaks the quorum") {
  Rig r;
  MemberRaft raft;
  raft.leader = 1;
  raft.heard = r.world.now;
  r.ctx->raft = &raft;
  r.primary_n1();  // n1 holds epoch 1 of system 7
  DeciderRunner dr(*r.ctx);
  MembershipController mc(*r.ctx, dr);
  auto remove = [&](const std::string& name) {
    std::optional<OpResult> out;
    mc.remove(name, [&](const OpResult& x) { out = x; });
    return out;
  };
  auto refused_with = [&](const std::string& name, const std::string& text) {
    auto res = remove(name);
    INFO(name << ": " << (res ? res->message : std::string("(pending)")));
    return res && res->http_status == 409 && res->message.find(text) != std::string::npos;
  };
  CHECK(refused_with("n1", "holds the primary lock"));

  // No primary any more; n2 is the only member reporting the data.
  r.apply(cmd(CmdType::release, "n1", r.sm.state().epoch));
  REQUIRE(r.sm.state().primary.empty());
  bool changed = false;
  REQUIRE(r.ctx->members.received("n2", peer_status("n2", DataKind::cluster, 7), r.world.now, &changed));
  REQUIRE(r.ctx->members.received("n3", peer_status("n3", DataKind::empty, 0), r.world.now, &changed));
  CHECK(refused_with("n2", "only copy of the cluster's data"));

  // The voters left (n1, n3) could not make a quorum: n3 is not heard.
  REQUIRE(r.ctx->members.received("n3", peer_status("n3", DataKind::cluster, 7, 100), r.world.now, &changed));
  raft.heard = r.world.now - 10 * r.cfg.raft_election_timeout_ms;
  CHECK(refused_with("n2", "cannot be reached"));
  CHECK(raft.proposed == 0);
  CHECK(raft.count(CmdType::mark_removal) == 0);

  // Once another member reports the data too and is heard, n2 may go: the
  // removal is marked in the log first (phase 1).
  raft.heard = r.world.now;
  auto res = remove("n2");
  CHECK_FALSE(res);  // answered once the removal ended
  CHECK(raft.count(CmdType::mark_removal) == 1);
  CHECK(raft.proposed == 0);
}

namespace {
// Member remove end to end on one node: n1 takes the request and, as the
// raft leader, drives phase 2; commits are applied by hand.
struct RemovalRig {
  Rig r;
  MemberRaft raft;
  DeciderRunner dr{*r.ctx};
  MembershipController mc{*r.ctx, dr};
  std::optional<OpResult> result;
  RemovalRig() {
    raft.leader = 1;
    raft.heard = r.world.now;
    r.ctx->raft = &raft;
    r.primary_n1();
    r.apply(cmd(CmdType::ready, "n1", r.sm.state().epoch));
    bool changed = false;
    for (const char* n : {"n2", "n3"})
      REQUIRE(r.ctx->members.received(n, peer_status(n, DataKind::cluster, 7), r.world.now, &changed));
  }
  /// Commits (applies, then answers) the newest proposal of type `t`.
  void commit(CmdType t) {
    for (auto it = raft.proposals.rbegin(); it != raft.proposals.rend(); ++it) {
      if (it->first.type != t || !it->second) continue;
      r.apply(it->first);
      consensus::ProposalResult res;
      res.committed = true;
      res.index = r.index;
      auto cb = std::move(it->second);
      it->second = nullptr;
      cb(res);
      return;
    }
    FAIL_CHECK("no proposal of " << cmd_name(t));
  }
  /// n1 becomes the raft leader of a new term and applies its barrier.
  void lead() {
    raft.leader = 1;
    ++raft.term_;
    dr.run();
    commit(CmdType::barrier);
    REQUIRE(dr.caught_up());
  }
  void sync_set(std::vector<std::string> members) {
    Command c = cmd(CmdType::set_sync, "n1", r.sm.state().epoch);
    c.members = std::move(members);
    c.seq = 1;
    r.apply(c);
  }
  void later(int64_t ms) {
    r.world.now += ms;
    raft.heard = r.world.now;
  }
};
}  // namespace

TEST_CASE("member remove: a member that joins the synchronous set before its mark commits is not removed") {
  // n2 is the raft leader when `member remove n2` arrives at n1, so the
  // configuration change waits for a leadership hand-over. Before the fix,
  // the checks ran only then, on n1's view at the request, and the change
  // was proposed after the hand-over whatever had happened meanwhile:
  // here n2 joined the committed synchronous set, and failover would have
  // waited for a member that is never heard again.
  RemovalRig x;
  x.raft.leader = 2;
  x.mc.remove("n2", [&](const OpResult& res) { x.result = res; });
  REQUIRE_FALSE(x.result);
  x.sync_set({"n2"});            // the primary's set_sync was ahead of the mark in the log
  x.commit(CmdType::mark_removal);
  CHECK(x.r.sm.state().removing == "n2");
  x.lead();                      // n2 handed leadership to n1
  x.mc.run();
  CHECK(x.raft.proposed == 0);   // it waits for the primary to narrow n2 out
  x.later(x.mc.removal_wait_ms() + 1);
  x.mc.run();
  CHECK(x.raft.proposed == 0);
  // Not narrowed out in time: the mark is withdrawn, and the caller told why.
  x.commit(CmdType::end_removal);
  CHECK(x.r.sm.state().removing.empty());
  x.mc.run();
  REQUIRE(x.result);
  CHECK(x.result->http_status == 409);
  CHECK(x.result->message.find("synchronous standby set") != std::string::npos);
  CHECK(x.raft.proposed == 0);
}

TEST_CASE("member remove: a member that took the lock before its mark is refused; the caller hears why") {
  RemovalRig x;
  x.mc.remove("n3", [&](const OpResult& res) { x.result = res; });
  REQUIRE_FALSE(x.result);
  // A switchover to n3 completed before the mark reached the log.
  x.r.apply(cmd(CmdType::release, "n1", x.r.sm.state().epoch, "n3"));
  REQUIRE(x.r.sm.state().primary == "n3");
  x.commit(CmdType::mark_removal);  // refused when applied
  REQUIRE(x.result);
  CHECK(x.result->http_status == 409);
  CHECK(x.result->message.find("holds the primary lock") != std::string::npos);
  CHECK(x.raft.proposed == 0);
}

TEST_CASE("member remove: narrowed out of the synchronous set, then removed; a new leader finishes a pending removal") {
  RemovalRig x;
  x.sync_set({"n2", "n3"});
  x.mc.remove("n3", [&](const OpResult& res) { x.result = res; });
  x.commit(CmdType::mark_removal);
  x.lead();
  x.mc.run();
  CHECK(x.raft.proposed == 0);  // still in C
  x.sync_set({"n2"});           // the primary narrowed it out
  x.mc.run();
  REQUIRE(x.raft.proposed == 1);
  CHECK_FALSE(x.raft.changes.back().first.find_name("n3"));
  // The change commits, and this leader is lost before it ends the removal.
  x.raft.m = x.raft.changes.back().first;
  x.raft.leader = 2;
  consensus::ProposalResult committed;
  committed.committed = true;
  x.raft.changes.back().second(committed);
  x.mc.run();
  CHECK(x.r.sm.state().removing == "n3");  // still marked
  REQUIRE(x.result);                       // the caller: removed
  CHECK(x.result->http_status == 200);
  // The next leader (n1 again, in a new term) finds the mark and ends it.
  x.lead();
  x.mc.run();
  x.commit(CmdType::end_removal);
  CHECK(x.r.sm.state().removing.empty());
  CHECK(x.r.sm.state().removal_note == "removed n3");
}

TEST_CASE("member remove: a new leader withdraws a pending removal whose checks fail on the applied state") {
  RemovalRig x;
  // Marked (by an earlier leader); the data is then on n3 only, no primary.
  x.r.apply(cmd(CmdType::mark_removal, "n3"));
  x.r.apply(cmd(CmdType::release, "n1", x.r.sm.state().epoch));
  bool changed = false;
  REQUIRE(x.r.ctx->members.received("n2", peer_status("n2", DataKind::empty, 0, 200), x.r.world.now, &changed));
  x.lead();
  x.mc.run();
  CHECK(x.raft.proposed == 0);
  x.commit(CmdType::end_removal);
  CHECK(x.r.sm.state().removing.empty());
  CHECK(x.r.sm.state().removal_note.find("only copy") != std::string::npos);
}

TEST_CASE("member remove refuses the only member on the timeline the last primary wrote on") {
  // sim_ha seed 629783845126:5: a primary promoted onto timeline 4 died
  // before any standby followed it and was removed; the decider promotes
  // only a member on the newest timeline, so failover then waited for good.
  Rig r;
  MemberRaft raft;
  raft.leader = 1;
  raft.heard = r.world.now;
  r.ctx->raft = &raft;
  r.primary_n1();
  DeciderRunner dr(*r.ctx);
  MembershipController mc(*r.ctx, dr);
  Command ready = cmd(CmdType::ready, "n1", r.sm.state().epoch);
  ready.timeline = 4;
  r.apply(ready);
  REQUIRE(r.sm.state().ready_timeline == 4);
  r.apply(cmd(CmdType::release, "n1", r.sm.state().epoch));
  REQUIRE(r.sm.state().primary.empty());
  bool changed = false;
  REQUIRE(r.ctx->members.received("n2", peer_status("n2", DataKind::cluster, 7, 1, false, 4), r.world.now, &changed));
  REQUIRE(r.ctx->members.received("n3", peer_status("n3", DataKind::cluster, 7, 1, false, 3), r.world.now, &changed));
  std::optional<OpResult> out;
  mc.remove("n2", [&](const OpResult& x) { out = x; });
  REQUIRE(out);
  INFO(out->message);
  CHECK(out->http_status == 409);
  CHECK(out->message.find("timeline 4") != std::string::npos);
  CHECK(out->message.find("--accept-data-loss") != std::string::npos);
  CHECK(raft.count(CmdType::mark_removal) == 0);
  // n3 may go: n2 still has timeline 4 (the removal is marked first).
  out.reset();
  mc.remove("n3", [&](const OpResult& x) { out = x; });
  INFO((out ? out->message : std::string("(pending)")));
  CHECK_FALSE(out);
  CHECK(raft.count(CmdType::mark_removal) == 1);
}

namespace {
// The primary n1's synchronous controller over a scripted pg_stat_replication.
struct SyncRig {
  Rig r;
  SyncController sync{*r.ctx};
  pgctl::Status st;
  explicit SyncRig(int members = 3) : r(members) {
    r.primary_n1();
    st.running = true;
    st.current_lsn = 1000;
    bool changed = false;  // every member has reported (one never heard from is left out of the set)
    for (int i = 2; i <= members; ++i) {
      const std::string n = "n" + std::to_string(i);
      REQUIRE(r.ctx->members.received(n, peer_status(n, DataKind::cluster, 7), r.world.now, &changed));
    }
  }
  static pgctl::Status::Standby standby(const std::string& name, uint64_t replay) {
    pgctl::Status::Standby sb;
    sb.application_name = name;
    sb.state = "streaming";
    sb.replay_lsn = replay;
    return sb;
  }
  void turn() {  // one loop turn: a probe, then the controller
    r.pg.probe_answer = st;
    REQUIRE(r.ctx->local.probe(r.world.now, [] {}));
    sync.reconcile();
  }
  void turns(int n) {
    for (int i = 0; i < n; ++i) turn();
  }
  void commit_sync() {  // the last set_sync proposal commits
    REQUIRE(!r.raft.proposals.empty());
    auto& [c, cb] = r.raft.proposals.back();
    REQUIRE(c.type == CmdType::set_sync);
    r.apply(c);
    consensus::ProposalResult res;
    res.committed = true;
    cb(res);
  }
  size_t proposed() const { return r.raft.count(CmdType::set_sync); }
  /// Turns until a set_sync is proposed (at most n), then commits it.
  void until_committed(int n = 6) {
    size_t before = proposed();
    for (int i = 0; i < n && proposed() == before; ++i) turn();
    REQUIRE(proposed() == before + 1);
    commit_sync();
  }
  const std::vector<std::string>& C() const { return r.sm.state().sync; }
  size_t acks() const { return r.sm.state().sync_acks; }
  const std::string& names() const { return r.pg.standby_names.back(); }
};
}  // namespace

TEST_CASE("synchronous mode: a narrower set is committed only once a remaining member has caught up") {
  // ANY 1 ("n2") committed (synchronous_node_count = 1: one synchronous
  // standby, n3 streams asynchronously); n2 stops streaming. A commit n2
  // acknowledged is on n2 and the primary only, until n3 replays it: the
  // committed set first widens to {n2, n3}, PostgreSQL then waits for n3, and
  // the set narrows to {n3} only once n3 has replayed past the primary's
  // position measured after that change (failover meanwhile hears n2 too).
  SyncRig x;
  x.st.standbys = {x.standby("n2", 1000), x.standby("n3", 1000)};
  // New epoch: PostgreSQL reset to asynchronous, then ANY 1 ("n2"), then
  // (after the catch-up that leaving asynchronous mode needs) C = {n2}.
  x.until_committed();
  REQUIRE(x.C() == std::vector<std::string>{"n2"});
  CHECK(x.acks() == 1);
  REQUIRE(x.names() == "ANY 1 (\"n2\")");

  // n2 drops out; the primary has moved on to 1200 (acknowledged by n2).
  x.st.standbys = {x.standby("n3", 1000)};
  x.st.current_lsn = 1200;
  x.until_committed(1);  // widening first: n3 joins C before PostgreSQL waits for it
  CHECK(x.C() == std::vector<std::string>{"n2", "n3"});
  x.turn();
  CHECK(x.names() == "ANY 1 (\"n3\")");
  x.turns(5);
  CHECK(x.proposed() == 2);  // C keeps n2: n3 is behind 1200
  CHECK(x.C() == std::vector<std::string>{"n2", "n3"});
  x.st.standbys = {x.standby("n3", 1200)};
  x.turn();
  REQUIRE(x.proposed() == 3);
  x.commit_sync();
  CHECK(x.C() == std::vector<std::string>{"n3"});
}

TEST_CASE("synchronous mode: a member marked for removal is never chosen, and is narrowed out by the usual rule") {
  SyncRig x;
  x.st.standbys = {x.standby("n2", 1000), x.standby("n3", 1000)};
  x.until_committed();
  REQUIRE(x.C() == std::vector<std::string>{"n2"});
  REQUIRE(x.names() == "ANY 1 (\"n2\")");
  // member remove n2, phase 1. Before, the controller kept n2 (already in
  // S) for good, and the removal could never go ahead.
  x.r.apply(cmd(CmdType::mark_removal, "n2"));
  x.st.current_lsn = 1200;
  x.until_committed(1);  // widening first: n3 joins C before PostgreSQL waits for it
  CHECK(x.C() == std::vector<std::string>{"n2", "n3"});
  x.turn();
  CHECK(x.names() == "ANY 1 (\"n3\")");
  x.turns(4);
  CHECK(x.C() == std::vector<std::string>{"n2", "n3"});  // n3 is behind 1200: n2 may hold a commit alone
  x.st.standbys = {x.standby("n2", 1200), x.standby("n3", 1200)};
  x.until_committed();
  CHECK(x.C() == std::vector<std::string>{"n3"});
  // And it is never chosen again while marked, however far ahead it is.
  x.st.standbys = {x.standby("n2", 5000), x.standby("n3", 1200)};
  x.turns(4);
  CHECK(x.C() == std::vector<std::string>{"n3"});
  CHECK(x.names() == "ANY 1 (\"n3\")");
}

TEST_CASE("synchronous_node_count 1: one synchronous standby, the others asynchronous") {
  // Old code: ANY 1 over every streaming standby, so a failover had to hear
  // all of them (losing the primary and any standby blocked it).
  SyncRig x(5);
  x.r.cfg.ha_synchronous_node_count = 1;
  x.st.standbys = {x.standby("n2", 900), x.standby("n3", 1000), x.standby("n4", 1000), x.standby("n5", 1000)};
  x.until_committed();
  CHECK(x.names() == "ANY 1 (\"n3\")");  // the most advanced, then by name
  CHECK(x.C() == std::vector<std::string>{"n3"});
  CHECK(sync_needed(x.r.sm.state()) == 1);
  // Stable: a standby that overtakes it does not take its place.
  x.st.standbys = {x.standby("n2", 1100), x.standby("n3", 1000), x.standby("n4", 1000), x.standby("n5", 1000)};
  x.turns(4);
  CHECK(x.proposed() == 1);
  CHECK(x.names() == "ANY 1 (\"n3\")");
}

TEST_CASE("synchronous_node_count 2: ANY 2, committed only once both replayed past the change; narrowing lowers q first") {
  SyncRig x(4);
  x.r.cfg.ha_synchronous_node_count = 2;
  x.st.standbys = {x.standby("n2", 1000), x.standby("n3", 990), x.standby("n4", 900)};
  x.turns(6);
  CHECK(x.names() == "ANY 2 (\"n2\",\"n3\")");
  // Leaving asynchronous mode: commits acknowledged before are on the
  // primary alone; C = {n2, n3} with q = 2 says each is on both. n3 is behind
  // the position measured after the change (1000): not yet (old code waited
  // for one member only).
  CHECK(x.proposed() == 0);
  x.st.standbys = {x.standby("n2", 1000), x.standby("n3", 1000), x.standby("n4", 900)};
  x.until_committed();
  CHECK(x.C() == std::vector<std::string>{"n2", "n3"});
  CHECK(x.acks() == 2);
  CHECK(sync_needed(x.r.sm.state()) == 1);  // every acknowledged commit is on both

  // n3 leaves; n4 replaces it. Widen C to {n2, n3, n4} (q stays 2: a commit
  // is on two of them), then ANY 2 (n2, n4), then narrow once both passed 1200.
  x.st.current_lsn = 1200;
  x.st.standbys = {x.standby("n2", 1200), x.standby("n4", 1000)};
  x.until_committed(1);
  CHECK(x.C() == std::vector<std::string>{"n2", "n3", "n4"});
  CHECK(x.acks() == 2);
  CHECK(sync_needed(x.r.sm.state()) == 2);
  x.turn();
  CHECK(x.names() == "ANY 2 (\"n2\",\"n4\")");
  x.turns(4);
  CHECK(x.proposed() == 2);  // n4 behind 1200
  x.st.standbys = {x.standby("n2", 1200), x.standby("n4", 1200)};
  x.until_committed();
  CHECK(x.C() == std::vector<std::string>{"n2", "n4"});
  CHECK(x.acks() == 2);

  // n4 leaves, nobody replaces it: ANY 1 (n2). q must drop to 1 *before*
  // PostgreSQL waits for one standby only (a commit then is on n2 alone).
  x.st.current_lsn = 1300;
  x.st.standbys = {x.standby("n2", 1300)};
  x.until_committed(1);
  CHECK(x.C() == std::vector<std::string>{"n2", "n4"});
  CHECK(x.acks() == 1);
  CHECK(x.names() == "ANY 2 (\"n2\",\"n4\")");
  x.turn();
  CHECK(x.names() == "ANY 1 (\"n2\")");
  x.until_committed();
  CHECK(x.C() == std::vector<std::string>{"n2"});
  CHECK(x.acks() == 1);
}

TEST_CASE("synchronous mode without a streaming standby: asynchronous with a diagnostic, or strict: writes wait") {
  for (bool strict : {false, true}) {
    INFO("strict " << strict);
    SyncRig x;
    x.r.cfg.ha_synchronous_mode_strict = strict;
    x.turn();  // new epoch: the setting reset
    CHECK(x.names() == (strict ? "ANY 1 (\"pgwarden.no-synchronous-standby\")" : ""));
    x.st.standbys = {x.standby("n2", 1000)};
    x.until_committed();
    CHECK(x.C() == std::vector<std::string>{"n2"});
    Command ready;
    ready.type = CmdType::ready;
    ready.node = "n1";
    ready.epoch = x.r.sm.state().epoch;
    x.r.apply(ready);
    CHECK(x.sync.degraded(ready.epoch).empty());
    // n2 stops streaming and nobody else does.
    x.st.standbys.clear();
    x.turns(4);
    if (strict) {
      // Old code went asynchronous here without a word.
      CHECK(x.proposed() == 1);
      CHECK(x.C() == std::vector<std::string>{"n2"});
      CHECK(x.names() == "ANY 1 (\"n2\")");  // commits wait for n2
      CHECK(x.sync.degraded(ready.epoch).find("commits wait") != std::string::npos);
    } else {
      REQUIRE(x.proposed() == 2);
      x.commit_sync();
      x.turn();
      CHECK(x.C().empty());
      CHECK(x.names().empty());
      CHECK(x.sync.degraded(ready.epoch).find("asynchronous") != std::string::npos);
    }
    // n2 streams again: synchronous again.
    x.st.standbys = {x.standby("n2", 1000)};
    if (!strict) x.until_committed();
    x.turns(3);
    CHECK(x.C() == std::vector<std::string>{"n2"});
    CHECK(x.names() == "ANY 1 (\"n2\")");
    CHECK(x.sync.degraded(ready.epoch).empty());
  }
}

TEST_CASE("synchronous mode: a pending reinit moves the data aside only once the committed set no longer names it") {
  // sim_ha seed 79975945033: the reinit was requested while n1 was outside
  // C (accepted), carried out after n1 had joined it — the only member of C,
  // its directory moved aside, and failover waited for it forever. Old code
  // moved it aside at once.
  Rig r;
  r.cfg.ha_synchronous_mode = true;
  r.pg.data.kind = pgctl::DataDirInfo::Kind::cluster;
  r.pg.data.system_id = 7;
  r.ctx->local.refresh();
  r.bootstrapped_by("n2");
  Command sync;
  sync.type = CmdType::set_sync;
  sync.epoch = r.sm.state().epoch;
  sync.node = "n2";
  sync.members = {"n1"};
  r.apply(sync);
  r.apply(cmd(CmdType::reinit, "n1"));
  StandbyController standby(*r.ctx);
  standby.reconcile();
  CHECK(std::find(r.pg.calls.begin(), r.pg.calls.end(), "move_aside") == r.pg.calls.end());
  CHECK(r.ctx->activity.text().find("synchronous standby set") != std::string::npos);
  sync.members.clear();  // the primary dropped n1 (its PostgreSQL stopped)
  r.apply(sync);
  standby.reconcile();
  CHECK(std::find(r.pg.calls.begin(), r.pg.calls.end(), "move_aside") != r.pg.calls.end());
}

namespace {
// n2 holds the lock of a ready epoch and says it serves; n1 (self) may lead raft.
void holder_n2(Rig& r) {
  r.bootstrapped_by("n2");
  r.apply(cmd(CmdType::ready, "n2", r.sm.state().epoch));
  REQUIRE(r.sm.state().primary == "n2");
  REQUIRE(r.sm.state().ready_epoch == r.sm.state().epoch);
}
void n2_reports(Rig& r, bool serving) {
  MemberStatus st;
  st.name = "n2";
  st.seq = static_cast<uint64_t>(r.world.now);
  st.pg_running = true;
  st.serving_known = true;
  st.serving = serving;
  bool acked = false;
  REQUIRE(r.ctx->members.received("n2", st.encode(), r.world.now, &acked));
}
}  // namespace

TEST_CASE("the raft leader hands leadership to a healthy lock holder, after a settle time (issue 21)") {
  Rig r;
  r.raft.leader = 1;  // n1 leads raft; n2 holds the lock
  holder_n2(r);
  LeaderPlacement p(*r.ctx);
  const uint64_t E = r.sm.state().epoch;
  const int64_t settle = LeaderPlacement::settle_ms(r.cfg);
  // Not yet healthy: no status from n2, no renewal through us.
  p.run();
  CHECK(r.raft.transfers.empty());
  CHECK(r.raft.priority == consensus::ElectionPriority::defer);  // a live holder elsewhere
  // Healthy from now on: a transfer only after the settle time (hysteresis).
  auto healthy_turn = [&](int64_t step) {
    r.world.now += step;
    n2_reports(r, true);
    r.ctx->lease.watch.renewal_applied(E, r.world.now);
    p.run();
  };
  healthy_turn(10);
  CHECK(r.raft.transfers.empty());
  for (int64_t t = 0; t < settle - 250; t += 250) healthy_turn(250);
  CHECK(r.raft.transfers.empty());
  healthy_turn(300);
  REQUIRE(r.raft.transfers.size() == 1);
  CHECK(r.raft.transfers[0] == 2);
  // Still leader (the transfer failed): not asked again before another settle time.
  healthy_turn(250);
  CHECK(r.raft.transfers.size() == 1);
  // A holder that stops serving is not a target.
  r.raft.transfers.clear();
  for (int i = 0; i < 20; ++i) {
    r.world.now += 250;
    n2_reports(r, false);
    r.ctx->lease.watch.renewal_applied(E, r.world.now);
    p.run();
  }
  CHECK(r.raft.transfers.empty());
}

TEST_CASE("right after a failover or switchover the new holder gets the leadership at once") {
  Rig r;
  r.raft.leader = 1;
  holder_n2(r);
  LeaderPlacement p(*r.ctx);
  p.epoch_ready(r.world.now);  // the epoch's `ready` was just applied
  n2_reports(r, true);
  r.ctx->lease.watch.renewal_applied(r.sm.state().epoch, r.world.now);
  p.run();
  REQUIRE(r.raft.transfers.size() == 1);
  CHECK(r.raft.transfers[0] == 2);
}

TEST_CASE("the lock holder stands first in an election") {
  Rig r;
  r.primary_n1();
  LeaderPlacement p(*r.ctx);
  const uint64_t E = r.sm.state().epoch;
  p.run();
  CHECK(r.raft.priority == consensus::ElectionPriority::normal);  // no lease yet
  r.ctx->lease.hold.proposed(E, 1, r.world.now);
  r.ctx->lease.hold.applied(E, 1);
  p.run();
  CHECK(r.raft.priority == consensus::ElectionPriority::first);
  CHECK(r.raft.transfers.empty());  // a follower never transfers
}

TEST_CASE("a follower keeps an earlier leader's unexpired grant after a leader change (issue 21, item 8)") {
  Rig r;
  holder_n2(r);
  const uint64_t E = r.sm.state().epoch;
  LeaderRaft raft;
  raft.leader = 3;  // n3 leads now; the grant came from n2, the previous leader
  raft.contact = r.world.now;
  r.ctx->raft = &raft;
  r.ctx->grant = RouteGrant{"n2", E, r.world.now + 800};
  proxy::Route route = build_route(*r.ctx);
  CHECK(route.has_primary);
  CHECK(route.valid_until_ms == r.world.now + 800);
  // Expired: no route until the new leader's grant.
  r.world.now += 801;
  raft.contact = r.world.now;
  CHECK_FALSE(build_route(*r.ctx).has_primary);
  // A grant for another epoch never counts.
  r.ctx->grant = RouteGrant{"n3", E + 1, r.world.now + 800};
  CHECK_FALSE(build_route(*r.ctx).has_primary);
}

// ---- diagnostics of a raft state refused for its cluster id (issue 21) ----

namespace {
struct IdentityRaft : FakeRaft {
  uint64_t id = 0x503cdffec16bfe16ull;  // this node's cluster id
  std::map<uint64_t, consensus::PeerStats> stats;
  uint64_t cluster_id() const override { return id; }
  consensus::PeerStats peer_stats(uint64_t peer) const override {
    auto it = stats.find(peer);
    return it == stats.end() ? consensus::PeerStats{} : it->second;
  }
  // Peer `peer` refused our state (by_peer) or we refused its, `ago` ms ago.
  void refuse(uint64_t peer, uint64_t theirs, bool by_peer, int64_t at) {
    consensus::PeerStats& s = stats[peer];
    s.cluster_id = theirs;
    s.identity_refusal = by_peer ? "cluster id mismatch: ..." : "cluster id mismatch (ours): ...";
    s.refused_by_peer = by_peer;
    s.identity_refused_ms = at;
  }
};

const Diagnostic* find_diag(const Diagnostics& d, const std::string& code) {
  for (const auto& x : d)
    if (x.code == code) return &x;
  return nullptr;
}
}  // namespace

TEST_CASE("a node whose raft state a quorum refuses says so with the command, not no_quorum") {
  // The second half: the stale node showed only no_quorum and
  // "start pgwarden on the unreachable members" while they were running and
  // refusing it; the cause was only in the log.
  Rig r;
  r.cfg.state_dir = "/var/lib/pgwarden/";
  IdentityRaft raft;
  r.ctx->raft = &raft;
  const int64_t started = r.world.now;
  r.world.now += 10 * r.cfg.raft_election_timeout_ms;  // long past no_quorum's grace
  const uint64_t theirs = 0x15c1346ab7ab12f3ull;
  raft.refuse(2, theirs, true, r.world.now - 1000);
  raft.refuse(3, theirs, false, r.world.now - 500);
  Diagnostics d = local_diagnostics(*r.ctx, FencerHealth{}, started);
  const Diagnostic* stale = find_diag(d, "stale_raft_state");
  REQUIRE(stale);
  INFO(stale->message << "\n" << stale->action);
  CHECK(stale->message.find("/var/lib/pgwarden/ holds cluster id 0x503cdffec16bfe16") != std::string::npos);
  CHECK(stale->message.find("n2 has cluster id 0x15c1346ab7ab12f3; n3 has cluster id 0x15c1346ab7ab12f3") !=
        std::string::npos);
  CHECK(stale->action.find("`systemctl stop pgwarden && mv /var/lib/pgwarden /var/lib/pgwarden.cluster-503cdffec16bfe16"
                           " && systemctl start pgwarden`") != std::string::npos);
  CHECK_FALSE(find_diag(d, "no_quorum"));
  CHECK_FALSE(find_diag(d, "member_refused"));

  // Before the empty members committed their new id they refuse it as unconfirmed.
  raft.refuse(2, 0, true, r.world.now);
  raft.refuse(3, 0, true, r.world.now);
  d = local_diagnostics(*r.ctx, FencerHealth{}, started);
  REQUIRE(find_diag(d, "stale_raft_state"));
  CHECK(find_diag(d, "stale_raft_state")->message.find("n2 started without raft state and forms a new cluster") !=
        std::string::npos);

  // A path with a space is quoted for the shell.
  r.cfg.state_dir = "/srv/pg warden";
  d = local_diagnostics(*r.ctx, FencerHealth{}, started);
  CHECK(find_diag(d, "stale_raft_state")->action.find("mv '/srv/pg warden' '/srv/pg warden.cluster-503cdffec16bfe16'") !=
        std::string::npos);

  // Refusals stop (the peers are gone): after a while it is no_quorum again.
  r.world.now += 60000;
  d = local_diagnostics(*r.ctx, FencerHealth{}, started);
  CHECK_FALSE(find_diag(d, "stale_raft_state"));
  CHECK(find_diag(d, "no_quorum"));
}

TEST_CASE("one refused member of three: the others name it, and no_quorum says it is refused") {
  Rig r;
  IdentityRaft raft;
  r.ctx->raft = &raft;
  const int64_t started = r.world.now;
  r.world.now += 10 * r.cfg.raft_election_timeout_ms;
  raft.refuse(2, 0x77ull, false, r.world.now - 100);  // n2 kept an earlier cluster's state
  Diagnostics d = local_diagnostics(*r.ctx, FencerHealth{}, started);
  CHECK_FALSE(find_diag(d, "stale_raft_state"));  // one of three cannot keep this node out
  const Diagnostic* refused = find_diag(d, "member_refused");
  REQUIRE(refused);
  CHECK(refused->message.find("n2 (cluster id 0x0000000000000077)") != std::string::npos);
  const Diagnostic* nq = find_diag(d, "no_quorum");  // n3 is down too here
  REQUIRE(nq);
  CHECK(nq->message.find("n2 (10.0.0.2:5010, refused: its raft state has cluster id 0x0000000000000077)") !=
        std::string::npos);
  CHECK(nq->message.find("n3 (10.0.0.3:5010)") != std::string::npos);
}

TEST_CASE("synchronous mode: a nofailover member never enters the set, whether its status is stale or missing") {
  // Issue 21 item 5: the tag was read from a *fresh* status only, so a DR
  // replica whose agent went quiet (frozen, cut off) while its PostgreSQL kept
  // streaming entered S and C; one never heard from did too.
  Rig r;
  r.primary_n1();
  SyncController sync(*r.ctx);
  pgctl::Status st;
  st.running = true;
  st.current_lsn = 1000;
  auto standby = [](const std::string& name) {
    pgctl::Status::Standby sb;
    sb.application_name = name;
    sb.state = "streaming";
    sb.replay_lsn = 1000;
    return sb;
  };
  st.standbys = {standby("n2"), standby("n3")};
  auto turn = [&] {  // one loop turn: a probe, then the controller; set_sync commits at once
    r.pg.probe_answer = st;
    REQUIRE(r.ctx->local.probe(r.world.now, [] {}));
    sync.reconcile();
    if (!r.raft.proposals.empty() && r.raft.proposals.back().first.type == CmdType::set_sync &&
        r.raft.proposals.back().second) {
      auto& [c, cb] = r.raft.proposals.back();
      r.apply(c);
      consensus::ProposalResult res;
      res.committed = true;
      std::exchange(cb, nullptr)(res);
    }
  };
  auto names_ever = [&] {
    std::string all;
    for (const auto& v : r.pg.standby_names) all += v + ";";
    for (const auto& p : r.raft.proposals)
      for (const auto& m : p.first.members) all += m + ";";
    return all;
  };
  bool changed = false;
  REQUIRE(r.ctx->members.received("n2", peer_status("n2", DataKind::cluster, 7), r.world.now, &changed));

  SECTION("stale") {
    REQUIRE(r.ctx->members.received("n3", peer_status("n3", DataKind::cluster, 7, 1, true), r.world.now, &changed));
    for (int i = 0; i < 8; ++i) turn();
    REQUIRE(r.sm.state().sync == std::vector<std::string>{"n2"});
    // Every status goes stale; n3's PostgreSQL keeps streaming.
    r.world.now += 10 * 60 * 1000;
    REQUIRE(r.ctx->members.fresh("n3", r.world.now) == nullptr);
    for (int i = 0; i < 8; ++i) turn();
  }
  SECTION("never heard from") {
    for (int i = 0; i < 8; ++i) turn();
  }
  CHECK(r.sm.state().sync == std::vector<std::string>{"n2"});
  CHECK(r.pg.standby_names.back() == "ANY 1 (\"n2\")");
  CHECK(names_ever().find("n3") == std::string::npos);
}

TEST_CASE("a set_sync whose outcome is unknown is confirmed through a barrier before the next decision") {
  // Issue 21 item 7: a proposal on a node cut off from a quorum now resolves
  // as "unknown" after consensus's proposal timeout instead of never. The
  // controller resumes — but the set may still commit later, so it first
  // gets a barrier of its own committed, and only then decides again.
  Rig r;
  r.primary_n1();
  SyncController sync(*r.ctx);
  pgctl::Status st;
  st.running = true;
  st.current_lsn = 1000;
  pgctl::Status::Standby sb;
  sb.application_name = "n2";
  sb.state = "streaming";
  sb.replay_lsn = 1000;
  st.standbys = {sb};
  bool changed = false;
  REQUIRE(r.ctx->members.received("n2", peer_status("n2", DataKind::cluster, 7), r.world.now, &changed));
  auto turn = [&] {
    r.pg.probe_answer = st;
    REQUIRE(r.ctx->local.probe(r.world.now, [] {}));
    sync.reconcile();
  };
  for (int i = 0; i < 6 && r.raft.count(CmdType::set_sync) == 0; ++i) turn();
  REQUIRE(r.raft.count(CmdType::set_sync) == 1);
  for (int i = 0; i < 3; ++i) turn();
  CHECK(r.raft.proposals.size() == 1);  // in flight: nothing else

  consensus::ProposalResult unknown;
  unknown.error = "outcome unknown: not committed within 30 ticks";
  unknown.maybe_committed = true;
  std::exchange(r.raft.proposals.back().second, nullptr)(unknown);
  turn();
  REQUIRE(r.raft.proposals.size() == 2);  // resumed: not stuck
  CHECK(r.raft.proposals.back().first.type == CmdType::barrier);
  turn();
  CHECK(r.raft.proposals.size() == 2);  // waits for the barrier

  SECTION("the barrier's outcome is unknown too: another barrier") {
    std::exchange(r.raft.proposals.back().second, nullptr)(unknown);
    turn();
    REQUIRE(r.raft.proposals.size() == 3);
    CHECK(r.raft.proposals.back().first.type == CmdType::barrier);
  }
  SECTION("the barrier commits: the controller decides again on the applied state") {
    r.apply(r.raft.proposals.back().first);
    consensus::ProposalResult ok;
    ok.committed = true;
    std::exchange(r.raft.proposals.back().second, nullptr)(ok);
    turn();
    REQUIRE(r.raft.proposals.size() == 3);
    CHECK(r.raft.proposals.back().first.type == CmdType::set_sync);
    CHECK(r.raft.proposals.back().first.members == std::vector<std::string>{"n2"});
  }
}

TEST_CASE("an operator request whose outcome is unknown is answered 504, not 'not committed'") {
  log_set_level(LogLevel::error);
  Rig r;
  Agent agent(r.cfg, r.world, r.sm, r.pg, r.fencer);
  agent.set_raft(&r.raft);
  std::optional<OpResult> out;
  agent.set_paused(true, [&](const OpResult& x) { out = x; });
  REQUIRE(r.raft.count(CmdType::pause) == 1);
  consensus::ProposalResult unknown;
  unknown.error = "outcome unknown: not committed within 30 ticks";
  unknown.maybe_committed = true;
  r.raft.proposals.back().second(unknown);
  REQUIRE(out);
  CHECK(out->http_status == 504);
  CHECK(out->message.find("may still take effect") != std::string::npos);

  out.reset();
  agent.set_paused(true, [&](const OpResult& x) { out = x; });
  r.raft.proposals.back().second({false, 0, "no leader known", false});
  REQUIRE(out);
  CHECK(out->http_status == 503);  // certainly not committed: safe to retry
}

TEST_CASE("the fencer is armed with the postmaster and the lease while PostgreSQL starts as primary") {
  // Issue 21 item 4: it was disarmed until the start was reported — after
  // crash recovery, which can take minutes — so an agent frozen meanwhile
  // left a writable server behind past its lease.
  log_set_level(LogLevel::error);  // the agent's turns log
  Rig r;
  r.pg.data.kind = pgctl::DataDirInfo::Kind::cluster;
  r.pg.data.system_id = 7;
  r.pg.fork_pid = 4242;
  Agent agent(r.cfg, r.world, r.sm, r.pg, r.fencer);
  agent.attach_observer();
  agent.set_raft(&r.raft);
  r.primary_n1();                 // n1 holds epoch 1; its PostgreSQL is down
  r.world.now += 10 * r.cfg.ha_lease_ms;  // the others silent long enough (I3)
  auto commit_renewals = [&] {
    for (auto& [c, cb] : r.raft.proposals)
      if (c.type == CmdType::renew && cb) {
        r.apply(c);
        std::exchange(cb, nullptr)(consensus::ProposalResult{true, r.index, "", false});
      }
  };
  auto renew = [&] {  // a loop turn proposes a renewal; it commits
    size_t before = r.raft.count(CmdType::renew);
    agent.tick();
    REQUIRE(r.raft.count(CmdType::renew) == before + 1);
    commit_renewals();
  };
  agent.start();  // its first turn proposes the first renewal
  REQUIRE(r.raft.count(CmdType::renew) == 1);
  commit_renewals();
  REQUIRE(agent.lease_until_ms() > 0);
  agent.kick_now();
  REQUIRE(std::count(r.pg.calls.begin(), r.pg.calls.end(), "start primary") == 1);
  REQUIRE(r.pg.start_done);  // not reported yet: crash recovery runs
  REQUIRE(!r.fencer.arms.empty());
  CHECK(r.fencer.arms.back() == std::make_pair(pid_t{4242}, agent.lease_until_ms()));

  // Renewals applied during the start move the deadline on, as for a primary.
  const int64_t first = r.fencer.arms.back().second;
  r.world.now += r.cfg.ha_lease_ms / 2;
  renew();
  CHECK(r.fencer.arms.back() == std::make_pair(pid_t{4242}, agent.lease_until_ms()));
  CHECK(r.fencer.arms.back().second > first);

  SECTION("the start is reported: still armed") {
    std::exchange(r.pg.start_done, nullptr)(pgctl::Result::success());
    CHECK(r.fencer.arms.back() == std::make_pair(pid_t{4242}, agent.lease_until_ms()));
  }
  SECTION("the start fails: renewals no longer arm the fencer for it") {
    r.pg.pid = r.pg.fork_pid = 0;  // the postmaster exited during startup (and a retry would fail early)
    std::exchange(r.pg.start_done, nullptr)(pgctl::Result::failure("postgres exited during startup"));
    const size_t orders = r.fencer.arms.size();
    r.world.now += r.cfg.ha_lease_ms / 2;
    renew();
    for (size_t i = orders; i < r.fencer.arms.size(); ++i) CHECK(r.fencer.arms[i].first != 4242);
  }
}

TEST_CASE("the holder promotes above every timeline handed out, and ready records the one it writes on") {
  // n2 ran the cluster on timeline 3; n1, still on timeline 1, is named
  // primary (an operator accepting the loss): it must not land on 2 or 3
  // (nor on 4, handed out before).
  Rig r;
  Command adopt;
  adopt.type = CmdType::adopt;
  adopt.node = "n2";
  adopt.system_id = 7;
  adopt.timeline = 3;
  r.apply(adopt);
  Command ready;
  ready.type = CmdType::ready;
  ready.node = "n2";
  ready.epoch = 1;
  ready.timeline = 3;
  r.apply(ready);
  Command sp;
  sp.type = CmdType::set_primary;
  sp.node = "n1";
  sp.epoch = 1;
  sp.timeline = 1;
  r.apply(sp);
  const uint64_t E = r.sm.state().epoch;
  REQUIRE(r.sm.state().primary == "n1");
  // adopt handed out 4 (an adopted standby's directory is promoted; n2's
  // was a primary's and kept 3), set_primary hands out 5.
  REQUIRE(promotion_floor(r.sm.state()) == 5);

  r.pg.data.kind = pgctl::DataDirInfo::Kind::cluster;
  r.pg.data.system_id = 7;
  r.pg.data.timeline = 1;
  r.pg.data.was_standby = true;
  r.ctx->local.refresh();
  pgctl::Status standby;
  standby.running = true;
  standby.in_recovery = true;
  standby.timeline = 1;
  r.pg.probe_answer = standby;
  REQUIRE(r.ctx->local.probe(r.world.now, nullptr));
  r.world.now += r.cfg.ha_lease_ms;  // the other members went silent: nothing to wait for (I3)
  r.ctx->lease.hold.proposed(E, 1, r.world.now);
  r.ctx->lease.hold.applied(E, 1);

  PrimaryController primary(*r.ctx);
  pgctl::Result promoted;
  promoted.timeline = 5;
  r.pg.promote_result = promoted;
  CHECK_FALSE(primary.reconcile());
  REQUIRE(r.pg.promote_floors == std::vector<uint32_t>{5});
  REQUIRE(r.ctx->local.made_primary());
  CHECK(primary.announce_ready() == false);
  REQUIRE(r.raft.count(CmdType::ready) == 1);
  CHECK(r.raft.proposals.back().first.timeline == 5);
}

TEST_CASE("a primary started (not promoted) announces ready only with a timeline probed since") {
  Rig r;
  r.primary_n1();
  r.pg.pid = 4242;
  r.ctx->local.mark_primary();  // start(primary): the operation does not tell the timeline
  CHECK(r.ctx->local.primary_timeline() == 0);  // the status from before the start is no proof
  pgctl::Status st;
  st.running = true;
  st.in_recovery = false;
  st.timeline = 2;
  r.pg.probe_answer = st;
  PrimaryController primary(*r.ctx);
  CHECK_FALSE(primary.announce_ready());  // probes first
  CHECK(r.raft.count(CmdType::ready) == 0);
  CHECK(r.ctx->local.primary_timeline() == 2);
  CHECK_FALSE(primary.announce_ready());
  REQUIRE(r.raft.count(CmdType::ready) == 1);
  CHECK(r.raft.proposals.back().first.timeline == 2);
}

TEST_CASE("failover --accept-data-loss to a member behind the newest timeline is requested, as the diagnostic advises") {
  // The decider waives the timeline rule for an operator accepting the loss
  // and its failover_blocked_timeline diagnostic tells the operator to type
  // `pgwarden ctl failover --to n2 --accept-data-loss ...`; the request path
  // refused exactly that with 409 "on an old timeline" (old code).
  log_set_level(LogLevel::error);
  struct AppRaft : FakeRaft {
    consensus::AppMessageHandler handler;
    void set_app_handler(consensus::AppMessageHandler h) override { handler = std::move(h); }
  } raft;
  Rig r;
  Agent agent(r.cfg, r.world, r.sm, r.pg, r.fencer);
  agent.set_raft(&raft);
  r.primary_n1();
  Command ready;  // n1 wrote on timeline 3 ...
  ready.type = CmdType::ready;
  ready.node = "n1";
  ready.epoch = r.sm.state().epoch;
  ready.timeline = 3;
  r.apply(ready);
  Command release;  // ... and is gone: nobody holds the lock
  release.type = CmdType::release;
  release.node = "n1";
  release.epoch = r.sm.state().epoch;
  r.apply(release);
  REQUIRE(r.sm.state().primary.empty());
  REQUIRE(r.sm.state().ready_timeline == 3);
  MemberStatus n2;  // n2 only reached timeline 2
  n2.name = "n2";
  n2.seq = 1;
  n2.system_id = 7;
  n2.data = DataKind::cluster;
  n2.timeline = 2;
  n2.lsn = 1000;
  n2.pg_running = true;
  n2.in_recovery = true;
  REQUIRE(raft.handler);
  raft.handler(2, n2.encode());

  std::optional<OpResult> out;
  agent.failover("n2", false, "", [&](const OpResult& x) { out = x; });
  REQUIRE(out);
  CHECK(out->http_status == 409);
  CHECK(out->message.find("on an old timeline") != std::string::npos);
  CHECK(out->message.find("--accept-data-loss --confirm t") != std::string::npos);
  CHECK(raft.count(CmdType::request_failover) == 0);

  out.reset();
  agent.failover("n2", true, "t", [&](const OpResult& x) { out = x; });
  CHECK_FALSE(out);  // proposed: answered once committed
  REQUIRE(raft.count(CmdType::request_failover) == 1);
  CHECK(raft.proposals.back().first.node == "n2");
  CHECK(raft.proposals.back().first.flag);
}

TEST_CASE("member remove, synchronous mode without a ready primary: a member of the set, or the last primary when it is empty, is refused") {
  // Found by sim_ha (408582472441:5) once removals ran in synchronous seeds:
  // the last primary, released with the committed set empty, was removed;
  // only it could be promoted, and never was again.
  RemovalRig x;
  x.r.cfg.ha_synchronous_mode = true;
  x.sync_set({"n2"});
  x.r.apply(cmd(CmdType::release, "n1", x.r.sm.state().epoch));  // no primary now
  auto remove = [&](const std::string& name) {
    std::optional<OpResult> out;
    x.mc.remove(name, [&](const OpResult& res) { out = res; });
    return out;
  };
  auto res = remove("n2");
  REQUIRE(res);
  CHECK(res->http_status == 409);
  CHECK(res->message.find("committed synchronous standby set") != std::string::npos);
  x.sync_set({});
  res = remove("n1");
  REQUIRE(res);
  CHECK(res->http_status == 409);
  CHECK(res->message.find("was the last primary") != std::string::npos);
  CHECK(x.raft.count(CmdType::mark_removal) == 0);
  // Asynchronous mode: the last primary is not needed for a failover.
  x.r.cfg.ha_synchronous_mode = false;
  CHECK_FALSE(remove("n1"));
  CHECK(x.raft.count(CmdType::mark_removal) == 1);
}

TEST_CASE("a standby replayed past the new primary's fork stops to rewind at once; one before it follows") {
  // Found by the fault harness (sync mode): the standby that was not
  // promoted had more WAL than the one that was. PostgreSQL refuses the
  // new timeline at once; the agent waited for 10 s without streaming, and
  // the walreceiver's brief "streaming" of the old timeline up to the fork
  // reset that wait each time.
  log_set_level(LogLevel::error);
  for (uint64_t replay : {0x500u, 0x400u}) {
    for (bool known : {true, false}) {
      CAPTURE(replay, known);
      Rig r;
      r.bootstrapped_by("n2");
      Command ready = cmd(CmdType::ready, "n2");
      ready.epoch = r.sm.state().epoch;
      ready.timeline = 2;  // n2 writes on timeline 2, forked from 1 at 0/400
      r.apply(ready);
      REQUIRE(r.sm.state().ready_timeline == 2);
      r.pg.data.kind = pgctl::DataDirInfo::Kind::cluster;
      r.pg.data.system_id = 7;
      r.pg.data.was_standby = true;
      r.pg.data.timeline = 1;
      r.ctx->local.refresh();
      MemberView v("n2", {"n1", "n2", "n3"}, 1000, 0, 1);  // n2 runs read-write
      v.own().name = "n2";
      v.own().data = DataKind::cluster;
      v.own().system_id = 7;
      v.own().pg_running = true;
      bool changed = false;
      REQUIRE(r.ctx->members.received("n2", v.next_own_message(0), r.world.now, &changed));
      pgctl::Status st;  // our standby, on timeline 1, "streaming" for a moment
      st.running = true;
      st.in_recovery = true;
      st.timeline = 1;
      st.receive_lsn = st.replay_lsn = replay;
      st.wal_receiver_streaming = true;
      r.pg.probe_answer = st;
      REQUIRE(r.ctx->local.probe(r.world.now, [] {}));
      r.ctx->local.mark_standby("n2");
      if (known) r.pg.fork = 0x400;
      StandbyController standby(*r.ctx);
      standby.reconcile();
      const bool stopped = std::count(r.pg.calls.begin(), r.pg.calls.end(), "stop") == 1;
      CHECK(stopped == (known && replay > 0x400));
      CHECK(r.ctx->local.needs_rewind() == stopped);
      REQUIRE(!r.pg.switchpoints_asked.empty());
      CHECK(r.pg.switchpoints_asked.back() == std::make_pair(2u, 1u));
    }
  }
}

TEST_CASE("a switchover's old primary drains only once every member's proxy withdrew the route (bounded)") {
  // ha_switchover flake: a follower that applied the switchover a moment
  // after the old primary's 50 ms drain floor still routed a new client to
  // it, and the fast shutdown cut that client mid-statement.
  log_set_level(LogLevel::error);
  Rig r;
  r.primary_n1();
  Command ready = cmd(CmdType::ready, "n1");
  ready.epoch = r.sm.state().epoch;
  r.apply(ready);
  r.apply(cmd(CmdType::switchover, "n1", 0, "n2"));
  REQUIRE(r.sm.state().switchover);
  const uint64_t at = r.sm.last_index();
  MemberView n2("n2", {"n1", "n2", "n3"}, 1000, 0, 1), n3("n3", {"n1", "n2", "n3"}, 1000, 0, 1);
  n2.own().name = "n2";
  n3.own().name = "n3";
  n2.own().route_index = at - 1;  // n2 has not applied the switchover yet
  n3.own().route_index = at;      // n3 has
  bool changed = false;
  REQUIRE(r.ctx->members.received("n2", n2.next_own_message(0), r.world.now, &changed));
  REQUIRE(r.ctx->members.received("n3", n3.next_own_message(0), r.world.now, &changed));
  DeciderRunner decider(*r.ctx);
  SwitchoverController so(*r.ctx, decider);
  auto drained = [&] { return std::count(r.pg.calls.begin(), r.pg.calls.end(), "wait_for_clients"); };

  SECTION("it waits for n2, and goes on as soon as n2's route is past the switchover") {
    so.reconcile();
    r.world.now += 100;
    so.reconcile();
    CHECK(drained() == 0);
    CHECK(std::count(r.pg.calls.begin(), r.pg.calls.end(), "stop") == 0);
    CHECK(r.ctx->activity.text().find("n2") != std::string::npos);
    n2.own().route_index = at;
    REQUIRE(r.ctx->members.received("n2", n2.next_own_message(100), r.world.now, &changed));
    so.reconcile();
    CHECK(drained() == 1);
  }
  SECTION("a member that never confirms holds the switchover for a bounded time only") {
    for (int i = 0; i < 12 && drained() == 0; ++i) {
      so.reconcile();
      r.world.now += 100;
      // n2 keeps gossiping (fresh), always from before the switchover.
      REQUIRE(r.ctx->members.received("n2", n2.next_own_message(r.world.now), r.world.now, &changed));
      REQUIRE(r.ctx->members.received("n3", n3.next_own_message(r.world.now), r.world.now, &changed));
    }
    CHECK(drained() == 1);
    CHECK(r.world.now - 100000 >= 1000);
  }
  SECTION("a member of an older version (no route index) is not waited for") {
    MemberStatus old;
    old.name = "n2";
    old.seq = 99;
    REQUIRE(r.ctx->members.received("n2", old.encode(5), r.world.now, &changed));
    so.reconcile();
    CHECK(drained() == 1);
  }
}

TEST_CASE("member status v6 carries the route index") {
  MemberStatus m;
  m.name = "n1";
  m.route_index = 1234;
  auto d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->route_index == 1234);
  auto v5 = MemberStatus::decode(m.encode(5));
  REQUIRE(v5);
  CHECK(v5->route_index == 0);
}
