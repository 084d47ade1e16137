// tests/integration/pgctl_access_test.cc — client access declared in the
// config, on a real PostgreSQL 15: [postgresql.parameters] in both quoted
// and bare form reach the server; hba_extra rules are written below
// pgwarden's block and admit what they say (and stop admitting it once
// removed, at the next start); ensure_superuser_password lets the superuser
// in over TCP with scram-sha-256, the password never in our log.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/log.h"
#include "pgctl/postgres.h"
#include "support/log_capture.h"
#include "support/pgctl_harness.h"

using namespace pw;
using namespace pw::test;
using pgctl::Postgres;
using pgctl::Role;
using pgctl::StopMode;

namespace {
const char* kSuperPassword = "Sup3r:Secret\\with'quote-91c2";

pgctl::PqConn::Params tcp(const std::string& user, const std::string& password = "") {
  pgctl::PqConn::Params p = {{"host", "127.0.4.61"},
                             {"port", "15432"},
                             {"user", user},
                             {"dbname", "postgres"},
                             {"connect_timeout", "10"}};
  if (!password.empty()) p.push_back({"password", password});
  return p;
}
}  // namespace

TEST_CASE("parameters in both forms, hba_extra rules, the superuser password") {
  TempDir td("pgctl-access");
  ProcessReaper reaper(td.path());
  Loop loop;
  LogCapture log(td / "pgwarden.log", LogCapture::AtEnd::replay);

  auto o = node_options(td.path(), "n1", "127.0.4.61", {});
  // Connections over loopback come from 127.0.0.1: leave it out of the
  // members, so TCP clients meet the hba_extra rules, not the member rule.
  o.member_addresses = {"127.0.4.61"};
  o.parameters["ssl_cert_file"] = "'/etc/ssl/x.crt'";  // quoted, as in postgresql.conf
  o.parameters["search_path"] = "'\"$user\", app'  # a comment";
  o.parameters["work_mem"] = "8MB";  // bare
  const std::string su = o.superuser;
  o.hba_extra = {"host all trusted_app 127.0.0.1/32 trust",
                 "host all \"" + su + "\" 127.0.0.1/32 scram-sha-256"};
  o.superuser_password_file = td / "superuser.pass";
  write_text(o.superuser_password_file, std::string(kSuperPassword) + "\n", 0600);

  auto pg = Postgres::create(loop.base, o);
  auto r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");  // before the fix, '/etc/ssl/x.crt' was doubled and the start failed

  auto q = sql(loop.base, local(o),
               "SELECT current_setting('ssl_cert_file'), current_setting('search_path'), "
               "current_setting('work_mem')");
  REQUIRE(q.error == "");
  CHECK(q.rows[0] == std::vector<std::string>{"/etc/ssl/x.crt", "\"$user\", app", "8MB"});

  // Rule order: pgwarden's block, then hba_extra, then initdb's lines.
  q = sql(loop.base, local(o),
          "SELECT count(*) FILTER (WHERE error IS NOT NULL), "
          "min(line_number) FILTER (WHERE address = '127.0.4.61') < "
          "min(line_number) FILTER (WHERE 'trusted_app' = ANY(user_name)), "
          "min(line_number) FILTER (WHERE 'trusted_app' = ANY(user_name)) < "
          "min(line_number) FILTER (WHERE 'all' = ANY(user_name) AND address = '127.0.0.1') "
          "FROM pg_hba_file_rules");
  REQUIRE(q.error == "");
  CHECK(q.rows[0] == std::vector<std::string>{"0", "t", "t"});

  for (const char* role : {"trusted_app", "other_app"}) {
    q = sql(loop.base, local(o), std::string("CREATE ROLE ") + role + " LOGIN");
    REQUIRE(q.error == "");
  }
  // The hba_extra rule admits trusted_app without a password; other_app
  // falls through to initdb's scram-sha-256 rule and, with no password, is
  // refused.
  q = sql(loop.base, tcp("trusted_app"), "SELECT current_user");
  REQUIRE(q.error == "");
  CHECK(q.at(0, 0) == "trusted_app");
  q = sql(loop.base, tcp("other_app"), "SELECT 1");
  CHECK_FALSE(q.ok);
  CHECK_THAT(q.error, Catch::Contains("password"));

  // The superuser has no password yet: refused over TCP.
  q = sql(loop.base, tcp(su, kSuperPassword), "SELECT 1");
  CHECK_FALSE(q.ok);
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->ensure_superuser_password(d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->ensure_superuser_password(d); });  // idempotent
  REQUIRE(r.error == "");
  q = sql(loop.base, local(o),
          "SELECT rolpassword LIKE 'SCRAM-SHA-256$%', rolsuper FROM pg_authid "
          "WHERE rolname = current_user");
  REQUIRE(q.error == "");
  CHECK(q.rows[0] == std::vector<std::string>{"t", "t"});
  q = sql(loop.base, tcp(su, kSuperPassword),
          "SELECT current_user, rolsuper FROM pg_roles "
          "WHERE rolname = current_user");
  REQUIRE(q.error == "");
  CHECK(q.rows[0] == std::vector<std::string>{su, "t"});
  q = sql(loop.base, tcp(su, "wrong"), "SELECT 1");
  CHECK_FALSE(q.ok);

  // bootstrap_sql_file: statements one at a time (CREATE DATABASE cannot run
  // in a transaction block), psql meta-commands, stop at the first error.
  std::string sql_file = td / "bootstrap.sql";
  write_text(sql_file,
             "CREATE ROLE app LOGIN;\nCREATE DATABASE appdb OWNER app;\n\\connect appdb\n"
             "CREATE TABLE public.boot(x int);\nINSERT INTO public.boot VALUES (7);\n",
             0644);
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->run_sql_file(sql_file, d); });
  REQUIRE(r.error == "");
  pgctl::PqConn::Params appdb = local(o);
  for (auto& kv : appdb)
    if (kv.first == "dbname") kv.second = "appdb";
  q = sql(loop.base, appdb, "SELECT x, (SELECT datdba::regrole::text FROM pg_database WHERE datname = 'appdb') FROM public.boot");
  REQUIRE(q.error == "");
  CHECK(q.rows[0] == std::vector<std::string>{"7", "app"});
  write_text(sql_file, "CREATE TABLE public.ok1(i int);\nCREATE TABLEX broken;\nCREATE TABLE public.never(i int);\n", 0644);
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->run_sql_file(sql_file, d); });
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("bootstrap.sql") && Catch::Contains("syntax error"));
  q = sql(loop.base, local(o), "SELECT to_regclass('public.never') IS NULL");
  REQUIRE(q.error == "");
  CHECK(q.at(0, 0) == "t");  // ON_ERROR_STOP: nothing after the error ran

  // A file that others may read is refused, and nothing changes.
  chmod(o.superuser_password_file.c_str(), 0644);
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->ensure_superuser_password(d); });
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("superuser password file") && Catch::Contains("chmod"));
  chmod(o.superuser_password_file.c_str(), 0600);

  // Without hba_extra the next start removes the rules: trusted_app is out.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->stop(StopMode::fast, d); });
  REQUIRE(r.error == "");
  auto o2 = o;
  o2.hba_extra.clear();
  o2.superuser_password_file.clear();
  auto pg2 = Postgres::create(loop.base, o2);
  r = wait_op(loop.base, [&](pgctl::Done d) { pg2->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  CHECK_THAT(read_text(o.data_dir + "/pg_hba.conf"), !Catch::Contains("trusted_app"));
  q = sql(loop.base, tcp("trusted_app"), "SELECT 1");
  CHECK_FALSE(q.ok);
  // Not configured: nothing to do, and the password set before still works.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg2->ensure_superuser_password(d); });
  CHECK(r.error == "");
  q = sql(loop.base, tcp(su, kSuperPassword), "SELECT 1");
  CHECK(q.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg2->stop(StopMode::fast, d); });
  REQUIRE(r.error == "");

  // The password never reached our log (which includes the server's output).
  std::string logged = log.text();
  CHECK(logged.find("superuser password set") != std::string::npos);
  CHECK(logged.find(kSuperPassword) == std::string::npos);
  CHECK(logged.find("91c2") == std::string::npos);
}
