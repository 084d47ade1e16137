// Unit tests for the agent's parts (issue 11, "also seen" items), each on
// the production class with a recording fake world, raft node and
// PostgreSQL: renewals retried through a new leader at once, a release that
// was not committed proposed again (and the releaser's lease ended first),
// a former primary's directory always rewound before following, a
// bootstrap claim read back through the log before initdb, and the
// synchronous set narrowed in the log only once a remaining member caught up.
#include <catch2/catch.hpp>

#include "ha/agent_context.h"
#include "ha/bootstrap_controller.h"
#include "ha/lease_renewer.h"
#include "ha/membership_controller.h"
#include "ha/primary_controller.h"
#include "ha/route_builder.h"
#include "ha/sync_controller.h"

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
  void transfer_leadership(uint64_t) override {}
  void broadcast_app(const std::string&) override {}
  void send_app(uint64_t, const std::string&) override {}
  void set_app_handler(consensus::AppMessageHandler) override {}
  void set_leader_change_handler(std::function<void()>) override {}
  bool is_leader() const override { return leader == 1; }
  uint64_t leader_id() const override { return leader; }
  uint64_t term() const override { return 3; }
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
  void start(pgctl::Role, const pgctl::Upstream&, pgctl::Done) override { calls.push_back("start"); }
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
  pid_t pid = 0;
  pid_t postmaster_pid() const override { return pid; }
  bool adopted() const override { return false; }
  void set_expected_system_id(uint64_t) override {}
  pgctl::CloneProgress clone_progress() const override { return {}; }
  uint32_t bin_major_version() const override { return 15; }
  void set_exit_handler(std::function<void(int)>) override {}
};

struct NoFencer : FencerPort {
  void arm(pid_t, int64_t) override {}
  FencerHealth supervise() override { return {}; }
};

struct Rig {
  conf::Config cfg;
  FakeWorld world;
  FakeRaft raft;
  FakePg pg;
  NoFencer fencer;
  ClusterStateMachine sm;
  std::unique_ptr<AgentContext> ctx;
  uint64_t index = 0;
  Rig() {
    cfg.node_name = "n1";
    cfg.cluster_name = "t";
    cfg.members = {{"n1", "10.0.0.1", 5010}, {"n2", "10.0.0.2", 5010}, {"n3", "10.0.0.3", 5010}};
    ctx = std::make_unique<AgentContext>(cfg, world, sm, pg, fencer);
    ctx->raft = &raft;
  }
  void apply(Command c) { sm.apply(++index, c.encode()); }
  void primary_n1() {
    Command claim;
    claim.type = CmdType::claim;
    claim.node = "n1";
    apply(claim);
    Command done;
    done.type = CmdType::bootstrap_done;
    done.node = "n1";
    done.system_id = 7;
    apply(done);
  }
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
  CHECK(period < holder_route_window_ms(r.cfg.ha_lease_ms));
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
  Command ready;
  ready.type = CmdType::ready;
  ready.node = "n1";
  ready.epoch = r.sm.state().epoch;
  r.apply(ready);
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
  // The lease itself would allow lease - fence_margin (2 s): the window is shorter.
  CHECK(holder_route_window_ms(lease) < lease - r.cfg.ha_fence_margin_ms);

  // Heard the quorum since, but no renewal confirmed: past the window, no route.
  r.world.now = t_p + holder_route_window_ms(lease) + 1;
  raft.contact = r.world.now;
  route = build_route(*r.ctx);
  CHECK_FALSE(route.has_primary);
  CHECK(r.ctx->lease.hold.holds(E, r.world.now));  // although the lease still holds

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
    Command b;
    b.type = CmdType::barrier;
    r.apply(b);
    boot.reconcile();
    REQUIRE(r.pg.calls.size() == 1);
    CHECK(r.pg.calls[0] == "initdb");
  }
  SECTION("the claim was cleared and given on before the barrier: nothing") {
    Command clear;
    clear.type = CmdType::clear_claim;
    clear.node = "n1";
    r.apply(clear);
    Command other;
    other.type = CmdType::claim;
    other.node = "n2";
    r.apply(other);
    r.raft.proposals.back().second({true, r.index + 1, "", false});
    Command b;
    b.type = CmdType::barrier;
    r.apply(b);
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
  consensus::Membership membership() const override { return m; }
  void propose_membership(const consensus::Membership&, consensus::ProposalCallback) override { ++proposed; }
};

// A peer's status message as its own MemberView would send it.
std::string peer_status(const std::string& name, DataKind data, uint64_t system_id, uint64_t seq_base = 1) {
  MemberView v(name, {"n1", "n2", "n3"}, 1000, 0, seq_base);
  v.own().name = name;
  v.own().data = data;
  v.own().system_id = system_id;
  return v.next_own_message(0);
}
}  // namespace

TEST_CASE("member remove refuses the primary, a member of the synchronous set, and the only copy of the data") {
  Rig r;
  MemberRaft raft;
  raft.leader = 1;
  r.ctx->raft = &raft;
  r.primary_n1();  // n1 holds epoch 1 of system 7
  MembershipController mc(*r.ctx);
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

  // I4: a member of the committed synchronous set may hold the only copy of
  // acknowledged commits, and failover waits to hear from it.
  Command sync;
  sync.type = CmdType::set_sync;
  sync.epoch = r.sm.state().epoch;
  sync.node = "n1";
  sync.members = {"n3"};
  r.apply(sync);
  REQUIRE(r.sm.state().sync == std::vector<std::string>{"n3"});
  CHECK(refused_with("n3", "synchronous standby set"));
  CHECK(raft.proposed == 0);

  // No primary any more; n2 is the only member reporting the data.
  Command rel;
  rel.type = CmdType::release;
  rel.node = "n1";
  rel.epoch = r.sm.state().epoch;
  r.apply(rel);
  REQUIRE(r.sm.state().primary.empty());
  bool changed = false;
  REQUIRE(r.ctx->members.received("n2", peer_status("n2", DataKind::cluster, 7), r.world.now, &changed));
  REQUIRE(r.ctx->members.received("n3", peer_status("n3", DataKind::empty, 0), r.world.now, &changed));
  CHECK(refused_with("n2", "only copy of the cluster's data"));
  CHECK(raft.proposed == 0);

  // Once another member reports the data too, n2 may go.
  REQUIRE(r.ctx->members.received("n3", peer_status("n3", DataKind::cluster, 7, 100), r.world.now, &changed));
  auto res = remove("n2");
  CHECK((!res || res->http_status == 200));
  CHECK(raft.proposed == 1);
}

TEST_CASE("synchronous mode: a narrower set is committed only once a remaining member has caught up") {
  // ANY 1 (n2, n3) committed; n3 stops streaming. A commit n3 alone
  // acknowledged is on n3 and the primary only, until n2 replays it: the
  // committed set keeps n3 (failover then waits to hear from it) until n2 has
  // replayed past the primary's position measured after PostgreSQL dropped n3.
  Rig r;
  r.primary_n1();
  SyncController sync(*r.ctx);
  pgctl::Status st;
  st.running = true;
  st.current_lsn = 1000;
  auto standby = [](const std::string& name, uint64_t replay) {
    pgctl::Status::Standby sb;
    sb.application_name = name;
    sb.state = "streaming";
    sb.replay_lsn = replay;
    return sb;
  };
  st.standbys = {standby("n2", 1000), standby("n3", 1000)};
  auto probe = [&] {
    r.pg.probe_answer = st;
    REQUIRE(r.ctx->local.probe(r.world.now, [] {}));
  };
  auto turn = [&] {  // one loop turn: a probe, then the controller
    probe();
    sync.reconcile();
  };
  auto commit_sync = [&] {  // the last set_sync proposal commits
    REQUIRE(!r.raft.proposals.empty());
    auto& [c, cb] = r.raft.proposals.back();
    REQUIRE(c.type == CmdType::set_sync);
    r.apply(c);
    consensus::ProposalResult res;
    res.committed = true;
    cb(res);
  };
  // New epoch: PostgreSQL reset to asynchronous, then ANY 1 (n2, n3), then
  // (after the catch-up that leaving asynchronous mode needs) C = {n2, n3}.
  for (int i = 0; i < 6 && r.raft.count(CmdType::set_sync) == 0; ++i) turn();
  REQUIRE(r.raft.count(CmdType::set_sync) == 1);
  commit_sync();
  REQUIRE(r.sm.state().sync == std::vector<std::string>{"n2", "n3"});
  REQUIRE(r.pg.standby_names.back() == "ANY 1 (\"n2\",\"n3\")");

  // n3 drops out; the primary has moved on to 1200 (acknowledged by n3).
  st.standbys = {standby("n2", 1000)};
  st.current_lsn = 1200;
  turn();
  CHECK(r.pg.standby_names.back() == "ANY 1 (\"n2\")");  // S narrows at once
  for (int i = 0; i < 5; ++i) turn();
  CHECK(r.raft.count(CmdType::set_sync) == 1);  // C keeps n3: n2 is behind 1200
  CHECK(r.sm.state().sync == std::vector<std::string>{"n2", "n3"});
  st.standbys = {standby("n2", 1200)};
  turn();
  REQUIRE(r.raft.count(CmdType::set_sync) == 2);
  commit_sync();
  CHECK(r.sm.state().sync == std::vector<std::string>{"n2"});
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
