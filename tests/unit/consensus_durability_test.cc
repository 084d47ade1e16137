// tests/unit/consensus_durability_test.cc — the core on real storage: three
// cores, each persisting its Ready batches into its own LogStore directory,
// exchange messages in-process. The whole cluster is "killed" (objects
// dropped, nothing flushed beyond what the Ready protocol persisted) and
// reopened from disk: committed entries must survive and replay identically,
// even with a torn tail on one node and compaction in between.
#include <catch2/catch.hpp>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>

#include "base/log.h"
#include "consensus/core.h"
#include "consensus/log_store.h"
#include "support/tmpdir.h"
#include "support/strf.h"

using namespace pw::consensus;
namespace fs = std::filesystem;

namespace {

using pw::test::label;

struct DiskNode {
  uint64_t id = 0;
  std::string dir;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Core> core;
  std::vector<std::pair<uint64_t, std::string>> applied;  // since the last (re)start
  uint64_t snapshot_applied = 0;  // applied count restored from the snapshot

  void open(uint64_t seed) {
    LogStoreOptions so;
    so.dir = dir;
    so.segment_bytes = 512;  // many segments, so compaction deletes some
    so.identity = ClusterIdentity{"durability", {"a", "b", "c"}};
    store = std::make_unique<LogStore>(so);
    applied.clear();
    snapshot_applied = store->snapshot().empty() ? 0 : std::stoull(store->snapshot().data);
    CoreOptions co;
    co.id = id;
    co.peers = {1, 2, 3};
    co.seed = seed * 31 + id;
    core = std::make_unique<Core>(co, store->initial_state());
  }
  void kill() {
    core.reset();
    store.reset();
  }
};

struct Cluster {
  std::vector<DiskNode> nodes;
  std::deque<Message> wire;
  uint64_t seed = 1;

  explicit Cluster(const pw::test::TempDir& tmp) : nodes(3) {
    pw::log_set_level(pw::LogLevel::error);
    for (uint64_t i = 0; i < 3; ++i) {
      nodes[i].id = i + 1;
      nodes[i].dir = tmp / (label("n", i + 1));
      nodes[i].open(seed);
    }
  }
  DiskNode& node(uint64_t id) { return nodes[id - 1]; }

  void handle(DiskNode& n) {
    while (n.core && n.core->has_ready()) {
      Ready rd = n.core->ready();
      if (!rd.snapshot.empty()) {
        n.store->apply_snapshot(rd.snapshot);
        n.snapshot_applied = std::stoull(rd.snapshot.data);
        n.applied.clear();
      }
      n.store->append(rd.entries);
      if (rd.hard_state) n.store->save_hard_state(*rd.hard_state);
      for (auto& m : rd.messages) wire.push_back(m);
      for (auto& e : rd.committed_entries)
        if (e.type == EntryType::normal) n.applied.push_back({e.index, e.data});
      n.core->advance(rd);
      // Compact every 7 applied entries; the snapshot "state" is the count of normal entries.
      if (n.core->applied() >= n.core->log().snapshot().index + 7) {
        const Snapshot& s = n.core->compact(n.core->applied(),
                                            std::to_string(n.snapshot_applied + n.applied.size()));
        n.store->save_snapshot(s);
      }
    }
  }
  void pump() {
    for (int guard = 0; guard < 100000; ++guard) {
      for (auto& n : nodes) handle(n);
      if (wire.empty()) return;
      Message m = wire.front();
      wire.pop_front();
      DiskNode& to = node(m.to);
      if (to.core) to.core->step(m);
    }
    FAIL("message storm");
  }
  void tick(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& d : nodes)
        if (d.core) d.core->tick();
      pump();
    }
  }
  uint64_t leader() {
    for (auto& n : nodes)
      if (n.core && n.core->role() == Role::leader) return n.id;
    return 0;
  }
  uint64_t elect() {
    for (int i = 0; i < 200 && leader() == 0; ++i) tick();
    REQUIRE(leader() != 0);
    return leader();
  }
  void restart_all() {
    wire.clear();  // connections die with the processes
    for (auto& n : nodes) n.kill();
    ++seed;
    for (auto& n : nodes) n.open(seed);
    pump();
  }
};

}  // namespace

TEST_CASE("durability: committed entries survive killing every node, with compaction") {
  pw::test::TempDir tmp("pw-durability");
  Cluster c(tmp);
  uint64_t l = c.elect();
  for (int i = 0; i < 40; ++i) {
    c.node(l).core->propose(label("v", i));
    c.pump();
  }
  c.tick(3);
  uint64_t commit = c.node(l).core->commit();
  uint64_t term = c.node(l).core->term();
  REQUIRE(c.node(l).snapshot_applied + c.node(l).applied.size() == 40);
  REQUIRE(c.node(l).store->snapshot().index > 0);  // compaction happened

  c.restart_all();
  for (auto& n : c.nodes) {
    INFO("node " << n.id);
    CHECK(n.core->term() == term);
    CHECK(n.core->commit() >= n.store->snapshot().index);
    // Replay after the snapshot plus the snapshot's count = every committed proposal.
    CHECK(n.snapshot_applied + n.applied.size() == 40);
    if (!n.applied.empty()) CHECK(n.applied.back().second == "v39");
  }
  // The cluster carries on from there.
  uint64_t l2 = c.elect();
  c.node(l2).core->propose("after restart");
  c.pump();
  c.tick(3);
  CHECK(c.node(l2).core->commit() > commit);
  for (auto& n : c.nodes) {
    REQUIRE(!n.applied.empty());
    CHECK(n.applied.back().second == "after restart");
  }
}

TEST_CASE("durability: a node with a torn log tail recovers and catches up") {
  pw::test::TempDir tmp("pw-durability");
  Cluster c(tmp);
  uint64_t l = c.elect();
  for (int i = 0; i < 5; ++i) {
    c.node(l).core->propose(std::string(60, static_cast<char>('a' + i)));
    c.pump();
  }
  c.tick(2);
  uint64_t victim = l == 1 ? 2 : 1;
  uint64_t last_before = c.node(victim).store->last_index();
  c.restart_all();  // close files cleanly first
  c.node(victim).kill();
  // Tear the newest segment's last record, as a crash mid-append would.
  std::string newest;
  for (auto& e : fs::directory_iterator(c.node(victim).dir))
    if (e.path().extension() == ".seg" && e.path().string() > newest) newest = e.path().string();
  REQUIRE(!newest.empty());
  fs::resize_file(newest, fs::file_size(newest) - 5);
  c.node(victim).open(99);
  CHECK(c.node(victim).store->last_index() == last_before - 1);
  c.pump();
  uint64_t l2 = c.elect();
  c.node(l2).core->propose("more");
  c.pump();
  c.tick(3);
  CHECK(c.node(victim).core->last_index() >= last_before + 1);
  CHECK(c.node(victim).core->commit() == c.node(l2).core->commit());
}
