// tests/unit/pgctl_managed_conf_test.cc — rendering of the files pgwarden
// manages: quoting, the include line, the pg_hba block and its splicing,
// owned parameters, postgresql.auto.conf cleanup, the pgpass line.
#include <catch2/catch.hpp>

#include "pgctl/managed_conf.h"

using namespace pw::pgctl;

namespace {
ManagedConf sample() {
  ManagedConf c;
  c.node_name = "db-01";
  c.listen_address = "10.0.0.120";
  c.port = 15432;
  c.socket_dir = "/run/pgwarden";
  c.member_count = 3;
  c.replication_user = "replicator";
  c.passfile = "/run/pgwarden/pgwarden.pgpass";
  c.slot_name = "db_01";
  c.superuser = "postgres";
  c.member_addresses = {"10.0.0.120", "10.0.0.121", "fd00::5", "db-03.example"};
  return c;
}
}  // namespace

TEST_CASE("quoting for postgresql.conf and conninfo") {
  CHECK(conf_quote("plain") == "'plain'");
  CHECK(conf_quote("it's") == "'it''s'");
  CHECK(conf_quote("a\\b") == "'a\\\\b'");
  CHECK(conf_quote("two\nlines") == "'two lines'");
  CHECK(conninfo_quote("x") == "'x'");
  CHECK(conninfo_quote("a'b\\c") == "'a\\'b\\\\c'");
  CHECK(pgpass_line("rep", "p:w\\d") == "*:*:*:rep:p\\:w\\\\d\n");
  std::string ci = replication_conninfo("10.0.0.1", 15432, "rep", "/p", "n1");
  CHECK_THAT(ci, Catch::StartsWith("host='10.0.0.1' port=15432 user='rep' passfile='/p' "
                                   "application_name='n1'"));
  CHECK_THAT(ci, !Catch::Contains("password"));
  CHECK_THAT(replication_conninfo("h", 1, "u", "/p", "n", "postgres"),
             Catch::EndsWith("dbname='postgres'"));
}

TEST_CASE("pgwarden.conf for a primary and for a standby") {
  ManagedConf c = sample();
  std::vector<std::string> warnings;
  std::string primary = render_managed_conf(c, &warnings);
  CHECK(warnings.empty());
  CHECK_THAT(primary, Catch::Contains("listen_addresses = '10.0.0.120'\n"));
  CHECK_THAT(primary, Catch::Contains("port = 15432\n"));
  CHECK_THAT(primary, Catch::Contains("unix_socket_directories = '/run/pgwarden'\n"));
  CHECK_THAT(primary, Catch::Contains("wal_level = replica\n"));
  CHECK_THAT(primary, Catch::Contains("hot_standby = on\n"));
  CHECK_THAT(primary, Catch::Contains("wal_log_hints = on\n"));
  CHECK_THAT(primary, Catch::Contains("max_wal_senders = 10\n"));
  CHECK_THAT(primary, Catch::Contains("wal_keep_size = '128MB'\n"));
  CHECK_THAT(primary, Catch::Contains("wal_retrieve_retry_interval = '500ms'\n"));
  CHECK_THAT(primary, Catch::Contains("primary_conninfo = ''\n"));
  CHECK_THAT(primary, Catch::Contains("primary_slot_name = ''\n"));

  c.standby = true;
  c.upstream_host = "10.0.0.121";
  c.upstream_port = 15432;
  std::string standby = render_managed_conf(c, &warnings);
  CHECK_THAT(standby,
             Catch::Contains("primary_conninfo = 'host=''10.0.0.121'' port=15432 "
                             "user=''replicator'' passfile=''/run/pgwarden/pgwarden.pgpass'' "
                             "application_name=''db-01''"));
  CHECK_THAT(standby, Catch::Contains("primary_slot_name = 'db_01'\n"));
  c.member_count = 20;
  c.major = 12;
  std::string big = render_managed_conf(c, &warnings);
  CHECK_THAT(big, Catch::Contains("max_wal_senders = 42\n"));
  CHECK_THAT(big, Catch::Contains("wal_keep_segments = 8\n"));
}

TEST_CASE("pass-through parameters: ours win for owned keys, theirs for the rest") {
  ManagedConf c = sample();
  c.parameters = {{"shared_buffers", "1GB"}, {"max_wal_senders", "30"},
                  {"port", "5432"},          {"Primary_Conninfo", "host=evil"},
                  {"bad name", "x"},         {"pg_stat_statements.max", "5000"}};
  std::vector<std::string> warnings;
  std::string out = render_managed_conf(c, &warnings);
  CHECK_THAT(out, Catch::Contains("shared_buffers = '1GB'\n"));
  CHECK_THAT(out, Catch::Contains("pg_stat_statements.max = '5000'\n"));
  // max_wal_senders appears twice: our default, then theirs (the last wins).
  CHECK(out.find("max_wal_senders = '30'") > out.find("max_wal_senders = 10"));
  CHECK_THAT(out, !Catch::Contains("port = '5432'"));
  CHECK_THAT(out, !Catch::Contains("evil"));
  CHECK(warnings.size() == 3);
  CHECK(is_owned_parameter("PORT"));
  CHECK_FALSE(is_owned_parameter("work_mem"));
}

TEST_CASE("parameters in PostgreSQL's quoted form are written once quoted, not twice") {
  ManagedConf c = sample();
  c.parameters = {{"ssl_cert_file", "'/etc/ssl/x.crt'"},
                  {"ssl_key_file", "/etc/ssl/x.key"},
                  {"log_line_prefix", "'%m [%p] it''s '"},
                  {"search_path", "'\"$user\", public'  # comment"},
                  {"broken", "'unterminated"}};
  std::vector<std::string> warnings;
  std::string out = render_managed_conf(c, &warnings);
  CHECK_THAT(out, Catch::Contains("ssl_cert_file = '/etc/ssl/x.crt'\n"));
  CHECK_THAT(out, Catch::Contains("ssl_key_file = '/etc/ssl/x.key'\n"));
  CHECK_THAT(out, Catch::Contains("log_line_prefix = '%m [%p] it''s '\n"));
  CHECK_THAT(out, Catch::Contains("search_path = '\"$user\", public'\n"));
  CHECK_THAT(out, !Catch::Contains("''/etc"));
  // load_config() refuses it; written anyway it would stop PostgreSQL.
  CHECK_THAT(out, !Catch::Contains("broken"));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("no closing quote"));
}

TEST_CASE("the pg_hba block and its splicing") {
  ManagedConf c = sample();
  std::string block = render_hba_block(c);
  CHECK_THAT(block, Catch::StartsWith(kHbaBegin));
  CHECK_THAT(block, Catch::EndsWith(std::string(kHbaEnd) + "\n"));
  CHECK_THAT(block, Catch::Contains("local   all             postgres"));
  CHECK_THAT(block,
             Catch::Contains(
                 "host    replication     replicator      10.0.0.121/32           scram-sha-256"));
  CHECK_THAT(block,
             Catch::Contains(
                 "host    all             all             10.0.0.121/32           scram-sha-256"));
  CHECK_THAT(block, Catch::Contains("fd00::5/128"));
  CHECK_THAT(block, Catch::Contains("db-03.example "));
  c.replication_user = "Rep User";
  CHECK_THAT(render_hba_block(c), Catch::Contains("\"Rep User\""));

  std::string existing =
      "# initdb's\nlocal all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n";
  std::string out, err;
  REQUIRE(splice_hba(existing, block, &out, &err));
  CHECK(out == block + existing);  // prepended: first match wins in pg_hba
  std::string again;
  REQUIRE(splice_hba(out, block, &again, &err));
  CHECK(again == out);  // idempotent
  ManagedConf c2 = sample();
  c2.member_addresses = {"10.9.9.9"};
  std::string replaced;
  REQUIRE(splice_hba("# top\n" + out, render_hba_block(c2), &replaced, &err));
  CHECK(replaced == "# top\n" + render_hba_block(c2) + existing);
  CHECK_FALSE(
      splice_hba(std::string(kHbaBegin) + "\nhost all all 1.2.3.4/32 trust\n", block, &out, &err));
  CHECK_THAT(err, Catch::Contains("without"));
}

TEST_CASE("hba_extra rules: their own block, right below pgwarden's, above the operator's") {
  ManagedConf c = sample();
  c.hba_extra = {"host all app 10.0.0.0/16 scram-sha-256", "local all all peer",
                 "host all x 1.2.3.4/32 trust\nhost all all 0.0.0.0/0 trust"};
  std::vector<std::string> warnings;
  std::string extra = render_hba_extra_block(c, &warnings);
  CHECK(extra == std::string(kHbaExtraBegin) +
                     ": [postgresql] hba_extra and hba_file, rewritten at every start\n"
                     "host all app 10.0.0.0/16 scram-sha-256\n"
                     "local all all peer\n" +
                     kHbaExtraEnd + "\n");
  CHECK(warnings.size() == 1);  // a rule with a line break would be two rules

  const std::string initdb = "# initdb's\nhost all all 127.0.0.1/32 scram-sha-256\n";
  std::string managed, out, err;
  REQUIRE(splice_hba(initdb, render_hba_block(c), &managed, &err));
  REQUIRE(splice_hba_extra(managed, extra, &out, &err));
  // Order: pgwarden's block (first match), the extra rules, then initdb's
  // lines, which would otherwise shadow an extra rule for 127.0.0.1.
  CHECK(out == render_hba_block(c) + extra + initdb);
  std::string again;
  REQUIRE(splice_hba_extra(out, extra, &again, &err));
  CHECK(again == out);  // idempotent

  // Rules changed in the INI replace the old block; none left removes it.
  ManagedConf c2 = sample();
  c2.hba_extra = {"hostssl all all 10.9.0.0/16 scram-sha-256"};
  std::string changed;
  REQUIRE(splice_hba_extra(out, render_hba_extra_block(c2, nullptr), &changed, &err));
  CHECK(changed == render_hba_block(c) + render_hba_extra_block(c2, nullptr) + initdb);
  CHECK_THAT(changed, !Catch::Contains("10.0.0.0/16"));
  std::string removed;
  REQUIRE(splice_hba_extra(out, render_hba_extra_block(sample(), nullptr), &removed, &err));
  CHECK(removed == render_hba_block(c) + initdb);

  CHECK_FALSE(splice_hba_extra(managed + kHbaExtraBegin + "\nhost all all 1.2.3.4/32 trust\n",
                               extra, &out, &err));
  CHECK_THAT(err, Catch::Contains("without"));
}

TEST_CASE("the include line is added once, last") {
  bool changed = false;
  std::string conf = "shared_buffers = 128MB\n# include 'pgwarden.conf' (a comment)";
  std::string out = ensure_include(conf, &changed);
  CHECK(changed);
  CHECK_THAT(out,
             Catch::EndsWith(
                 "include 'pgwarden.conf'\t# pgwarden: managed settings; keep this line last\n"));
  std::string twice = ensure_include(out, &changed);
  CHECK_FALSE(changed);
  CHECK(twice == out);
  CHECK_THAT(ensure_include("", &changed), Catch::StartsWith("include 'pgwarden.conf'"));
}

TEST_CASE("owned keys are stripped from postgresql.auto.conf") {
  std::string autoconf =
      "# Do not edit this file manually!\n"
      "primary_conninfo = 'host=old user=x password=secret'\n"
      "work_mem = '64MB'\n"
      "  Port = 5433\n"
      "primary_slot_name = 'old'\n";
  std::vector<std::string> removed;
  std::string out = strip_owned_from_auto_conf(autoconf, &removed);
  CHECK(out == "# Do not edit this file manually!\nwork_mem = '64MB'\n");
  CHECK(removed.size() == 3);
}

TEST_CASE("a standby's settings are raised to the primary's values recorded in pg_control") {
  ManagedConf c = sample();
  c.standby = true;
  c.parameters = {{"max_connections", "40"}, {"max_locks_per_transaction", "'128'"}};
  std::vector<std::string> warnings;
  // No floors (or floors at or below what is configured): nothing added.
  CHECK_THAT(render_managed_conf(c, &warnings), !Catch::Contains("raised to the primary"));
  c.floors.max_connections = 40;
  c.floors.max_wal_senders = 10;
  c.floors.max_locks_per_transaction = 128;
  CHECK_THAT(render_managed_conf(c, &warnings), !Catch::Contains("raised to the primary"));

  // The primary was started by a node that knew more members (14 senders)
  // and with more connections: the standby follows, after everything else.
  c.floors.max_wal_senders = 14;
  c.floors.max_connections = 60;
  c.floors.max_worker_processes = 16;
  c.floors.max_prepared_transactions = 5;
  std::string out = render_managed_conf(c, &warnings);
  CHECK_THAT(out, Catch::Contains("max_wal_senders = 14\n"));
  CHECK_THAT(out, Catch::Contains("max_connections = 60\n"));
  CHECK_THAT(out, Catch::Contains("max_worker_processes = 16\n"));
  CHECK_THAT(out, Catch::Contains("max_prepared_transactions = 5\n"));
  CHECK_THAT(out, !Catch::Contains("max_locks_per_transaction = 128\n"));  // '128' already
  CHECK(out.find("max_wal_senders = 14") > out.find("max_wal_senders = 10"));
  CHECK(out.find("max_connections = 60") > out.find("max_connections = '40'"));
  CHECK(warnings.empty());
}

TEST_CASE("hot standby shortfall names each running setting below the primary's") {
  pw::pgctl::HotStandbyParams running = pw::pgctl::postgres_defaults();
  pw::pgctl::HotStandbyParams primary = running;
  CHECK(pw::pgctl::hot_standby_shortfall(running, primary) == "");
  primary.max_wal_senders = 14;
  primary.max_connections = 40;  // lower on the primary: fine
  CHECK(pw::pgctl::hot_standby_shortfall(running, primary) == "max_wal_senders 10 < 14");
  primary.max_locks_per_transaction = 128;
  CHECK(pw::pgctl::hot_standby_shortfall(running, primary) ==
        "max_wal_senders 10 < 14, max_locks_per_transaction 64 < 128");
  // Unknown values (0) never count.
  CHECK(pw::pgctl::hot_standby_shortfall(pw::pgctl::HotStandbyParams{}, primary) == "");
}
