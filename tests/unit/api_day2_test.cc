// Unit tests for the day-two API: POST /restart, /reload, /flush and
// /switchover with scheduled_at (their bodies and what reaches the
// backend), the schedule's time format, pending restart and the schedules
// in GET /cluster and /metrics.
#include <catch2/catch.hpp>

#include "api/handlers.h"
#include "api/schedule_time.h"
#include "api/view.h"
#include "base/json_io.h"
#include "support/api_fake_backend.h"

using pw::Json;
using pw::node::ApiHandlers;
using pw::node::ApiRequest;
using pw::node::ApiResponse;
using pw::test::FakeApiBackend;

namespace {
const std::string kToken = "t0ken";

ApiResponse call(FakeApiBackend& b, const std::string& method, const std::string& path, const std::string& body = "") {
  ApiHandlers h(&b, kToken);
  ApiRequest r;
  r.method = method;
  r.path = path;
  r.body = body;
  r.authorization = "Bearer " + kToken;
  return pw::test::handle_once(h, r);
}

std::string text_of(const ApiResponse& r) {
  std::string err;
  auto v = pw::parse_json(r.body, &err);
  if (!v) return r.body;
  return pw::json_member(*v, "error") ? pw::json_str(*v, "error") : pw::json_str(*v, "message");
}
}  // namespace

TEST_CASE("schedule times: ISO 8601 with an offset, to ms since the epoch") {
  std::string err;
  CHECK(pw::node::parse_schedule_time("2026-12-08T04:00:00Z", &err) == 1796702400000);
  CHECK(pw::node::parse_schedule_time("2026-12-08T05:00:00+01:00", &err) == 1796702400000);
  CHECK(pw::node::parse_schedule_time("2026-12-08T03:30:00-0030", &err) == 1796702400000);
  CHECK(pw::node::parse_schedule_time("2026-12-08 04:00:00.250Z", &err) == 1796702400250);
  CHECK(pw::node::parse_schedule_time("2026-12-08T04:00Z", &err) == 1796702400000);
  for (const char* bad : {"", "now", "2026-12-08T04:00:00", "2026-13-08T04:00:00Z", "2026-12-08T04:00:00Zx",
                          "2026-12-08T24:00:00Z", "2026-12-08T04:00:00+1"}) {
    INFO(bad);
    err.clear();
    CHECK_FALSE(pw::node::parse_schedule_time(bad, &err));
    CHECK(err.find("ISO 8601") != std::string::npos);
  }
}

TEST_CASE("POST /restart, /reload, /flush and a scheduled /switchover reach the backend with their arguments") {
  auto b = FakeApiBackend::healthy("n2");
  CHECK(call(b, "POST", "/restart").status == 200);
  CHECK(call(b, "POST", "/restart",
             R"({"members": ["n3", "n1"], "role": "replica", "pending": true, "scheduled_at": "2026-12-08T04:00:00Z"})")
            .status == 200);
  CHECK(call(b, "POST", "/reload", R"({"members": ["n2"]})").status == 200);
  CHECK(call(b, "POST", "/flush", R"({"what": "switchover"})").status == 200);
  CHECK(call(b, "POST", "/flush", R"({"member": "n3", "what": "restart"})").status == 200);
  CHECK(call(b, "POST", "/switchover", R"({"to": "n3", "scheduled_at": "2026-12-08T05:00:00+01:00"})").status == 200);
  REQUIRE(b.calls.size() == 6);
  CHECK(b.calls[0].op == "restart");
  CHECK(b.calls[0].arg == " role= at=0");
  CHECK(b.calls[1].arg == "n3,n1 role=replica pending at=1796702400000");
  CHECK(b.calls[2].op == "reload");
  CHECK(b.calls[2].arg == "n2");
  CHECK(b.calls[3].arg == "switchover:");
  CHECK(b.calls[4].arg == "restart:n3");
  CHECK(b.calls[5].op == "scheduled_switchover");
  CHECK(b.calls[5].arg == "n3 at=1796702400000");

  struct Bad {
    const char* path;
    const char* body;
    int status;
    const char* part;
  } bad[] = {
      {"/restart", R"({"members": "n2"})", 400, "list of member names"},
      {"/restart", R"({"members": ["n9"]})", 404, "unknown member 'n9'"},
      {"/restart", R"({"role": "leader"})", 400, "primary, replica or any"},
      {"/restart", R"({"pending": "yes"})", 400, "'pending' must be true or false"},
      {"/restart", R"({"scheduled_at": "in an hour"})", 400, "ISO 8601"},
      {"/restart", R"({"member": "n2"})", 400, "unknown key 'member'"},
      {"/reload", R"({"members": [1]})", 400, "list of member names"},
      {"/flush", R"({})", 400, "flush needs"},
      {"/flush", R"({"what": "failover"})", 400, "flush needs"},
      {"/flush", R"({"member": "n9", "what": "restart"})", 404, "unknown member"},
  };
  for (const Bad& x : bad) {
    INFO(x.path << " " << x.body);
    ApiResponse r = call(b, "POST", x.path, x.body);
    CHECK(r.status == x.status);
    CHECK(text_of(r).find(x.part) != std::string::npos);
  }
  CHECK(b.calls.size() == 6);  // none of those reached the backend
}

TEST_CASE("GET /cluster and /metrics: each member's pending restart, and what is scheduled") {
  auto b = FakeApiBackend::healthy("n1");
  auto& m = b.cluster_facts.members;
  m[0].status.pending_restart_known = true;
  m[0].status.pending_restart = {"shared_buffers"};
  m[1].status.pending_restart_known = true;  // none pending
  // n3: a member too old to say (unknown)
  b.cluster_facts.state.restarts = {{"n2", 0, true}, {"n1", 0, true}};
  b.cluster_facts.state.scheduled_switchover = pw::node::ScheduledSwitchover{"n1", "", 1796702400000};
  ApiResponse r = call(b, "GET", "/cluster");
  REQUIRE(r.status == 200);
  std::string err;
  auto v = pw::parse_json(r.body, &err);
  REQUIRE(v);
  const Json& members = v->at("members");
  CHECK(members.at(0).at("pending_restart") == Json::array({"shared_buffers"}));
  CHECK(members.at(1).at("pending_restart") == Json::array());
  CHECK(members.at(2).at("pending_restart").is_null());
  const Json& sched = v->at("scheduled");
  CHECK(sched.at("switchover").at("from") == "n1");
  CHECK(sched.at("switchover").at("to") == "");
  CHECK(sched.at("switchover").at("at") == "2026-12-08T04:00:00.000Z");
  REQUIRE(sched.at("restarts").size() == 2);
  CHECK(sched.at("restarts").at(0).at("member") == "n2");
  CHECK(sched.at("restarts").at(0).at("at").is_null());
  CHECK(sched.at("restarts").at(0).at("pending_only") == true);

  ApiResponse metrics = call(b, "GET", "/metrics");
  REQUIRE(metrics.status == 200);
  const std::string& t = metrics.body;
  CHECK(t.find("pgwarden_member_pending_restart{member=\"n1\"} 1\n") != std::string::npos);
  CHECK(t.find("pgwarden_member_pending_restart{member=\"n2\"} 0\n") != std::string::npos);
  CHECK(t.find("pgwarden_member_pending_restart{member=\"n3\"}") == std::string::npos);
  CHECK(t.find("pgwarden_restarts_scheduled 2\n") != std::string::npos);
  CHECK(t.find("pgwarden_switchover_scheduled 1\n") != std::string::npos);
}
