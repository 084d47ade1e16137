// tests/support/api_fake_backend.h — an ApiBackend made of plain
// values, for the API's unit tests: the facts are public fields a test sets
// to the situation it wants, and operator requests are recorded and
// answered with a result the test chooses (at once, or later by hand, to
// exercise requests that wait for a Raft commit). Header-only: node/ types.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "api/backend.h"
#include "api/handlers.h"

namespace pw::test {

class FakeApiBackend : public node::ApiBackend {
 public:
  struct Call {
    std::string op;    // "switchover", "failover", "pause", "resume", "reinit", "reset_cluster"
    std::string arg;   // to / member / confirm
    bool force = false;  // switchover --force; failover --accept-data-loss
    std::string confirm; // failover --accept-data-loss --confirm
    Call(std::string o, std::string a, bool f = false, std::string c = "")
        : op(std::move(o)), arg(std::move(a)), force(f), confirm(std::move(c)) {}
  };

  node::HealthFacts health_facts;
  node::ClusterFacts cluster_facts;
  node::RaftFacts raft_facts;
  std::optional<proxy::Counters> counters;
  node::FencerFacts fencer_facts;     // known = false: no fencer metrics
  std::vector<Call> calls;
  node::OpResult result{200, "ok"};
  bool defer = false;                 // keep `done` in `deferred` instead of answering
  std::vector<node::OpDone> deferred;

  node::HealthFacts health() const override { return health_facts; }
  node::ClusterFacts cluster() const override { return cluster_facts; }
  node::RaftFacts raft() const override { return raft_facts; }
  std::optional<proxy::Counters> proxy_counters() const override { return counters; }
  node::FencerFacts fencer() const override { return fencer_facts; }

  void switchover(const std::string& to, bool force, node::OpDone done) override {
    record({"switchover", to, force}, std::move(done));
  }
  void failover(const std::string& to, bool accept_data_loss, const std::string& confirm, node::OpDone done) override {
    record({"failover", to, accept_data_loss, confirm}, std::move(done));
  }
  void set_paused(bool paused, node::OpDone done) override {
    record({paused ? "pause" : "resume", "", false}, std::move(done));
  }
  void reinit(const std::string& member, node::OpDone done) override {
    record({"reinit", member, false}, std::move(done));
  }
  void reset_cluster(const std::string& confirm, node::OpDone done) override {
    record({"reset_cluster", confirm, false}, std::move(done));
  }
  // Day two: arguments joined into `arg` ("n2,n3 role=replica pending at=…").
  void scheduled_switchover(const std::string& to, bool force, int64_t at_ms, node::OpDone done) override {
    record({"scheduled_switchover", to + " at=" + std::to_string(at_ms), force}, std::move(done));
  }
  void restart(const std::vector<std::string>& members, const std::string& role, bool pending_only, int64_t at_ms,
               node::OpDone done) override {
    record({"restart", joined(members) + " role=" + role + (pending_only ? " pending" : "") +
                           " at=" + std::to_string(at_ms), false},
           std::move(done));
  }
  void reload(const std::vector<std::string>& members, node::OpDone done) override {
    record({"reload", joined(members), false}, std::move(done));
  }
  void flush(const std::string& member, const std::string& what, node::OpDone done) override {
    record({"flush", what + ":" + member, false}, std::move(done));
  }
  static std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
    return out;
  }
  std::optional<node::MembershipFacts> membership_facts;  // nullopt: raft not running
  std::optional<node::MembershipFacts> membership() const override { return membership_facts; }
  void member_add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
                  node::OpDone done) override {
    record({"member_add", name + "=" + host + ":" + std::to_string(port) + (stay_learner ? " learner" : ""), false},
           std::move(done));
  }
  void member_remove(const std::string& name, node::OpDone done) override {
    record({"member_remove", name, false}, std::move(done));
  }

  /// A healthy three-member cluster n1 (primary, ready), n2 and n3
  /// (streaming replicas, n3 lagging 3 MiB), seen from `self`.
  static FakeApiBackend healthy(const std::string& self = "n1") {
    FakeApiBackend b;
    node::ClusterFacts& c = b.cluster_facts;
    c.cluster_name = "demo";
    c.self = self;
    c.decider = "n2";
    c.raft_term = 7;
    c.state.init = node::InitKind::done;
    c.state.init_node = "n1";
    c.state.system_id = 7300000000000000001ull;
    c.state.primary = "n1";
    c.state.epoch = 4;
    c.state.ready_epoch = 4;
    c.state.ready_timeline = 3;
    c.state.max_timeline = 3;
    c.state.failovers = 2;
    c.state.switchovers = 1;
    c.state.history.push_back({4, "n1", 3, 0x3000060, 1764097200123, "failover: n2 lease expired"});
    const uint64_t primary_lsn = 0x5000000;
    for (int i = 1; i <= 3; ++i) {
      node::MemberFacts m;
      m.name = "n" + std::to_string(i);
      m.host = "127.0.7." + std::to_string(10 + i);
      m.seen = true;
      m.fresh = true;
      m.status.name = m.name;
      m.status.data = node::DataKind::cluster;
      m.status.system_id = c.state.system_id;
      m.status.timeline = 3;
      m.status.pg_running = true;
      m.status.in_recovery = i != 1;
      m.status.streaming = i != 1;
      m.status.lsn = i == 1 ? primary_lsn : i == 2 ? primary_lsn : primary_lsn - (3u << 20);
      m.status.agent_state = i == 1 ? "primary" : "streaming from n1";
      c.members.push_back(m);
    }
    b.raft_facts = {true, 1, 2, 7, 120, 119, false};
    node::HealthFacts& h = b.health_facts;
    bool primary = self == "n1";
    h.pg.running = true;
    h.pg.in_recovery = !primary;
    h.pg.timeline = 3;
    h.pg.server_version = 150004;
    h.pg.current_lsn = primary ? primary_lsn : 0;
    h.pg.receive_lsn = primary ? 0 : c.members[self == "n2" ? 1 : 2].status.lsn;
    h.pg.replay_lsn = h.pg.receive_lsn;
    h.pg.wal_receiver_streaming = !primary;
    h.ready_as_primary = primary;
    h.holds_lease = primary;
    h.lease_remaining_ms = primary ? 2500 : 0;
    h.agent_state = primary ? "primary" : "streaming from n1";
    return b;
  }

 private:
  void record(Call c, node::OpDone done) {
    calls.push_back(std::move(c));
    if (defer) deferred.push_back(std::move(done));
    else done(result);
  }
};

/// Runs one request through `h`: the handlers must answer synchronously
/// and exactly once (REQUIRE: include Catch2 before this header).
inline node::ApiResponse handle_once(node::ApiHandlers& h, const node::ApiRequest& r) {
  int replies = 0;
  node::ApiResponse out;
  h.handle(r, [&](node::ApiResponse resp) {
    ++replies;
    out = std::move(resp);
  });
  REQUIRE(replies == 1);
  return out;
}

}  // namespace pw::test
