// tests/integration/consensus_transport_test.cc — the raft transport over
// real loopback sockets (127.0.3.x): handshake, refusal of a foreign cluster
// logged once, frame size limit, bounded send queue, reconnect after a peer
// restarts. Each node runs on its own event_base thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "consensus/handshake.h"
#include "consensus/transport.h"
#include "support/consensus_loop.h"
#include "support/tmpdir.h"

using namespace pw::consensus;
using pw::test::LogCapture;
using pw::test::LoopThread;
using pw::test::TempDir;

namespace {

constexpr uint16_t kPort = 5010;

std::vector<Peer> members(const std::string& net, std::initializer_list<int> hosts) {
  std::vector<Peer> v;
  uint64_t id = 1;
  for (int h : hosts)
    v.push_back({id++, pw::test::strf("n%d", h), pw::test::strf("%s%d", net.c_str(), h), kPort});
  return v;
}

// One transport on its own loop thread, recording what it receives.
struct Node {
  LoopThread loop;
  std::unique_ptr<Transport> t;
  std::vector<std::pair<uint64_t, std::string>> got;  // touched on the loop thread only

  Node(TransportOptions o) {
    loop.run([&] {
      t = std::make_unique<Transport>(loop.base(), o);
      t->set_frame_handler([this](uint64_t from, std::string_view f) {
        got.emplace_back(from, std::string(f));
        return std::string();
      });
      t->start();
      return 0;
    });
  }
  ~Node() { kill(); }
  void kill() {
    loop.resume();
    loop.run([&] {
      t.reset();
      return 0;
    });
  }
  PeerStats stats(uint64_t id) {
    return loop.run([&] { return t->stats(id); });
  }
  bool send(uint64_t to, const std::string& s) {
    return loop.run([&] { return t->send(to, s); });
  }
  size_t received() {
    return loop.run([&] { return got.size(); });
  }
};

std::string hello(uint64_t from, uint64_t to) {
  return pw::test::strf("hello %d->%d", static_cast<int>(from), static_cast<int>(to));
}

TransportOptions opts(const std::vector<Peer>& peers, uint64_t self,
                      const std::string& cluster = "c1") {
  TransportOptions o;
  o.cluster_name = cluster;
  o.self_id = self;
  o.peers = peers;
  return o;
}

}  // namespace

TEST_CASE("transport: three nodes handshake and exchange frames", "[transport]") {
  auto peers = members("127.0.3.", {11, 12, 13});
  Node a(opts(peers, 1)), b(opts(peers, 2)), c(opts(peers, 3));
  Node* nodes[] = {&a, &b, &c};
  for (Node* n : nodes) {
    REQUIRE(n->loop.wait_until([&] {
      for (uint64_t id = 1; id <= 3; ++id)
        if (id != n->t->options().self_id && !n->t->connected(id)) return false;
      return true;
    }));
  }
  for (uint64_t from = 1; from <= 3; ++from)
    for (uint64_t to = 1; to <= 3; ++to)
      if (from != to) REQUIRE(nodes[from - 1]->send(to, hello(from, to)));
  for (uint64_t to = 1; to <= 3; ++to)
    REQUIRE(nodes[to - 1]->loop.wait_until([&] { return nodes[to - 1]->got.size() == 2; }));
  for (uint64_t to = 1; to <= 3; ++to) {
    auto got = nodes[to - 1]->loop.run([&] { return nodes[to - 1]->got; });
    for (auto& [from, data] : got) CHECK(data == hello(from, to));
    for (uint64_t from = 1; from <= 3; ++from) {
      if (from == to) continue;
      PeerStats s = nodes[to - 1]->stats(from);
      CHECK(s.frames_in == 1);
      CHECK(s.connected_in);
      CHECK(s.last_heard_ms > 0);
    }
  }
  PeerStats s = a.stats(2);
  CHECK(s.frames_out == 1);
  CHECK(s.bytes_out == std::string("hello 1->2").size());
  CHECK(s.connects == 1);
}

TEST_CASE("transport: a node of another cluster is refused, logged once per peer", "[transport]") {
  TempDir dir("pw-transport");
  LogCapture log(dir / "log");
  auto peers = members("127.0.3.", {21, 22, 23});
  Node a(opts(peers, 1)), b(opts(peers, 2));
  Node x(opts(peers, 3, "other-cluster"));
  // Let the foreign node retry several times against both members...
  REQUIRE(x.loop.wait_until(
      [&] { return x.t->stats(1).dial_failures >= 5 && x.t->stats(2).dial_failures >= 5; }, 30000));
  // ... and the members retry against it.
  REQUIRE(a.loop.wait_until([&] { return a.t->stats(3).dial_failures >= 5; }, 30000));
  CHECK(a.loop.run([&] { return a.t->connected(2); }));
  CHECK_FALSE(x.loop.run([&] { return x.t->connected(1) || x.t->connected(2); }));
  CHECK_FALSE(a.loop.run([&] { return a.t->connected(3); }));
  CHECK(a.send(2, "members still talk"));
  REQUIRE(b.loop.wait_until([&] { return b.got.size() == 1; }));
  // Acceptors 21 and 22 each logged the refusal of 127.0.3.23 once.
  int refused = log.count_lines({"refused inbound addr=127.0.3.23:", "cluster name mismatch",
                                 "belongs to cluster 'other-cluster', this node to 'c1'"});
  // The foreign node logged, once per member, why the member refused it.
  int told_n21 = log.count_lines({"peer=n21 dir=out", "refused by peer: cluster name mismatch"});
  int told_n22 = log.count_lines({"peer=n22 dir=out", "refused by peer: cluster name mismatch"});
  // The foreign node refused each member's dial once in its log too.
  int refused_21 = log.count_lines({"refused inbound addr=127.0.3.21:", "cluster name mismatch"});
  if (refused != 2 || told_n21 != 1 || told_n22 != 1 || refused_21 != 1) log.dump();
  CHECK(refused == 2);
  CHECK(told_n21 == 1);
  CHECK(told_n22 == 1);
  CHECK(refused_21 == 1);
}

TEST_CASE("transport: an oversize frame closes the connection; garbage is refused", "[transport]") {
  TempDir dir("pw-transport");
  LogCapture log(dir / "log");
  auto peers = members("127.0.3.", {31, 32});
  auto ob = opts(peers, 2);
  ob.max_frame_size = 1024;
  Node a(opts(peers, 1)), b(ob);
  REQUIRE(a.loop.wait_until([&] { return a.t->connected(2); }));
  REQUIRE(a.send(2, std::string(1020, 'x')));  // 1024 with its length: delivered
  REQUIRE(b.loop.wait_until([&] { return b.got.size() == 1; }));
  REQUIRE(a.send(2, std::string(1021, 'y')));  // a's own limit is larger
  // b closes the inbound connection; a notices, redials and connects again.
  REQUIRE(a.loop.wait_until([&] { return a.t->stats(2).connects >= 2 && a.t->connected(2); }));
  CHECK(b.received() == 1);
  CHECK(log.count_lines({"peer=n31 dir=in disconnected",
                         "frame of 1025 bytes exceeds max_frame_size 1024"}) == 1);
  REQUIRE(a.send(2, "after reconnect"));
  REQUIRE(b.loop.wait_until([&] { return b.got.size() == 2; }));

  // A raw client that sends a frame which is not a handshake is refused.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.3.33", &src.sin_addr);
  inet_pton(AF_INET, "127.0.3.32", &dst.sin_addr);
  dst.sin_port = htons(kPort);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0);
  const char garbage[] = "\0\0\0\x05hello";
  REQUIRE(write(fd, garbage, 9) == 9);
  char buf[256];
  ssize_t n, total = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) total += n;  // reject frame, then EOF
  close(fd);
  CHECK(total > 0);
  REQUIRE(b.loop.wait_until([&] {
    return log.count_lines({"refused inbound addr=127.0.3.33:", "bad handshake magic"}) == 1;
  }));
}

TEST_CASE("transport: the send queue is bounded when a peer stops reading", "[transport]") {
  auto peers = members("127.0.3.", {41, 42});
  auto oa = opts(peers, 1);
  oa.max_queue_bytes = 256 * 1024;
  Node a(oa), b(opts(peers, 2));
  REQUIRE(a.loop.wait_until([&] { return a.t->connected(2); }));
  b.loop.pause();  // b's process is alive but no longer reads its sockets
  const std::string frame(16 * 1024, 'q');
  int attempted = 0;
  size_t max_queued = 0;
  // Enough to fill both kernels' socket buffers and then the bounded queue.
  for (int round = 0; round < 100 && a.stats(2).drops_queue_full < 50; ++round) {
    a.loop.run([&] {
      for (int i = 0; i < 64; ++i, ++attempted) a.t->send(2, frame);
      return 0;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  PeerStats s = a.stats(2);
  CHECK(s.drops_queue_full >= 50);
  CHECK(s.frames_out + s.drops_queue_full == static_cast<uint64_t>(attempted));
  CHECK(s.frames_out < static_cast<uint64_t>(attempted));
  (void)max_queued;
  b.loop.resume();
  // Everything that was queued (and nothing that was dropped) arrives.
  REQUIRE(b.loop.wait_until([&] { return b.got.size() == s.frames_out; }, 60000));
  CHECK(b.stats(1).frames_in == s.frames_out);
  // The queue drained: sending works again.
  REQUIRE(a.loop.wait_until([&] { return a.t->send(2, "again"); }));
  REQUIRE(b.loop.wait_until([&] { return b.got.size() == s.frames_out + 1; }));
}

TEST_CASE("transport: reconnects after the peer restarts", "[transport]") {
  auto peers = members("127.0.3.", {51, 52});
  Node a(opts(peers, 1));
  auto b = std::make_unique<Node>(opts(peers, 2));
  REQUIRE(a.loop.wait_until([&] { return a.t->connected(2); }));
  REQUIRE(a.send(2, "one"));
  REQUIRE(b->loop.wait_until([&] { return b->got.size() == 1; }));
  b.reset();  // the peer process dies
  REQUIRE(a.loop.wait_until([&] { return !a.t->connected(2); }));
  CHECK_FALSE(a.send(2, "lost"));
  CHECK(a.stats(2).drops_not_connected >= 1);
  // Let a retry a few times against the closed port.
  uint64_t before = a.stats(2).reconnects;
  REQUIRE(a.loop.wait_until([&] { return a.t->stats(2).reconnects >= before + 3; }));
  b = std::make_unique<Node>(opts(peers, 2));
  REQUIRE(a.loop.wait_until([&] { return a.t->connected(2); }));
  CHECK(a.stats(2).connects == 2);
  REQUIRE(a.send(2, "two"));
  REQUIRE(b->loop.wait_until([&] { return b->got.size() == 1; }));
  CHECK(b->loop.run([&] { return b->got[0].second; }) == "two");
  // b dialed a as well: a heard from b on its inbound connection.
  REQUIRE(a.loop.wait_until([&] { return a.t->stats(2).connected_in; }));
}
