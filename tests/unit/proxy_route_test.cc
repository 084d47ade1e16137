// tests/unit/proxy_route_test.cc — routing decisions (pure functions):
// backend choice per listener and the I3 verdicts for running sessions.
#include <catch2/catch.hpp>

#include <cstring>

#include "proxy/route_select.h"

using namespace pw::proxy;

namespace {
Route route(uint64_t epoch, int64_t valid_until) {
  Route r;
  r.epoch = epoch;
  r.has_primary = true;
  r.primary = {"10.0.0.1", 15432, 0};
  r.valid_until_ms = valid_until;
  r.replicas = {{"10.0.0.2", 15432, 100}, {"10.0.0.3", 15432, 5000000}, {"10.0.0.4", 15432, 0}};
  return r;
}
}  // namespace

TEST_CASE("read-write picks the primary only while the route is fresh") {
  Route r = route(3, 1000);
  REQUIRE(pick_backend(r, ListenerKind::readwrite, 999, 0, false, BackendLoad{}).ok);
  Pick p = pick_backend(r, ListenerKind::readwrite, 1000, 0, false, BackendLoad{});
  REQUIRE_FALSE(p.ok);
  REQUIRE(std::strstr(p.why, "expired"));
  r.has_primary = false;
  r.unavailable_reason = "no primary available (failover in progress)";
  p = pick_backend(r, ListenerKind::readwrite, 10, 0, false, BackendLoad{});
  REQUIRE_FALSE(p.ok);
  REQUIRE(std::string(p.why) == "no primary available (failover in progress)");
}

TEST_CASE("read-only: least connections within the lag limit, then fallback") {
  Route r = route(3, 1000);
  uint64_t load[] = {5, 0, 2};
  Pick p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, BackendLoad{load});
  REQUIRE(p.ok);
  REQUIRE(p.replica == 2);  // replica 1 is idle but lags 5 MB
  uint64_t load2[] = {1, 0, 1};
  REQUIRE(pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, BackendLoad{load2}).replica == 0);  // tie: first
  r.replicas[0].lag_bytes = r.replicas[2].lag_bytes = 1ull << 30;
  p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, BackendLoad{load});
  REQUIRE(p.ok);
  REQUIRE(p.replica == -1);
  p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, false, BackendLoad{load});
  REQUIRE_FALSE(p.ok);
}

TEST_CASE("read-only: a replica that refused a session (cooling) is picked last, not first") {
  Route r = route(3, 1000);
  r.replicas[1].lag_bytes = 0;  // three usable replicas
  // Replica 0 answers 57P03: its sessions end at once, so it has the fewest.
  uint64_t load[] = {0, 4, 2};
  bool cooling[] = {true, false, false};
  BackendLoad l{load, cooling};
  Pick p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, l);
  REQUIRE(p.ok);
  CHECK(p.replica == 2);  // plain least connections would say 0
  // Every replica cooling: the primary takes them when it may ...
  bool all[] = {true, true, true};
  l.replica_cooling = all;
  p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, l);
  REQUIRE(p.ok);
  CHECK(p.replica == -1);
  // ... else the least loaded cooling replica, which the caller holds the
  // session for until it may be tried again.
  p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, false, l);
  REQUIRE(p.ok);
  CHECK(p.replica == 0);
  l.primary_cooling = true;
  p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, l);
  REQUIRE(p.ok);
  CHECK(p.replica == 0);
  // No replica at all and a cooling primary: the primary (the caller waits).
  r.replicas.clear();
  p = pick_backend(r, ListenerKind::readonly, 0, 1 << 20, true, l);
  REQUIRE(p.ok);
  CHECK(p.replica == -1);
  CHECK(pick_backend(r, ListenerKind::readwrite, 0, 0, false, l).ok);
}

TEST_CASE("I3 verdicts for a session bound to the primary") {
  Backend primary{"10.0.0.1", 15432, 0};
  Binding b{true, 3, &primary};
  const char* why = nullptr;
  REQUIRE(judge_session(route(3, 1000), b, 500, &why) == Verdict::keep);
  REQUIRE(judge_session(route(3, 1000), b, 1000, &why) == Verdict::pause);  // stale
  REQUIRE(judge_session(route(3, 2000), b, 1500, &why) == Verdict::keep);   // renewed: resume
  REQUIRE(judge_session(route(4, 2000), b, 1500, &why) == Verdict::close);  // new epoch
  REQUIRE(why == kReasonEpochChanged);
  Route none;  // epoch 0: no information, pause only
  REQUIRE(judge_session(none, b, 0, &why) == Verdict::pause);
  Route same_no_primary = route(3, 2000);
  same_no_primary.has_primary = false;
  REQUIRE(judge_session(same_no_primary, b, 0, &why) == Verdict::pause);
  Route moved = route(3, 2000);
  moved.primary.host = "10.0.0.9";
  REQUIRE(judge_session(moved, b, 0, &why) == Verdict::close);
}

TEST_CASE("I3 verdicts for a session bound to a replica") {
  Backend rep{"10.0.0.2", 15432, 0};
  Binding b{false, 3, &rep};
  const char* why = nullptr;
  REQUIRE(judge_session(route(4, 1000), b, 0, &why) == Verdict::keep);  // epoch change: replicas stay
  REQUIRE(judge_session(route(4, 1000), b, 1000, &why) == Verdict::pause);
  Route r = route(4, 1000);
  r.replicas.erase(r.replicas.begin());
  REQUIRE(judge_session(r, b, 0, &why) == Verdict::close);
  r.primary = rep;  // promoted: still listed
  REQUIRE(judge_session(r, b, 0, &why) == Verdict::keep);
}

TEST_CASE("planned switchover: new connections are held, running sessions keep their primary") {
  Route r = route(4, 1000);
  r.hold_new = true;
  r.unavailable_reason = "switchover in progress";
  Pick p = pick_backend(r, ListenerKind::readwrite, 10, 0, false, BackendLoad{});
  REQUIRE_FALSE(p.ok);
  REQUIRE(std::string(p.why) == "switchover in progress");
  Binding b;
  b.to_primary = true;
  b.epoch = 4;
  const char* why = nullptr;
  REQUIRE(judge_session(r, b, 10, &why) == Verdict::keep);
  // The handoff's new epoch then closes them as usual.
  Route next = route(5, 2000);
  next.primary = {"10.0.0.2", 15432, 0};
  REQUIRE(judge_session(next, b, 10, &why) == Verdict::close);
}

TEST_CASE("log formatting of a route's validity: '-' when it never had one") {
  Route none;  // right after bootstrap: no primary, valid_until 0
  none.has_primary = false;
  CHECK(format_valid_for_ms(none, 2927711) == "-");  // was valid_for_ms=-2927711
  CHECK(format_stale_for_ms(none, 2927711) == "-");
  Route r = route(7, 10000);
  CHECK(format_valid_for_ms(r, 8800) == "1200");
  CHECK(format_valid_for_ms(r, 10300) == "-300");  // expired: still a real number
  CHECK(format_stale_for_ms(r, 10300) == "300");
}
