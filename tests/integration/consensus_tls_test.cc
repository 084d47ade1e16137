// tests/integration/consensus_tls_test.cc — mutual TLS on the raft
// transport with certificates made by the openssl CLI: members with
// certificates of the cluster CA connect; a certificate from another CA, a
// certificate naming another member, and a plaintext peer are refused with
// a logged reason. 127.0.3.61-63; a RaftNode cluster over mTLS on .64-66.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "consensus/transport.h"
#include "consensus_raft_support.h"
#include "consensus_tls_support.h"
#include "support/consensus_loop.h"
#include "support/tmpdir.h"

using namespace pw::consensus;
using pw::test::LogCapture;
using pw::test::LoopThread;
using pw::test::TempDir;
using pw::test::TestPki;

namespace {

struct Node {
  LoopThread loop;
  std::unique_ptr<Transport> t;
  size_t got = 0;
  explicit Node(const TransportOptions& o) {
    loop.run([&] {
      t = std::make_unique<Transport>(loop.base(), o);
      t->set_frame_handler([this](uint64_t, std::string_view) {
        ++got;
        return std::string();
      });
      t->start();
      return 0;
    });
  }
  ~Node() {
    loop.run([&] {
      t.reset();
      return 0;
    });
  }
};

std::vector<Peer> members() {
  return {{1, "n61", "127.0.3.61", 5010},
          {2, "n62", "127.0.3.62", 5010},
          {3, "n63", "127.0.3.63", 5010}};
}

TransportOptions opts(uint64_t self, const TlsOptions& tls) {
  TransportOptions o;
  o.cluster_name = "tls-cluster";
  o.self_id = self;
  o.peers = members();
  o.tls = tls;
  return o;
}

// Waits until `lines` log lines match `needles`, then lets the impostor `x`
// and the members retry three more times each, so that a count still equal
// to `lines` afterwards shows the reason is logged once, not per retry.
bool logged_then_retried(LogCapture& log, std::initializer_list<std::string> needles, int lines,
                         Node& x, Node& a, Node& b) {
  if (!x.loop.wait_until([&] { return log.count_lines(needles) >= lines; }, 30000)) {
    log.dump();
    return false;
  }
  uint64_t x1 = x.loop.run([&] { return x.t->stats(1).dial_failures; });
  uint64_t a3 = a.loop.run([&] { return a.t->stats(3).dial_failures; });
  uint64_t b3 = b.loop.run([&] { return b.t->stats(3).dial_failures; });
  return x.loop.wait_until([&] { return x.t->stats(1).dial_failures >= x1 + 3; }, 30000) &&
         a.loop.wait_until([&] { return a.t->stats(3).dial_failures >= a3 + 3; }, 30000) &&
         b.loop.wait_until([&] { return b.t->stats(3).dial_failures >= b3 + 3; }, 30000);
}

}  // namespace

TEST_CASE("tls: members with cluster certificates connect; impostors are refused", "[tls]") {
  TempDir dir("pw-tls");
  TestPki pki(dir.path());
  pki.make_cert("n61", "n61");
  pki.make_cert("n62", "n62");
  pki.make_cert("n63", "n63");
  pki.make_cert("n63-foreign", "n63", "foreign-ca");
  pki.make_cert("n63-as-n62", "n62");
  LogCapture log(dir / "log");

  Node a(opts(1, pki.tls("n61"))), b(opts(2, pki.tls("n62")));
  {
    Node c(opts(3, pki.tls("n63")));
    for (Node* n : {&a, &b, &c})
      REQUIRE(n->loop.wait_until([&] {
        for (uint64_t id = 1; id <= 3; ++id)
          if (id != n->t->options().self_id && !n->t->connected(id)) return false;
        return true;
      }));
    REQUIRE(a.loop.run([&] { return a.t->send(3, "over tls"); }));
    REQUIRE(c.loop.wait_until([&] { return c.got == 1; }));
    CHECK(log.count_lines({"peer=n63 dir=out connected", "tls=on"}) == 2);
  }

  SECTION("a certificate from another CA is refused") {
    // It trusts the cluster CA (so it accepts the members) but presents a
    // certificate signed by another CA: the members refuse it both ways.
    Node x(opts(3, pki.tls("n63-foreign")));
    REQUIRE(
        logged_then_retried(log, {"peer=n63 dir=out", "peer certificate rejected"}, 2, x, a, b));
    CHECK_FALSE(a.loop.run([&] { return a.t->connected(3); }));
    int in = log.count_lines({"refused inbound addr=127.0.3.63:", "peer certificate rejected",
                              "unable to get local issuer certificate"});
    int out = log.count_lines({"peer=n63 dir=out", "peer certificate rejected",
                               "unable to get local issuer certificate"});
    if (in != 2 || out != 2) log.dump();
    CHECK(in == 2);  // once per member, not once per retry
    CHECK(out == 2);
  }

  SECTION("a certificate naming another member is refused") {
    Node x(opts(3, pki.tls("n63-as-n62")));
    REQUIRE(logged_then_retried(log, {"peer=n63 dir=out", "not member n63"}, 2, x, a, b));
    CHECK_FALSE(a.loop.run([&] { return a.t->connected(3); }));
    // The members refuse its dial after the TLS handshake...
    int lines = log.count_lines(
        {"refused inbound addr=127.0.3.63:", "certificate names DNS:n62,CN:n62, not member n63"});
    // ... and refuse to talk to it when they dial it.
    int out =
        log.count_lines({"peer=n63 dir=out", "certificate names DNS:n62,CN:n62, not member n63"});
    if (lines != 2 || out != 2) log.dump();
    CHECK(lines == 2);
    CHECK(out == 2);
  }

  SECTION("a plaintext peer is refused") {
    Node x(opts(3, TlsOptions{}));
    REQUIRE(logged_then_retried(log, {"refused inbound addr=127.0.3.63:", "does not speak TLS"}, 2,
                                x, a, b));
    CHECK_FALSE(a.loop.run([&] { return a.t->connected(3); }));
    int lines = log.count_lines({"refused inbound addr=127.0.3.63:", "does not speak TLS"});
    // The plaintext node says why it cannot talk to the members, once each.
    int plain = log.count_lines({"refused inbound addr=127.0.3.6",
                                 "peer speaks TLS but this node has no [tls] configured"});
    if (lines != 2 || plain != 2) log.dump();
    CHECK(lines == 2);
    CHECK(plain == 2);
  }
}

TEST_CASE("tls: a raft cluster with mutual TLS elects a leader and commits", "[tls][raft]") {
  TempDir dir("pw-tls-raft");
  TestPki pki(dir.path());
  std::vector<Peer> peers;
  for (uint64_t i = 1; i <= 3; ++i) {
    std::string name = pw::test::strf("n6%d", static_cast<int>(3 + i));
    peers.push_back({i, name, pw::test::strf("127.0.3.6%d", static_cast<int>(3 + i)), 5010});
    pki.make_cert(name, name);
  }
  LogCapture log(dir / "log");
  std::vector<std::unique_ptr<pw::test::RaftTestNode>> nodes;
  for (const Peer& p : peers) {
    RaftOptions o;
    o.cluster_name = "tls-raft";
    o.self_id = p.id;
    o.peers = peers;
    o.state_dir = dir / p.name;
    o.tick_ms = 50;
    o.election_ticks = 20;
    o.tls = pki.tls(p.name);
    nodes.push_back(std::make_unique<pw::test::RaftTestNode>(o));
  }
  for (auto& n : nodes) n->start();
  int leader = -1;
  REQUIRE(
      pw::test::wait_until([&] { return (leader = pw::test::agreed_leader(nodes)) >= 0; }, 60000));
  pw::test::Tally t;
  nodes[leader]->propose_many(1000, "tls", &t);
  REQUIRE(nodes[leader]->loop.wait_until([&] { return t.done() == 1000; }, 120000));
  CHECK(t.committed == 1000);
  uint64_t commit = nodes[leader]->commit();
  for (auto& n : nodes) {
    REQUIRE(n->loop.wait_until([&] { return n->node->applied_index() >= commit; }, 60000));
    CHECK(n->sm_view().count == 1000);
    CHECK(n->sm_view().digest == nodes[leader]->sm_view().digest);
  }
  // Every connection of the cluster went through TLS (3 nodes x 2 peers, both directions).
  CHECK(log.count_lines({"dir=out connected", "tls=on"}) >= 6);
  CHECK(log.count_lines({"dir=out connected", "tls=off"}) == 0);
  CHECK(log.count_lines({"refused inbound"}) == 0);
}
