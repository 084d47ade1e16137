// tests/unit/conf_load_test.cc — load_config() on real files: defaults,
// derived values, and each class of error naming file, line and key.
#include <catch2/catch.hpp>

#include "support/conf_fixture.h"

using namespace pw::conf;
using pw::test::all_errors;
using pw::test::ConfFixture;
using pw::test::find_error;

TEST_CASE("a minimal config loads with every default and derived value", "[conf][load]") {
  ConfFixture fx;
  LoadResult r = fx.load(fx.minimal());
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.node_name == "n1");
  CHECK(c.self().host == "127.0.0.21");
  CHECK(c.self().raft_port == 5010);
  REQUIRE(c.members.size() == 3);
  CHECK(c.members[2].raft_port == 5010);
  CHECK(c.pg_listen_address == "127.0.0.21");
  CHECK(c.proxy_listen_address == "127.0.0.21");
  CHECK(c.api_listen_address == "127.0.0.21");
  CHECK(c.pg_socket_dir == "/var/lib/pgwarden/n1");
  CHECK(c.pg_port == 15432);
  CHECK(c.proxy_port == 5432);
  CHECK(c.proxy_readonly_port == 0);
  CHECK(c.api_port == 8008);
  CHECK(c.ha_lease_ms == 3000);
  CHECK(c.ha_max_clock_drift == Approx(0.05));
  CHECK(c.ha_maximum_lag_on_failover == 1u << 20);
  CHECK_FALSE(c.ha_synchronous_mode);
  CHECK_FALSE(c.tls_enabled());
  CHECK(c.source_file.find("pgwarden.ini") != std::string::npos);
}

TEST_CASE("every key can be set, in every section", "[conf][load]") {
  ConfFixture fx;
  std::string token = fx.secret("api.token");
  std::string ca = fx.write("ca.pem", "ca\n");
  std::string cert = fx.write("node.pem", "cert\n");
  std::string key = fx.secret("node.key", "key\n");
  LoadResult r = fx.load(fx.minimal(
      "port = 15433\nlisten_address = 127.0.0.21, ::1\nsocket_dir = /run/pg\nsuperuser = admin\n"
      "replication_user = repl\ninitdb_args = --locale=C --encoding=UTF8\nmove_aside_foreign_data "
      "= yes\n"
      "[node]\nlog_level = debug\n"
      "[raft]\nport = 6010\ntick = 50ms\nelection_timeout = 2s\nheartbeat_interval = 200ms\n"
      "max_frame_size = 1MB\nsnapshot_entries = 500\n"
      "[postgresql.parameters]\nshared_buffers = 1GB\nwork_mem = '64MB'\npg_stat_statements.track "
      "= all\n"
      "[proxy]\nport = 6432\nreadonly_port = 6433\nlisten_address = 0.0.0.0\nhold_timeout = 1m30s\n"
      "connect_timeout = 500ms\nmax_client_connections = 500\nreadonly_max_lag = "
      "16MB\nreadonly_fallback = false\n"
      "shutdown_grace = 0s\nthreads = 4\n"
      "[api]\nport = 9008\nlisten_address = ::\ntoken_file = " +
      token +
      "\ntls = on\n"
      "[tls]\nca_file = " +
      ca + "\ncert_file = " + cert + "\nkey_file = " + key +
      "\n"
      "[ha]\nlease = 10s\nmax_clock_drift = 2.5%\nfence_grace = 1s\nfence_margin = "
      "2s\nloop_interval = 1s\n"
      "maximum_lag_on_failover = 64MB\nsynchronous_mode = on\nprimary_restart_timeout = "
      "30s\nbootstrap_timeout = 5m\n"
      "[bootstrap]\nreinit_when_all_empty = true\n"
      "[tags]\nnofailover = 1\npriority = -5\n"));
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.pg_port == 15433);
  CHECK(c.pg_listen_address == "127.0.0.21, ::1");
  CHECK(c.pg_socket_dir == "/run/pg");
  CHECK(c.pg_superuser == "admin");
  CHECK(c.pg_replication_user == "repl");
  CHECK(c.pg_initdb_args == "--locale=C --encoding=UTF8");
  CHECK(c.pg_move_aside_foreign);
  CHECK(c.log_level == "debug");
  CHECK(c.raft_port == 6010);
  CHECK(c.self().raft_port == 6010);  // members without a port take [raft] port
  CHECK(c.raft_tick_ms == 50);
  CHECK(c.raft_election_timeout_ms == 2000);
  CHECK(c.raft_heartbeat_interval_ms == 200);
  CHECK(c.raft_max_frame_size == 1u << 20);
  CHECK(c.raft_snapshot_entries == 500);
  CHECK(c.pg_parameters.at("shared_buffers") == "1GB");
  CHECK(c.pg_parameters.at("work_mem") == "'64MB'");
  CHECK(c.pg_parameters.at("pg_stat_statements.track") == "all");
  CHECK(c.proxy_port == 6432);
  CHECK(c.proxy_readonly_port == 6433);
  CHECK(c.proxy_listen_address == "0.0.0.0");
  CHECK(c.proxy_hold_timeout_ms == 90000);
  CHECK(c.proxy_connect_timeout_ms == 500);
  CHECK(c.proxy_max_client_connections == 500);
  CHECK(c.proxy_readonly_max_lag == 16u << 20);
  CHECK_FALSE(c.proxy_readonly_fallback);
  CHECK(c.proxy_shutdown_grace_ms == 0);
  CHECK(c.proxy_threads == 4);
  CHECK(c.api_port == 9008);
  CHECK(c.api_listen_address == "::");
  CHECK(c.api_token_file == token);
  CHECK(c.api_tls);
  CHECK(c.tls_enabled());
  CHECK(c.tls_key_file == key);
  CHECK(c.ha_lease_ms == 10000);
  CHECK(c.ha_max_clock_drift == Approx(0.025));
  CHECK(c.ha_fence_grace_ms == 1000);
  CHECK(c.ha_fence_margin_ms == 2000);
  CHECK(c.ha_loop_interval_ms == 1000);
  CHECK(c.ha_maximum_lag_on_failover == 64u << 20);
  CHECK(c.ha_synchronous_mode);
  CHECK(c.ha_primary_restart_timeout_ms == 30000);
  CHECK(c.ha_bootstrap_timeout_ms == 300000);
  CHECK(c.bootstrap_reinit_when_all_empty);
  CHECK(c.tag_nofailover);
  CHECK(c.tag_priority == -5);
}

TEST_CASE("messages name file, line, section and key", "[conf][load]") {
  ConfFixture fx;
  LoadResult r = fx.load(fx.minimal("[ha]\nlease = 3\n"));
  REQUIRE(r.errors.size() == 1);
  const ConfigError& e = r.errors[0];
  CHECK(e.file == fx.dir() + "/pgwarden.ini");
  CHECK(e.line == 13);
  CHECK(e.section == "ha");
  CHECK(e.key == "lease");
  CHECK(e.to_string() ==
        fx.dir() +
            "/pgwarden.ini:13: [ha] lease: bad value: '3' has no unit; "
            "expected a number with a unit: 500ms, 4s, 1m, 1h, 1d, or a sum like 1m30s");
}

TEST_CASE("unknown sections and keys, with 'did you mean'", "[conf][load]") {
  ConfFixture fx;
  LoadResult r =
      fx.load(fx.minimal("[proxi]\nport = 1\n"              // 12, 13: reported once, at the header
                         "[proxy]\nprot = 5432\n"           // 15
                         "[raft]\nlease = 3s\n"             // 17: belongs to [ha]
                         "[api]\nfrobnicate = 1\n"          // 19: nothing near
                         "[weird_stuff]\n"                  // 20
                         "[ha]\nsynchronous_mod = on\n"));  // 22
  INFO(all_errors(r));
  CHECK(find_error(r, 12, "proxi", "", "unknown section; did you mean [proxy]?"));
  CHECK(find_error(r, 15, "proxy", "prot", "unknown key; did you mean 'port'?"));
  CHECK(find_error(r, 17, "raft", "lease", "did you mean 'lease' in [ha]?"));
  CHECK(find_error(r, 19, "api", "frobnicate", "known keys in [api]: port, listen_address"));
  CHECK(find_error(r, 20, "weird_stuff", "", "unknown section"));
  CHECK(find_error(r, 22, "ha", "synchronous_mod", "did you mean 'synchronous_mode'?"));
  CHECK(r.errors.size() == 6);
}

TEST_CASE("a key outside any section, and a key set twice", "[conf][load]") {
  ConfFixture fx;
  LoadResult r = fx.load("lease = 3s\n" + fx.minimal("[node]\nname = n2\n"));
  INFO(all_errors(r));
  CHECK(find_error(r, 1, "", "lease", "before any [section]; did you mean it under [ha]?"));
  CHECK(find_error(r, 14, "node", "name", "set twice; first set at line 3"));
  CHECK(r.errors.size() == 2);
}

TEST_CASE("missing required keys name the section's line, or 0 without it", "[conf][load]") {
  ConfFixture fx;
  LoadResult r = fx.load("[node]\nname = n1\n[cluster]\nname = c\nmembers = n1=127.0.0.21\n");
  INFO(all_errors(r));
  CHECK(find_error(r, 1, "node", "state_dir",
                   "required key missing; add 'state_dir = ...' under [node]"));
  CHECK(find_error(r, 0, "postgresql", "bin_dir", "required key missing"));
  CHECK(find_error(r, 0, "postgresql", "data_dir", "required key missing"));
  CHECK(find_error(r, 0, "postgresql", "replication_password_file", "required key missing"));
  CHECK(r.errors.size() == 4);
  // Line-0 errors come after the ones with a line.
  CHECK(r.errors.front().line == 1);
  CHECK(r.errors.back().line == 0);
  CHECK(r.errors.back().to_string().find(":0: [postgresql] replication_password_file: ") !=
        std::string::npos);
}

TEST_CASE("bad values of every type say the accepted forms", "[conf][load]") {
  ConfFixture fx;
  LoadResult r = fx.load(fx.minimal(
      "port = 99999\n"                                                    // 12
      "listen_address = 127.0.0.1, x..y\n"                                // 13
      "superuser = 9lives\n[node]\nlog_level = loud\n"                    // 14, 16
      "[raft]\nmax_frame_size = 1kB\nsnapshot_entries = 0\ntick = 0ms\n"  // 18, 19, 20
      "[proxy]\nthreads = many\nlisten_address = not a host\nreadonly_max_lag = 1.5MB\n"  // 22, 23,
                                                                                          // 24
      "[api]\ntoken_file = relative.token\ntls = sometimes\n"                             // 26, 27
      "[ha]\nmax_clock_drift = 0.05\nlease = 50ms\n"                                      // 29, 30
      "[tags]\npriority = 1e3\n"));                                                       // 32
  INFO(all_errors(r));
  CHECK(find_error(r, 12, "postgresql", "port", "from 1 to 65535"));
  CHECK(find_error(r, 13, "postgresql", "listen_address", "'x..y' is not a host name"));
  CHECK(find_error(r, 14, "postgresql", "superuser", "not starting with a digit"));
  CHECK(find_error(r, 16, "node", "log_level", "expected debug, info, warn or error"));
  CHECK(find_error(r, 18, "raft", "max_frame_size", "minimum is 4kB"));
  CHECK(find_error(r, 19, "raft", "snapshot_entries", "from 1 to 1000000000"));
  CHECK(find_error(r, 20, "raft", "tick", "minimum is 1ms"));
  CHECK(find_error(r, 22, "proxy", "threads", "expected an integer"));
  CHECK(find_error(r, 23, "proxy", "listen_address", "use e.g. 10.0.0.120, 0.0.0.0 or ::"));
  CHECK(find_error(r, 24, "proxy", "readonly_max_lag", "512kB, 1MB"));
  CHECK(find_error(r, 26, "api", "token_file", "not an absolute path"));
  CHECK(find_error(r, 27, "api", "tls", "on/off"));
  CHECK(find_error(r, 29, "ha", "max_clock_drift", "like 5% or 2.5%"));
  CHECK(find_error(r, 30, "ha", "lease", "minimum is 100ms"));
  CHECK(find_error(r, 32, "tags", "priority", "not an integer"));
  CHECK(r.errors.size() == 15);
}

TEST_CASE("[postgresql.parameters] passes names through but refuses managed ones", "[conf][load]") {
  ConfFixture fx;
  LoadResult r = fx.load(fx.minimal(
      "[postgresql.parameters]\nshared_buffers = 1GB\nport = 5433\nprimary_conninfo = x\n"
      "listen_addresses = *\nsynchronous_standby_names = *\nbad-name = 1\n"));
  INFO(all_errors(r));
  CHECK(find_error(r, 14, "postgresql.parameters", "port", "set [postgresql] port"));
  CHECK(find_error(r, 15, "postgresql.parameters", "primary_conninfo", "is set by pgwarden"));
  CHECK(find_error(r, 16, "postgresql.parameters", "listen_addresses",
                   "[postgresql] listen_address"));
  CHECK(find_error(r, 17, "postgresql.parameters", "synchronous_standby_names",
                   "[ha] synchronous_mode"));
  CHECK(find_error(r, 18, "postgresql.parameters", "bad-name", "not a PostgreSQL parameter name"));
  CHECK(r.errors.size() == 5);
}

TEST_CASE("[postgresql.parameters] takes bare and quoted values; a broken quote is refused",
          "[conf][load]") {
  ConfFixture fx;
  LoadResult ok = fx.load(fx.minimal(
      "[postgresql.parameters]\nssl_cert_file = '/etc/ssl/x.crt'\nssl_key_file = /etc/ssl/x.key\n"
      "log_line_prefix = '%m it''s '\n"));
  INFO(all_errors(ok));
  REQUIRE(ok.ok());
  CHECK(ok.config.pg_parameters.at("ssl_cert_file") == "'/etc/ssl/x.crt'");
  CHECK(ok.config.pg_parameters.at("ssl_key_file") == "/etc/ssl/x.key");

  LoadResult bad = fx.load(fx.minimal(
      "[postgresql.parameters]\nssl_cert_file = '/etc/ssl/x.crt\nsearch_path = '$user', public\n"));
  INFO(all_errors(bad));
  CHECK(find_error(bad, 13, "postgresql.parameters", "ssl_cert_file", "no closing quote"));
  CHECK(find_error(bad, 14, "postgresql.parameters", "search_path", "after the closing quote"));
  CHECK(bad.errors.size() == 2);
  CHECK_THAT(bad.errors[0].to_string(),
             Catch::Contains("pgwarden.ini:13: [postgresql.parameters] ssl_cert_file: bad value"));
}

TEST_CASE("a missing or unreadable config file is one error at line 0", "[conf][load]") {
  LoadResult r = load_config("/nonexistent/dir/pgwarden.ini");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 0);
  CHECK(r.errors[0].to_string() ==
        "/nonexistent/dir/pgwarden.ini:0: cannot open: No such file or directory");
  ConfFixture fx;
  LoadResult d = load_config(fx.dir());
  REQUIRE(d.errors.size() == 1);
  CHECK(d.errors[0].message.find("is a directory") != std::string::npos);
}

TEST_CASE("syntax errors and value errors come together, in file order", "[conf][load]") {
  ConfFixture fx;
  LoadResult r =
      fx.load(fx.minimal("garbage line\n[ha]\nlease = soon\n[tags\nnofailover = perhaps\n"));
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].line == 12);
  CHECK(r.errors[0].message.find("expected 'key = value'") != std::string::npos);
  CHECK(r.errors[1].line == 14);
  CHECK(r.errors[1].key == "lease");
  CHECK(r.errors[2].line == 15);
  CHECK(r.errors[2].message.find("lacks ']'") != std::string::npos);
  // After a broken header the key still belongs to the previous section ([ha]).
  CHECK(r.errors[3].line == 16);
  CHECK(r.errors[3].section == "ha");
  CHECK(r.errors[3].key == "nofailover");
}
