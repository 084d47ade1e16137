// tests/unit/api_handlers_test.cc — every API endpoint's status codes
// and JSON over a fake backend (a cluster described by plain values):
// the health endpoints' Patroni rules, /cluster's roles and lags, /history,
// /proxy, authentication, the POST bodies and the malformed-input paths.
#include <catch2/catch.hpp>

#include "api/handlers.h"
#include "base/json_io.h"
#include "support/api_fake_backend.h"

using pw::node::ApiHandlers;
using pw::node::ApiRequest;
using pw::node::ApiResponse;
using pw::Json;
using pw::test::FakeApiBackend;

namespace {

const std::string kToken = "s3cret-token";

struct Call {
  ApiResponse resp;
  int replies = 0;
};

// Runs one request; the handlers must answer synchronously, exactly once.
ApiResponse call(FakeApiBackend& b, const std::string& method, const std::string& target, const std::string& body = "",
                 const std::string& auth = "Bearer " + kToken, std::optional<std::string> token = kToken) {
  ApiHandlers h(&b, token);
  ApiRequest r;
  r.method = method;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  r.body = body;
  r.authorization = auth;
  return pw::test::handle_once(h, r);
}

Json json(const ApiResponse& r) {
  std::string err;
  auto v = pw::parse_json(r.body, &err);
  INFO("body: " << r.body << "\nerror: " << err);
  REQUIRE(v);
  return *v;
}

std::string error_of(const ApiResponse& r) {
  Json v = json(r);
  REQUIRE(v.is_object());
  REQUIRE(v.contains("error"));
  return v.at("error").get<std::string>();
}

std::string header(const ApiResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

const Json& member(const Json& cluster, const std::string& name) {
  for (const Json& m : cluster.at("members"))
    if (m.at("name") == name) return m;
  FAIL("no member " << name);
  return cluster;
}

}  // namespace

TEST_CASE("primary endpoints: 200 only on the ready lease holder, for GET, HEAD and OPTIONS") {
  for (const char* path : {"/primary", "/leader", "/master", "/read-write", "/"}) {
    for (const char* method : {"GET", "HEAD", "OPTIONS"}) {
      INFO(method << " " << path);
      auto primary = FakeApiBackend::healthy("n1");
      auto replica = FakeApiBackend::healthy("n2");
      CHECK(call(primary, method, path).status == 200);
      CHECK(call(replica, method, path).status == 503);
    }
  }
  auto b = FakeApiBackend::healthy("n1");
  Json v = json(call(b, "GET", "/primary"));
  CHECK(v.at("state") == "running");
  CHECK(v.at("role") == "primary");
  CHECK(v.at("timeline") == 3);
  CHECK(v.at("server_version") == 150004);
  CHECK(v.at("xlog").at("location") == 0x5000000);
  CHECK(v.at("cluster_unlocked") == false);
  CHECK(v.at("database_system_identifier") == "7300000000000000001");
  CHECK(v.at("patroni").at("scope") == "demo");
  CHECK(v.at("patroni").at("name") == "n1");
  CHECK(v.at("pgwarden").at("lease_held") == true);
  CHECK(v.at("pgwarden").at("lease_remaining_ms") == 2500);
  CHECK(v.at("pgwarden").at("epoch") == 4);
  CHECK(v.at("replication").is_array());

  // Holding the lease is not enough: PostgreSQL must be promoted and the epoch ready.
  b.health_facts.ready_as_primary = false;
  CHECK(call(b, "GET", "/primary").status == 503);
  CHECK(call(b, "GET", "/read-write").status == 503);
}

TEST_CASE("replica endpoint: streaming standby, optional lag limit") {
  auto n2 = FakeApiBackend::healthy("n2");
  ApiResponse r = call(n2, "GET", "/replica");
  CHECK(r.status == 200);
  Json v = json(r);
  CHECK(v.at("role") == "replica");
  CHECK(v.at("xlog").at("received_location") == 0x5000000);
  CHECK(v.at("xlog").contains("replayed_location"));
  CHECK(v.at("pgwarden").at("lag") == 0);

  auto n1 = FakeApiBackend::healthy("n1");
  CHECK(call(n1, "GET", "/replica").status == 503);

  // n3 is 3 MiB behind.
  auto n3 = FakeApiBackend::healthy("n3");
  CHECK(call(n3, "GET", "/replica").status == 200);
  CHECK(call(n3, "GET", "/replica?lag=1MB").status == 503);
  CHECK(call(n3, "GET", "/replica?lag=3MB").status == 200);
  CHECK(call(n3, "GET", "/replica?lag=3145727").status == 503);
  CHECK(call(n3, "GET", "/replica?lag=3145728").status == 200);
  CHECK(call(n3, "HEAD", "/replica?lag=16MB").status == 200);
  CHECK(call(n3, "GET", "/read-only?lag=1MB").status == 503);
  CHECK(json(call(n3, "GET", "/replica?lag=1MB")).at("pgwarden").at("lag") == 3u << 20);

  ApiResponse bad = call(n3, "GET", "/replica?lag=lots");
  CHECK(bad.status == 400);
  CHECK(error_of(bad).find("bad lag value 'lots'") != std::string::npos);

  // Unknown lag (the primary's status is stale): a lag limit cannot be met.
  n3.cluster_facts.members[0].fresh = false;
  CHECK(call(n3, "GET", "/replica").status == 200);
  CHECK(call(n3, "GET", "/replica?lag=1GB").status == 503);
  CHECK(json(call(n3, "GET", "/replica")).at("pgwarden").at("lag").is_null());

  // Not streaming (WAL receiver down): not a healthy replica.
  n2.health_facts.pg.wal_receiver_streaming = false;
  CHECK(call(n2, "GET", "/replica").status == 503);
  CHECK(call(n2, "GET", "/readiness").status == 503);
  CHECK(call(n2, "GET", "/health").status == 200);
}

TEST_CASE("read-only, health, liveness, readiness") {
  auto n1 = FakeApiBackend::healthy("n1");
  auto n2 = FakeApiBackend::healthy("n2");
  CHECK(call(n1, "GET", "/read-only").status == 200);
  CHECK(call(n2, "GET", "/read-only").status == 200);
  CHECK(call(n1, "GET", "/readiness").status == 200);
  CHECK(call(n2, "GET", "/readiness").status == 200);
  CHECK(call(n1, "GET", "/health").status == 200);
  CHECK(call(n1, "GET", "/liveness").status == 200);

  // PostgreSQL stopped on a replica.
  n2.health_facts.pg = {};
  n2.health_facts.pg.error = "connection refused";
  for (const char* p : {"/primary", "/replica", "/read-only", "/health", "/readiness"}) {
    INFO(p);
    CHECK(call(n2, "GET", p).status == 503);
  }
  CHECK(call(n2, "GET", "/liveness").status == 200);
  CHECK(call(n2, "GET", "/patroni").status == 200);
  Json v = json(call(n2, "GET", "/health"));
  CHECK(v.at("state") == "stopped");
  CHECK(v.at("role") == "replica");
  CHECK_FALSE(v.contains("xlog"));
  CHECK(v.at("pgwarden").at("postgres_error") == "connection refused");

  // No lock holder: cluster_unlocked, pause shown like Patroni's.
  n2.cluster_facts.state.primary.clear();
  n2.cluster_facts.state.paused = true;
  v = json(call(n2, "GET", "/health"));
  CHECK(v.at("cluster_unlocked") == true);
  CHECK(v.at("pause") == true);
}

TEST_CASE("/cluster: members with roles, states, lag and tags; cluster-wide facts; diagnostics") {
  auto b = FakeApiBackend::healthy("n2");
  b.cluster_facts.diagnostics.push_back({"no_failover_candidate", "no member can take over", "check n2 and n3"});
  b.cluster_facts.members[2].status.nofailover = true;
  b.cluster_facts.members[2].status.priority = 5;
  ApiResponse r = call(b, "GET", "/cluster");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  Json v = json(r);
  CHECK(v.at("cluster") == "demo");
  CHECK(v.at("self") == "n2");
  CHECK(v.at("primary") == "n1");
  CHECK(v.at("epoch") == 4);
  CHECK(v.at("ready_epoch") == 4);
  CHECK(v.at("timeline") == 3);
  CHECK(v.at("max_timeline") == 3);
  CHECK(v.at("decider") == "n2");
  CHECK(v.at("raft_term") == 7);
  CHECK(v.at("init").at("state") == "done");
  CHECK(v.at("init").at("node") == "n1");
  CHECK(v.at("init").at("system_id") == "7300000000000000001");
  CHECK(v.at("paused") == false);
  CHECK(v.at("switchover").is_null());
  CHECK(v.at("failovers") == 2);
  CHECK(v.at("switchovers") == 1);
  REQUIRE(v.at("members").size() == 3);
  CHECK(member(v, "n1").at("role") == "primary");
  CHECK(member(v, "n1").at("state") == "running");
  CHECK(member(v, "n1").at("lag") == 0);
  CHECK(member(v, "n1").at("host") == "127.0.7.11");
  CHECK(member(v, "n2").at("role") == "replica");
  CHECK(member(v, "n2").at("state") == "streaming");
  CHECK(member(v, "n3").at("lag") == 3u << 20);
  CHECK(member(v, "n3").at("timeline") == 3);
  CHECK(member(v, "n3").at("tags").at("nofailover") == true);
  CHECK(member(v, "n3").at("tags").at("priority") == 5);
  CHECK(member(v, "n3").at("activity") == "streaming from n1");
  CHECK(member(v, "n3").at("data") == "cluster");
  REQUIRE(v.at("diagnostics").size() == 1);
  CHECK(v.at("diagnostics").at(0).at("code") == "no_failover_candidate");
  CHECK(v.at("diagnostics").at(0).at("action") == "check n2 and n3");
}

TEST_CASE("/cluster: stale, never-seen, stopped, demoting, sync and promoting members") {
  auto b = FakeApiBackend::healthy("n1");
  auto& m = b.cluster_facts.members;
  m[1].fresh = false;                    // n2: status stale
  m[2].status.pg_running = false;        // n3: PostgreSQL stopped
  b.cluster_facts.state.switchover = std::make_pair(std::string("n1"), std::string("n3"));
  b.cluster_facts.state.paused = true;
  Json v = json(call(b, "GET", "/cluster"));
  CHECK(member(v, "n2").at("role") == "unknown");
  CHECK(member(v, "n2").at("state") == "unreachable");
  CHECK(member(v, "n2").at("lag").is_null());
  CHECK(member(v, "n3").at("role") == "stopped");
  CHECK(member(v, "n3").at("state") == "stopped");
  CHECK(member(v, "n3").at("lag").is_null());
  CHECK(v.at("switchover").at("from") == "n1");
  CHECK(v.at("switchover").at("to") == "n3");
  CHECK(v.at("paused") == true);

  m[1] = {"n2", "127.0.7.12", false, false, {}};  // never heard from
  m[2].status.pg_running = true;
  m[2].status.in_recovery = false;                 // read-write without the lock
  v = json(call(b, "GET", "/cluster"));
  CHECK(member(v, "n2").at("state") == "unknown");
  CHECK(member(v, "n3").at("role") == "demoting");

  b = FakeApiBackend::healthy("n1");
  b.cluster_facts.state.sync = {"n2"};
  b.cluster_facts.state.ready_epoch = 3;  // n1 holds epoch 4 but is not ready yet
  v = json(call(b, "GET", "/cluster"));
  CHECK(member(v, "n1").at("state") == "promoting");
  CHECK(member(v, "n2").at("role") == "sync_standby");
  CHECK(member(v, "n3").at("role") == "replica");
  CHECK(v.at("sync").size() == 1);
}

TEST_CASE("synchronous mode: sync and async standbys in /cluster, /sync and /async health checks") {
  auto b = FakeApiBackend::healthy("n2");
  b.cluster_facts.synchronous_mode = true;
  b.cluster_facts.synchronous_node_count = 1;
  b.cluster_facts.state.sync = {"n2"};
  b.cluster_facts.state.sync_acks = 1;
  Json v = json(call(b, "GET", "/cluster"));
  CHECK(member(v, "n2").at("role") == "sync_standby");
  CHECK(member(v, "n3").at("role") == "async_standby");
  CHECK(v.at("synchronous").at("mode") == "on");
  CHECK(v.at("synchronous").at("set") == Json::array({"n2"}));
  CHECK(v.at("synchronous").at("acks") == 1);
  CHECK(v.at("synchronous").at("failover_needs") == 1);
  // n2 streams and is in the committed set.
  CHECK(call(b, "GET", "/sync").status == 200);
  CHECK(call(b, "GET", "/synchronous").status == 200);
  CHECK(call(b, "GET", "/async").status == 503);
  CHECK(call(b, "GET", "/sync?lag=1MB").status == 200);
  CHECK(json(call(b, "GET", "/sync")).at("pgwarden").at("sync_standby") == true);
  // n3: a streaming standby outside the set.
  b.cluster_facts.self = "n3";
  CHECK(call(b, "GET", "/sync").status == 503);
  CHECK(call(b, "GET", "/async").status == 200);
  CHECK(call(b, "GET", "/asynchronous").status == 200);
  CHECK(call(b, "GET", "/async?lag=1MB").status == 503);  // 3 MiB behind
  // The primary is neither.
  b = FakeApiBackend::healthy("n1");
  b.cluster_facts.state.sync = {"n2"};
  CHECK(call(b, "GET", "/sync").status == 503);
  CHECK(call(b, "GET", "/async").status == 503);
  // Asynchronous mode: standbys are replicas; every streaming one is async.
  b = FakeApiBackend::healthy("n3");
  v = json(call(b, "GET", "/cluster"));
  CHECK(member(v, "n3").at("role") == "replica");
  CHECK(v.at("synchronous").at("mode") == "off");
  CHECK(call(b, "GET", "/async").status == 200);
}

TEST_CASE("failover accept_data_loss needs the cluster's name in confirm") {
  auto b = FakeApiBackend::healthy();
  ApiResponse r = call(b, "POST", "/failover", "{\"to\": \"n3\", \"accept_data_loss\": true}");
  CHECK(r.status == 400);
  CHECK(error_of(r).find("confirm") != std::string::npos);
  CHECK(call(b, "POST", "/failover", "{\"to\": \"n3\", \"accept_data_loss\": true, \"confirm\": \"other\"}").status ==
        400);
  CHECK(call(b, "POST", "/failover", "{\"to\": \"n3\", \"accept_data_loss\": 1, \"confirm\": \"demo\"}").status == 400);
  CHECK(call(b, "POST", "/failover", "{\"to\": \"n3\", \"confirm\": \"demo\"}").status == 400);
  CHECK(b.calls.empty());
  CHECK(call(b, "POST", "/failover", "{\"to\": \"n3\", \"accept_data_loss\": true, \"confirm\": \"demo\"}").status ==
        200);
  REQUIRE(b.calls.size() == 1);
  CHECK(b.calls[0].op == "failover");
  CHECK(b.calls[0].arg == "n3");
  CHECK(b.calls[0].force);  // accept_data_loss
  CHECK(b.calls[0].confirm == "demo");
}

TEST_CASE("/history and /proxy") {
  auto b = FakeApiBackend::healthy("n1");
  Json h = json(call(b, "GET", "/history"));
  REQUIRE(h.is_array());
  REQUIRE(h.size() == 1);
  CHECK(h.at(0).at("epoch") == 4);
  CHECK(h.at(0).at("node") == "n1");
  CHECK(h.at(0).at("lsn_text") == "0/3000060");
  CHECK(h.at(0).at("time") == "2025-11-25T19:00:00.123Z");
  CHECK(h.at(0).at("reason") == "failover: n2 lease expired");

  ApiResponse none = call(b, "GET", "/proxy");
  CHECK(none.status == 503);
  CHECK(error_of(none) == "this process runs no proxy");
  pw::proxy::Counters c;
  c.readwrite.sessions_now = 3;
  c.readwrite.bytes_client_to_server = 1234;
  c.readonly.refused = 2;
  c.backends.push_back({"127.0.7.11", 15432, 3, 10, 1234, 5678, 1, 11, 5500});
  b.counters = c;
  Json p = json(call(b, "GET", "/proxy"));
  CHECK(p.at("readwrite").at("sessions_now") == 3);
  CHECK(p.at("readwrite").at("bytes_client_to_server") == 1234);
  CHECK(p.at("readonly").at("refused") == 2);
  REQUIRE(p.at("backends").size() == 1);
  CHECK(p.at("backends").at(0).at("host") == "127.0.7.11");
  CHECK(p.at("backends").at(0).at("port") == 15432);
  CHECK(p.at("backends").at(0).at("connect_errors") == 1);
}

TEST_CASE("wrong method → 405 with Allow; unknown path → 404; trailing slash tolerated") {
  auto b = FakeApiBackend::healthy();
  ApiResponse r = call(b, "GET", "/switchover");
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST");
  CHECK(error_of(r).find("use POST") != std::string::npos);
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "TRACE"}) {
    ApiResponse g = call(b, m, "/cluster");
    CHECK(g.status == 405);
    CHECK(header(g, "Allow") == "GET, HEAD, OPTIONS");
  }
  CHECK(call(b, "DELETE", "/pause").status == 405);
  CHECK(call(b, "OPTIONS", "/failover").status == 405);
  ApiResponse nf = call(b, "GET", "/nope");
  CHECK(nf.status == 404);
  CHECK(error_of(nf) == "no such endpoint: /nope");
  CHECK(call(b, "GET", "/cluster/").status == 200);
  CHECK(call(b, "GET", "/primary//").status == 200);
  CHECK(b.calls.empty());
}

TEST_CASE("mutations: 403 without a configured token, 401 without a header, 403 with a wrong token") {
  auto b = FakeApiBackend::healthy();
  ApiResponse r = call(b, "POST", "/pause", "", "Bearer " + kToken, std::nullopt);
  CHECK(r.status == 403);
  CHECK(error_of(r).find("token_file") != std::string::npos);

  r = call(b, "POST", "/pause", "", "");
  CHECK(r.status == 401);
  CHECK(header(r, "WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(call(b, "POST", "/pause", "", "Basic dXNlcjpwYXNz").status == 401);
  CHECK(call(b, "POST", "/pause", "", "Bearer").status == 401);

  r = call(b, "POST", "/pause", "", "Bearer wrong");
  CHECK(r.status == 403);
  CHECK(error_of(r) == "wrong token");
  CHECK(call(b, "POST", "/pause", "", "Bearer " + kToken + "x").status == 403);
  CHECK(call(b, "POST", "/pause", "", "Bearer " + kToken.substr(1)).status == 403);
  CHECK(call(b, "POST", "/switchover", "{\"to\":\"n2\"}", "Bearer ").status == 403);
  CHECK(b.calls.empty());

  CHECK(call(b, "POST", "/pause", "", "bearer  " + kToken + " ").status == 200);
  CHECK(call(b, "POST", "/resume").status == 200);
  REQUIRE(b.calls.size() == 2);
  CHECK(b.calls[0].op == "pause");
  CHECK(b.calls[1].op == "resume");
}

TEST_CASE("token comparison and query parsing") {
  CHECK(pw::node::token_matches("abc", "abc"));
  CHECK_FALSE(pw::node::token_matches("abd", "abc"));
  CHECK_FALSE(pw::node::token_matches("", "abc"));
  CHECK_FALSE(pw::node::token_matches("abcabc", "abc"));
  auto q = pw::node::parse_query("lag=1MB&x&y=a%20b+c&&z=%zz");
  REQUIRE(q.size() == 4);
  CHECK(q[0] == std::make_pair(std::string("lag"), std::string("1MB")));
  CHECK(q[1] == std::make_pair(std::string("x"), std::string("")));
  CHECK(q[2] == std::make_pair(std::string("y"), std::string("a b c")));
  CHECK(q[3] == std::make_pair(std::string("z"), std::string("%zz")));
}

TEST_CASE("switchover: body forms, Patroni's keys, validation") {
  auto b = FakeApiBackend::healthy();
  b.result = {200, "switchover from n1 to n2 started"};
  ApiResponse r = call(b, "POST", "/switchover", "");
  CHECK(r.status == 200);
  CHECK(json(r).at("message") == "switchover from n1 to n2 started");
  CHECK(call(b, "POST", "/switchover", " {\"to\": \"n2\", \"force\": true} ").status == 200);
  CHECK(call(b, "POST", "/switchover", "{\"leader\": \"n1\", \"candidate\": \"n3\"}").status == 200);
  CHECK(call(b, "POST", "/switchover", "{\"to\": \"n3\", \"candidate\": \"n3\", \"force\": null}").status == 200);
  REQUIRE(b.calls.size() == 4);
  CHECK(b.calls[0].op == "switchover");
  CHECK(b.calls[0].arg == "");
  CHECK(b.calls[0].force == false);
  CHECK(b.calls[1].arg == "n2");
  CHECK(b.calls[1].force == true);
  CHECK(b.calls[2].arg == "n3");
  CHECK(b.calls[3].arg == "n3");

  struct Bad {
    const char* body;
    int status;
    const char* error_part;
  } bad[] = {
      {"{\"to\": \"n9\"}", 404, "unknown member 'n9'"},
      {"{\"to\": 2}", 400, "'to' must be a string"},
      {"{\"force\": \"yes\"}", 400, "'force' must be true or false"},
      {"{\"too\": \"n2\"}", 400, "unknown key 'too'"},
      {"{\"to\": \"n2\", \"candidate\": \"n3\"}", 400, "different members"},
      {"{\"leader\": \"n2\", \"candidate\": \"n3\"}", 412, "the primary is n1"},
      {"{\"scheduled_at\": \"tomorrow\"}", 400, "ISO 8601"},
      {"{\"scheduled_at\": \"2030-01-01T00:00:00\"}", 400, "with an offset"},
      {"{\"to\": \"n2\"", 400, "not valid JSON"},
      {"[\"n2\"]", 400, "must be a JSON object"},
      {"to=n2", 400, "not valid JSON"},
      {"\"n2\"", 400, "must be a JSON object"},
  };
  for (const Bad& x : bad) {
    INFO(x.body);
    ApiResponse e = call(b, "POST", "/switchover", x.body);
    CHECK(e.status == x.status);
    CHECK(error_of(e).find(x.error_part) != std::string::npos);
  }
  CHECK(b.calls.size() == 4);  // nothing reached the backend
}

TEST_CASE("failover, reinit, reset-cluster, pause: required fields and backend results") {
  auto b = FakeApiBackend::healthy();
  CHECK(call(b, "POST", "/failover", "{}").status == 400);
  CHECK(call(b, "POST", "/failover", "{\"to\": \"zz\"}").status == 404);
  CHECK(call(b, "POST", "/failover", "{\"to\": \"n3\", \"force\": true}").status == 400);  // no force here
  CHECK(call(b, "POST", "/failover", "{\"candidate\": \"n3\"}").status == 200);
  CHECK(call(b, "POST", "/reinit", "{}").status == 400);
  CHECK(call(b, "POST", "/reinit", "{\"member\": \"n7\"}").status == 404);
  CHECK(call(b, "POST", "/reinit", "{\"member\": \"n2\"}").status == 200);
  ApiResponse rc = call(b, "POST", "/reset-cluster", "");
  CHECK(rc.status == 400);
  CHECK(error_of(rc).find("confirm") != std::string::npos);
  CHECK(call(b, "POST", "/reset-cluster", "{\"confirm\": \"demo\"}").status == 200);
  CHECK(call(b, "POST", "/pause", "{\"x\": 1}").status == 400);
  REQUIRE(b.calls.size() == 3);
  CHECK(b.calls[0].op == "failover");
  CHECK(b.calls[0].arg == "n3");
  CHECK(b.calls[1].op == "reinit");
  CHECK(b.calls[1].arg == "n2");
  CHECK(b.calls[2].op == "reset_cluster");
  CHECK(b.calls[2].arg == "demo");

  // The agent's refusals pass through with their status and message.
  b.result = {409, "n3 cannot take over: lag 9 MB exceeds maximum_lag_on_failover"};
  ApiResponse r = call(b, "POST", "/switchover", "{\"to\": \"n3\"}");
  CHECK(r.status == 409);
  CHECK(error_of(r) == "n3 cannot take over: lag 9 MB exceeds maximum_lag_on_failover");
  b.result = {503, "could not be committed (no quorum?)"};
  CHECK(call(b, "POST", "/pause").status == 503);
}

TEST_CASE("an operator request answers when the backend finishes, not before") {
  auto b = FakeApiBackend::healthy();
  b.defer = true;
  ApiHandlers h(&b, kToken);
  ApiRequest r{"POST", "/switchover", "", "Bearer " + kToken, "{\"to\":\"n2\"}"};
  int replies = 0;
  ApiResponse out;
  h.handle(r, [&](ApiResponse resp) {
    ++replies;
    out = resp;
  });
  CHECK(replies == 0);
  REQUIRE(b.deferred.size() == 1);
  b.deferred[0]({200, "started"});
  CHECK(replies == 1);
  CHECK(out.status == 200);
}

TEST_CASE("oversize body and bodies of any bytes never crash") {
  auto b = FakeApiBackend::healthy();
  std::string big(pw::node::kApiMaxBody + 1, ' ');
  ApiResponse r = call(b, "POST", "/switchover", big);
  CHECK(r.status == 413);
  for (int i = 0; i < 256; ++i) {
    std::string body(1, static_cast<char>(i));
    body += "{\"to\":\"n2\"\x00\xff}";
    ApiResponse e = call(b, "POST", "/switchover", body);
    CHECK(e.status == 400);
    error_of(e);
  }
}

TEST_CASE("abusive bodies: nested too deep is a 400 naming the limit, too large a 413") {
  auto b = FakeApiBackend::healthy();
  // As deep as fits in kApiMaxBody: refused by the depth limit, a clean 400.
  size_t levels = (pw::node::kApiMaxBody - 8) / 2;
  std::string deep = "{\"to\":" + std::string(levels, '[') + std::string(levels, ']') + "}";
  REQUIRE(deep.size() <= pw::node::kApiMaxBody);
  ApiResponse r = call(b, "POST", "/switchover", deep);
  CHECK(r.status == 400);
  CHECK(error_of(r) == "request body is not valid JSON: nested deeper than 32 levels");
  r = call(b, "POST", "/switchover", std::string(pw::node::kApiMaxBody, '['));  // unterminated
  CHECK(r.status == 400);
  CHECK(error_of(r).find("nested deeper than 32 levels") != std::string::npos);
  // 100000 levels deep cannot fit in kApiMaxBody: refused for its size before any parsing.
  r = call(b, "POST", "/switchover", std::string(100000, '[') + std::string(100000, ']'));
  CHECK(r.status == 413);
  CHECK(error_of(r) == "request body larger than " + std::to_string(pw::node::kApiMaxBody) + " bytes");
  CHECK(b.calls.empty());
}

TEST_CASE("documents keep their key order, uint64 values exact, and valid UTF-8") {
  auto b = FakeApiBackend::healthy("n2");
  // The order docs/api.md shows (and humans reading `ctl status --json` expect).
  CHECK(call(b, "GET", "/cluster").body.rfind("{\"cluster\":\"demo\",\"self\":\"n2\",\"primary\":\"n1\",\"epoch\":4,", 0) ==
        0);
  CHECK(call(b, "GET", "/replica").body.rfind("{\"state\":\"running\",\"role\":\"replica\",", 0) == 0);
  b.cluster_facts.state.history[0].lsn = UINT64_MAX - 1;  // LSNs are past 2^53: doubles would round them
  b.cluster_facts.raft_term = (uint64_t{1} << 60) + 1;
  b.cluster_facts.members[2].status.last_error = "bad \xff byte, \xc3\xa9 kept";
  CHECK(json(call(b, "GET", "/history")).at(0).at("lsn").get<uint64_t>() == UINT64_MAX - 1);
  Json c = json(call(b, "GET", "/cluster"));  // json() parses with parse_json, which refuses invalid UTF-8
  CHECK(c.at("raft_term").get<uint64_t>() == (uint64_t{1} << 60) + 1);
  CHECK(member(c, "n3").at("last_error") == "bad \xef\xbf\xbd byte, \xc3\xa9 kept");
}

TEST_CASE("/ui: one self-contained HTML page that reads the JSON endpoints") {
  FakeApiBackend b;
  ApiResponse r = call(b, "GET", "/ui");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body.rfind("<!doctype html>", 0) == 0);
  for (const char* endpoint : {"fetch(path", "\"/cluster\"", "\"/history\"", "\"/proxy\""})
    CHECK(r.body.find(endpoint) != std::string::npos);
  for (const char* id : {"id=\"primary\"", "id=\"members\"", "id=\"diagnostics\"", "id=\"history\"", "id=\"proxy\""})
    CHECK(r.body.find(id) != std::string::npos);
  // No external assets: nothing loaded from another origin.
  CHECK(r.body.find("src=\"http") == std::string::npos);
  CHECK(r.body.find("href=\"http") == std::string::npos);
  CHECK(r.body.find("<script src") == std::string::npos);
  CHECK(r.body.find("<link") == std::string::npos);
  // "/" stays Patroni's primary check, not the page.
  CHECK(call(b, "GET", "/").content_type == "application/json");
}

TEST_CASE("/membership and /member/add, /member/remove: document, validation, auth") {
  FakeApiBackend b = FakeApiBackend::healthy();
  CHECK(call(b, "GET", "/membership").status == 503);  // raft not running
  pw::node::MembershipFacts f;
  f.committed.epoch = 12;
  f.committed.next_id = 5;
  f.committed.members = {{1, "n1", "10.0.0.1", 5010, true, false}, {4, "n4", "10.0.0.4", 5011, false, true}};
  f.pending = true;
  f.drift = "the file disagrees";
  b.membership_facts = f;
  ApiResponse r = call(b, "GET", "/membership", "", "");  // a read: no token needed (a joining node asks)
  REQUIRE(r.status == 200);
  Json v = json(r);
  CHECK(v.at("cluster") == "demo");
  CHECK(v.at("epoch") == 12);
  CHECK(v.at("next_id") == 5);
  CHECK(v.at("pending") == true);
  CHECK(v.at("config_drift") == "the file disagrees");
  REQUIRE(v.at("members").size() == 2);
  const Json& l = v.at("members").at(1);
  CHECK(l.at("name") == "n4");
  CHECK(l.at("port") == 5011);
  CHECK(l.at("role") == "learner");
  CHECK(l.at("stays_learner") == true);

  CHECK(call(b, "POST", "/member/add", "{\"name\": \"n5\", \"host\": \"10.0.0.5\"}", "").status == 401);
  CHECK(call(b, "POST", "/member/add", "{\"name\": \"n5\"}").status == 400);
  CHECK(call(b, "POST", "/member/add", "{\"host\": \"10.0.0.5\"}").status == 400);
  CHECK(error_of(call(b, "POST", "/member/add", "{\"name\": \"n5\", \"host\": \"h\", \"port\": 70000}"))
            .find("port") != std::string::npos);
  CHECK(call(b, "POST", "/member/add", "{\"name\": \"n5\", \"host\": \"h\", \"learner\": \"yes\"}").status == 400);
  CHECK(call(b, "POST", "/member/add", "{\"name\": \"n5\", \"host\": \"h\", \"voter\": true}").status == 400);
  CHECK(call(b, "GET", "/member/add").status == 405);
  REQUIRE(b.calls.empty());
  CHECK(call(b, "POST", "/member/add", "{\"name\": \"n5\", \"host\": \"10.0.0.5\", \"port\": 5012, \"learner\": true}")
            .status == 200);
  CHECK(call(b, "POST", "/member/remove", "{\"name\": \"n2\"}").status == 200);
  CHECK(call(b, "POST", "/member/remove", "{}").status == 400);
  REQUIRE(b.calls.size() == 2);
  CHECK(b.calls[0].op == "member_add");
  CHECK(b.calls[0].arg == "n5=10.0.0.5:5012 learner");
  CHECK(b.calls[1].op == "member_remove");
  CHECK(b.calls[1].arg == "n2");
}
