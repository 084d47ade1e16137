// tests/unit/proxy_startup_watch_test.cc — the byte logic that tells a
// server's 57P03 refusal of a new session from any other first answer, with
// and without an SSL request before the startup packet, byte by byte, and
// what a replay to the next server sends and swallows.
#include <catch2/catch.hpp>

#include <string>

#include "proxy/pg_wire.h"
#include "proxy/startup_watch.h"
#include "support/pg_packets.h"

using pw::proxy::StartupWatch;
using Step = StartupWatch::Step;
using pw::test::be32s;
using pw::test::ssl_request;
using pw::test::startup_packet;

namespace {

std::string error(const char* code, const char* msg) {
  return pw::proxy::wire::error_response("FATAL", code, msg);
}

bool client(StartupWatch& w, const std::string& b) {
  return w.client_bytes(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

std::string g_to_server;  // what the last replay sent the server after a swallowed 'N'

Step server(StartupWatch& w, const std::string& b, std::string* fwd) {
  return w.server_bytes(reinterpret_cast<const uint8_t*>(b.data()), b.size(), fwd, &g_to_server);
}

/// Feeds `b` one byte at a time; returns the last step.
Step server_bytewise(StartupWatch& w, const std::string& b, std::string* fwd) {
  Step st = Step::watching;
  for (char c : b) st = server(w, std::string(1, c), fwd);
  return st;
}

}  // namespace

TEST_CASE("startup watch: a 57P03 first answer is a refusal, withheld from the client") {
  StartupWatch w;
  REQUIRE(client(w, startup_packet()));
  std::string fwd;
  REQUIRE(server_bytewise(w, error("57P03", "the database system is shutting down"), &fwd) == Step::refused);
  CHECK(fwd.empty());
  CHECK(w.message() == "the database system is shutting down");
  // The replay: no SSL prefix, the whole startup packet again.
  CHECK(w.begin_replay() == startup_packet());
  CHECK(w.replay_start() == startup_packet());
  CHECK_FALSE(w.replay_pending());
  // The next server authenticates: the watch ends and forwards everything.
  std::string ok = std::string("R") + be32s(8) + be32s(0);
  REQUIRE(server(w, ok, &fwd) == Step::done);
  CHECK(fwd == ok);
}

TEST_CASE("startup watch: any other first answer ends the watch and is forwarded whole") {
  for (const std::string& first : {std::string("R") + be32s(8) + be32s(0), error("28P01", "password authentication failed"),
                                   error("53300", "sorry, too many clients already")}) {
    StartupWatch w;
    REQUIRE(client(w, startup_packet()));
    std::string fwd;
    Step st = server_bytewise(w, first, &fwd);
    REQUIRE(st == Step::done);
    CHECK(fwd == first);
  }
}

TEST_CASE("startup watch: with an SSL request, 'N' goes through and a replay swallows the next one") {
  StartupWatch w;
  REQUIRE(client(w, ssl_request()));
  std::string fwd;
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  CHECK(fwd == "N");
  REQUIRE(client(w, startup_packet()));
  fwd.clear();
  REQUIRE(server(w, error("57P03", "the database system is starting up"), &fwd) == Step::refused);
  CHECK(fwd.empty());
  // Replay: the SSL request goes first again (the session prepends it), the
  // startup packet is what a refusal at the deadline would scan.
  CHECK(w.begin_replay() == startup_packet());
  // The request goes alone (PostgreSQL refuses data sent along with it);
  // the startup packet follows the next server's 'N', which is swallowed.
  CHECK(w.replay_start() == ssl_request());
  CHECK(w.replay_pending());
  fwd.clear();
  g_to_server.clear();
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  CHECK(fwd.empty());
  CHECK(g_to_server == startup_packet());
  CHECK_FALSE(w.replay_pending());
  REQUIRE(server(w, error("57P03", "the database system is not yet accepting connections"), &fwd) == Step::refused);
  CHECK(fwd.empty());
  w.begin_replay();
  CHECK(w.replay_start() == ssl_request());
  fwd.clear();
  g_to_server.clear();
  std::string ok = std::string("R") + be32s(8) + be32s(0);
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  CHECK(g_to_server == startup_packet());
  REQUIRE(server(w, ok, &fwd) == Step::done);
  CHECK(fwd == ok);  // no second 'N' for the client
}

TEST_CASE("startup watch: TLS accepted ends the watch; on a replay it is a mismatch") {
  {
    StartupWatch w;
    REQUIRE(client(w, ssl_request()));
    std::string fwd;
    REQUIRE(server(w, "S\x16\x03", &fwd) == Step::done);
    CHECK(fwd == "S\x16\x03");
  }
  StartupWatch w;
  REQUIRE(client(w, ssl_request()));
  std::string fwd;
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  REQUIRE(client(w, startup_packet()));
  REQUIRE(server(w, error("57P03", "the database system is shutting down"), &fwd) == Step::refused);
  w.begin_replay();
  w.replay_start();
  CHECK(server(w, "S", &fwd) == Step::mismatch);
}

TEST_CASE("startup watch: release() hands over what was withheld; oversize clients stop the watch") {
  StartupWatch w;
  REQUIRE(client(w, startup_packet()));
  std::string err = error("57P03", "the database system is shutting down");
  std::string fwd;
  REQUIRE(server(w, err, &fwd) == Step::refused);
  CHECK(w.release() == err);
  StartupWatch big;
  CHECK_FALSE(big.client_bytes(reinterpret_cast<const uint8_t*>(std::string(20000, 'x').data()), 20000));
  // A first message announcing more than an error could be is no refusal.
  StartupWatch w2;
  REQUIRE(client(w2, startup_packet()));
  fwd.clear();
  REQUIRE(server(w2, std::string("E") + be32s(100000), &fwd) == Step::done);
  CHECK(fwd.size() == 5);
}

TEST_CASE("startup watch: GSSENCRequest then SSLRequest, each answered 'N', then a refusal and its replay") {
  std::string gss = be32s(8) + be32s(pw::proxy::wire::kGssEncRequestCode);
  StartupWatch w;
  std::string fwd;
  REQUIRE(client(w, gss));
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  REQUIRE(client(w, ssl_request()));  // sent only after the first 'N'
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  CHECK(fwd == "NN");
  REQUIRE(client(w, startup_packet()));
  REQUIRE(server(w, error("57P03", "the database system is shutting down"), &fwd) == Step::refused);
  CHECK(w.begin_replay() == startup_packet());
  CHECK(w.replay_start() == gss);
  fwd.clear();
  g_to_server.clear();
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  CHECK(g_to_server == ssl_request());  // one request per answer
  g_to_server.clear();
  REQUIRE(server(w, "N", &fwd) == Step::watching);
  CHECK(g_to_server == startup_packet());
  std::string ok = std::string("R") + be32s(8) + be32s(0);
  REQUIRE(server(w, ok, &fwd) == Step::done);
  CHECK(fwd == ok);
}
