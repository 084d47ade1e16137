// tests/integration/consensus_raft_support.h — pieces shared by the
// three-node RaftNode tests: a small deterministic state machine whose
// whole state is a digest of what it applied (so equal digests mean equal
// histories), and one RaftNode on its own event_base thread that can be
// killed and restarted from the same state directory.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "consensus/raft_node.h"
#include "consensus/state_machine.h"
#include "support/consensus_loop.h"

namespace pw::test {

class DigestStateMachine : public pw::consensus::StateMachine {
 public:
  void apply(uint64_t index, const std::string& data) override {
    if (index <= last_index) in_order = false;  // applied twice or out of order
    if (data.empty()) in_order = false;         // no-ops must not reach us
    last_index = index;
    ++count;
    mix(index);
    for (char c : data) mix(static_cast<uint8_t>(c));
  }
  std::string snapshot() const override {
    return strf("DSM1 %llu %llu %llu", static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(digest),
                static_cast<unsigned long long>(last_index));
  }
  bool restore(const std::string& s) override {
    unsigned long long c, d, l;
    if (sscanf(s.c_str(), "DSM1 %llu %llu %llu", &c, &d, &l) != 3) return false;
    count = c;
    digest = d;
    last_index = l;
    ++restores;
    return true;
  }
  uint64_t count = 0;
  uint64_t digest = 1469598103934665603ull;
  uint64_t last_index = 0;
  uint64_t restores = 0;
  bool in_order = true;

 private:
  void mix(uint64_t v) { digest = (digest ^ v) * 1099511628211ull; }
};

/// Fates of many proposals, counted from callbacks on loop threads.
struct Tally {
  std::atomic<uint64_t> committed{0}, failed{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<uint64_t> indices;
  pw::consensus::ProposalCallback callback() {
    return [this](const pw::consensus::ProposalResult& r) {
      std::lock_guard<std::mutex> lk(mu);
      if (r.committed) {
        indices.push_back(r.index);
        ++committed;
      } else {
        if (errors.size() < 20) errors.push_back(r.error);
        ++failed;
      }
    };
  }
  uint64_t done() const { return committed + failed; }
};

class RaftTestNode {
 public:
  explicit RaftTestNode(pw::consensus::RaftOptions o) : opts(std::move(o)) {}
  ~RaftTestNode() { kill(); }

  /// Opens the node (replaying its state dir) and starts it.
  void start() {
    loop.run([&] {
      sm = std::make_unique<DigestStateMachine>();
      node = pw::consensus::RaftNode::open(loop.base(), opts, sm.get());
      node->start();
      return 0;
    });
  }
  /// Opens the node without starting it: what the state directory alone
  /// gives back (snapshot + replay of committed entries).
  void open_only() {
    loop.run([&] {
      sm = std::make_unique<DigestStateMachine>();
      node = pw::consensus::RaftNode::open(loop.base(), opts, sm.get());
      return 0;
    });
  }
  void start_opened() {
    loop.run([&] {
      node->start();
      return 0;
    });
  }
  /// Stops the node and forgets its in-memory state (a process restart).
  void kill() {
    loop.run([&] {
      node.reset();
      sm.reset();
      return 0;
    });
  }
  bool up() {
    return loop.run([&] { return node != nullptr; });
  }
  bool is_leader() {
    return loop.run([&] { return node && node->is_leader(); });
  }
  uint64_t term() {
    return loop.run([&] { return node ? node->term() : 0; });
  }
  uint64_t applied() {
    return loop.run([&] { return node ? node->applied_index() : 0; });
  }
  uint64_t commit() {
    return loop.run([&] { return node ? node->commit_index() : 0; });
  }
  struct SmView {
    uint64_t count, digest, last_index, restores;
    bool in_order;
  };
  SmView sm_view() {
    return loop.run([&] {
      return SmView{sm->count, sm->digest, sm->last_index, sm->restores, sm->in_order};
    });
  }
  void propose_many(int n, const std::string& prefix, Tally* t) {
    loop.run([&] {
      for (int i = 0; i < n; ++i) node->propose(prefix + std::to_string(i), t->callback());
      return 0;
    });
  }

  pw::consensus::RaftOptions opts;
  LoopThread loop;
  std::unique_ptr<DigestStateMachine> sm;
  std::unique_ptr<pw::consensus::RaftNode> node;
};

/// Index (0-based) of the single leader among the running nodes whose
/// followers agree on it, or -1.
inline int agreed_leader(std::vector<std::unique_ptr<RaftTestNode>>& nodes) {
  int leader = -1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i]->up() || !nodes[i]->is_leader()) continue;
    if (leader != -1) return -1;
    leader = static_cast<int>(i);
  }
  if (leader == -1) return -1;
  uint64_t id = nodes[leader]->opts.self_id;
  for (auto& n : nodes) {
    if (!n->up()) continue;
    bool agrees = n->loop.run([&] { return n->node->leader_id() == id; });
    if (!agrees) return -1;
  }
  return leader;
}

}  // namespace pw::test
