// tests/unit/api_metrics_test.cc — GET /metrics: the output passes an
// independent Prometheus text-format checker in every situation (with and
// without a proxy, diagnostics, odd label values) and carries the values the
// facts say; the checker itself rejects broken expositions.
#include <catch2/catch.hpp>

#include "api/handlers.h"
#include "api/prometheus.h"
#include "support/api_fake_backend.h"
#include "support/api_prom_check.h"

using pw::test::check_prometheus_text;
using pw::test::FakeApiBackend;
using pw::test::prometheus_samples;

namespace {

pw::node::ApiResponse get_metrics(FakeApiBackend& b) {
  pw::node::ApiHandlers h(&b, std::nullopt);
  pw::node::ApiResponse out;
  h.handle({"GET", "/metrics", "", "", ""}, [&](pw::node::ApiResponse r) { out = std::move(r); });
  return out;
}

// The value of the sample `name` with labels exactly `labels` ("k=v,k=v").
std::optional<double> sample(const std::string& text, const std::string& name, const std::string& labels = "") {
  for (const auto& s : prometheus_samples(text))
    if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("metrics of a healthy primary with a proxy") {
  auto b = FakeApiBackend::healthy("n1");
  b.cluster_facts.diagnostics.push_back({"sync_standby_missing", "x", "y"});
  pw::proxy::Counters c;
  c.readwrite.sessions_now = 4;
  c.readwrite.sessions_total = 40;
  c.readwrite.held_now = 1;
  c.readwrite.bytes_client_to_server = 1000;
  c.readwrite.bytes_server_to_client = 9000;
  c.readwrite.refused = 2;
  c.readwrite.backend_connect_total = 10;
  c.readwrite.backend_connect_us_sum = 2500000;
  c.backends.push_back({"127.0.7.11", 15432, 4, 40, 1000, 9000, 0, 40, 2500000});
  b.counters = c;
  pw::node::ApiResponse r = get_metrics(b);
  CHECK(r.status == 200);
  CHECK(r.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  const std::string& t = r.body;
  INFO(t);
  CHECK(check_prometheus_text(t) == "");
  CHECK(sample(t, "pgwarden_raft_term") == 7);
  CHECK(sample(t, "pgwarden_raft_is_leader") == 0);
  CHECK(sample(t, "pgwarden_raft_leader_id") == 2);
  CHECK(sample(t, "pgwarden_raft_leader", "member=n2") == 1);
  CHECK(sample(t, "pgwarden_raft_commit_index") == 120);
  CHECK(sample(t, "pgwarden_raft_applied_index") == 119);
  CHECK(sample(t, "pgwarden_lease_held") == 1);
  CHECK(sample(t, "pgwarden_lease_remaining_seconds") == 2.5);
  CHECK(sample(t, "pgwarden_epoch") == 4);
  CHECK(sample(t, "pgwarden_primary", "member=n1") == 1);
  CHECK(sample(t, "pgwarden_postgres_primary") == 1);
  CHECK(sample(t, "pgwarden_postgres_running") == 1);
  CHECK(sample(t, "pgwarden_postgres_timeline") == 3);
  CHECK(sample(t, "pgwarden_postgres_wal_lsn_bytes") == 0x5000000);
  CHECK(sample(t, "pgwarden_postgres_lag_bytes") == 0);
  CHECK(sample(t, "pgwarden_member_lag_bytes", "member=n3") == 3 << 20);
  CHECK(sample(t, "pgwarden_member_role", "member=n2,role=replica") == 1);
  CHECK(sample(t, "pgwarden_member_up", "member=n3") == 1);
  CHECK(sample(t, "pgwarden_failovers_total") == 2);
  CHECK(sample(t, "pgwarden_switchovers_total") == 1);
  CHECK(sample(t, "pgwarden_diagnostics") == 1);
  CHECK(sample(t, "pgwarden_diagnostic", "code=sync_standby_missing") == 1);
  CHECK(sample(t, "pgwarden_proxy_sessions", "listener=readwrite") == 4);
  CHECK(sample(t, "pgwarden_proxy_sessions_total", "listener=readwrite") == 40);
  CHECK(sample(t, "pgwarden_proxy_held", "listener=readwrite") == 1);
  CHECK(sample(t, "pgwarden_proxy_refused_total", "listener=readwrite") == 2);
  CHECK(sample(t, "pgwarden_proxy_bytes_total", "listener=readwrite,direction=server_to_client") == 9000);
  CHECK(sample(t, "pgwarden_proxy_connect_seconds_total", "listener=readwrite") == 2.5);
  CHECK(sample(t, "pgwarden_proxy_backend_sessions", "backend=127.0.7.11:15432") == 4);
  CHECK(t.find("# TYPE pgwarden_failovers_total counter\n") != std::string::npos);
  CHECK(t.find("# TYPE pgwarden_epoch gauge\n") != std::string::npos);
}

TEST_CASE("metrics of a stopped replica without a proxy, with hostile label values") {
  auto b = FakeApiBackend::healthy("n3");
  b.health_facts.pg = {};
  b.cluster_facts.members[2].status.pg_running = false;
  b.cluster_facts.members[1].fresh = false;
  b.cluster_facts.cluster_name = "we\"ird\\name\nx";
  b.cluster_facts.state.primary.clear();
  b.cluster_facts.decider.clear();
  b.raft_facts = {};
  b.cluster_facts.diagnostics = {{"no_quorum", "a", "b"}, {"init_done_no_data", "c", "d"}};
  std::string t = get_metrics(b).body;
  INFO(t);
  CHECK(check_prometheus_text(t) == "");
  CHECK(t.find("cluster=\"we\\\"ird\\\\name\\nx\"") != std::string::npos);
  CHECK(sample(t, "pgwarden_postgres_running") == 0);
  CHECK(sample(t, "pgwarden_postgres_primary") == 0);
  CHECK(!sample(t, "pgwarden_postgres_lag_bytes"));
  CHECK(!sample(t, "pgwarden_primary", "member=n1"));
  CHECK(sample(t, "pgwarden_member_role", "member=n3,role=stopped") == 1);
  CHECK(sample(t, "pgwarden_member_role", "member=n2,role=unknown") == 1);
  CHECK(sample(t, "pgwarden_member_up", "member=n2") == 0);
  CHECK(sample(t, "pgwarden_raft_running") == 0);
  CHECK(sample(t, "pgwarden_diagnostic", "code=no_quorum") == 1);
  CHECK(sample(t, "pgwarden_diagnostic", "code=init_done_no_data") == 1);
  CHECK(t.find("pgwarden_proxy_") == std::string::npos);
}

TEST_CASE("fencer metrics: absent when unknown, up and restarts when reported") {
  auto b = FakeApiBackend::healthy("n1");
  std::string t = get_metrics(b).body;
  CHECK(t.find("pgwarden_fencer_") == std::string::npos);

  b.fencer_facts = {true, true, 3};
  t = get_metrics(b).body;
  INFO(t);
  CHECK(check_prometheus_text(t) == "");
  CHECK(sample(t, "pgwarden_fencer_up") == 1);
  CHECK(sample(t, "pgwarden_fencer_restarts_total") == 3);
  CHECK(t.find("# TYPE pgwarden_fencer_up gauge\n") != std::string::npos);
  CHECK(t.find("# TYPE pgwarden_fencer_restarts_total counter\n") != std::string::npos);

  b.fencer_facts = {true, false, 4};  // died, and the restart failed
  t = get_metrics(b).body;
  CHECK(check_prometheus_text(t) == "");
  CHECK(sample(t, "pgwarden_fencer_up") == 0);
  CHECK(sample(t, "pgwarden_fencer_restarts_total") == 4);
}

TEST_CASE("the checker rejects broken expositions") {
  const char* bad[] = {
      "",
      "x 1",                                            // no final newline
      "x 1\n\n",                                        // empty line
      "1x 1\n",                                         // bad name
      "x{a=\"1\"} \n",                                  // no value
      "x{a=\"1\"} one\n",                               // bad value
      "x{a=1} 1\n",                                     // unquoted label value
      "x{a=\"1\",a=\"2\"} 1\n",                         // repeated label
      "x{a=\"\\t\"} 1\n",                               // invalid escape
      "x{a=\"1\" 1\n",                                  // unterminated labels
      "x 1\nx 2\n",                                     // same series twice
      "x{a=\"1\"} 1\ny 1\nx{a=\"2\"} 1\n",              // family not contiguous
      "# TYPE x counter\nx -1\n",                       // negative counter
      "# TYPE x gauge\n# TYPE x gauge\nx 1\n",          // TYPE twice
      "x 1\n# TYPE x gauge\n",                          // TYPE after samples
      "# TYPE x widget\nx 1\n",                         // unknown type
      "# HELP x a\n# HELP x b\nx 1\n",                  // HELP twice
      "x 1 12a\n",                                      // bad timestamp
  };
  for (const char* t : bad) {
    INFO(t);
    CHECK(check_prometheus_text(t) != "");
  }
  CHECK(check_prometheus_text("# HELP x a \\\\ b\n# TYPE x gauge\nx{a=\"q\\\"\",b=\"\"} -1.5e3 1700000000000\n"
                              "# free comment\ny NaN\nz +Inf\n") == "");
  pw::node::PromWriter w;
  w.family("m_total", "counter", "help with \\ and\nnewline");
  w.sample("m_total", uint64_t{3}, {{"l", "a\"b\\c\nd"}});
  w.sample("m_total", 0.25, {{"l", "e"}});
  CHECK(check_prometheus_text(w.str()) == "");
  CHECK(w.str() == "# HELP m_total help with \\\\ and\\nnewline\n# TYPE m_total counter\n"
                   "m_total{l=\"a\\\"b\\\\c\\nd\"} 3\nm_total{l=\"e\"} 0.25\n");
}
