// tests/unit/conf_hba_test.cc — client access declared in the INI:
// [postgresql] hba_extra (repeated key) and hba_file, each rule checked at
// load with the file, line and key of the mistake; superuser_password_file
// checked like the other secret files.
#include <catch2/catch.hpp>

#include "support/conf_fixture.h"

using namespace pw::conf;
using pw::test::all_errors;
using pw::test::ConfFixture;
using pw::test::find_error;

TEST_CASE("hba_extra repeats, in file order; hba_file's rules follow", "[conf][hba]") {
  ConfFixture fx;
  std::string file = fx.write("hba.rules",
                              "# monitoring\n"
                              "hostssl all monitor 10.0.9.0/24 scram-sha-256\n"
                              "\n"
                              "   host reports analyst 10.1.0.0/16 scram-sha-256  \n");
  LoadResult r =
      fx.load(fx.minimal("hba_extra = host all app 10.0.0.0/16 scram-sha-256\n"
                         "hba_extra = local all all peer\n"
                         "hba_file = " +
                         file + "\n"));
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.pg_hba_extra ==
        std::vector<std::string>{"host all app 10.0.0.0/16 scram-sha-256", "local all all peer"});
  CHECK(c.pg_hba_file_rules ==
        std::vector<std::string>{"hostssl all monitor 10.0.9.0/24 scram-sha-256",
                                 "host reports analyst 10.1.0.0/16 scram-sha-256"});
  CHECK(c.hba_rules().size() == 4);
  CHECK(c.hba_rules()[2] == "hostssl all monitor 10.0.9.0/24 scram-sha-256");

  // Printed one rule per key, and read back to the same rules.
  std::string rendered = render_config(c);
  CHECK_THAT(rendered, Catch::Contains("hba_extra = host all app 10.0.0.0/16 scram-sha-256\n"
                                       "hba_extra = local all all peer\n"));
  LoadResult again = fx.load(rendered, "rendered.ini");
  INFO(all_errors(again));
  REQUIRE(again.ok());
  CHECK(again.config.pg_hba_extra == c.pg_hba_extra);
  CHECK(again.config.pg_hba_file_rules == c.pg_hba_file_rules);
}

TEST_CASE("a bad hba_extra rule names its line and the reason", "[conf][hba]") {
  ConfFixture fx;
  LoadResult r =
      fx.load(fx.minimal("hba_extra = host all app 10.0.0.0/16 scram-sha-256\n"
                         "hba_extra = host all app 10.0.0.0/16 scram\n"
                         "hba_extra = local all\n"
                         "hba_extra = hots all all 10.0.0.0/8 trust\n"
                         "hba_extra = host all all 10.0.0.1 trust\n"));
  INFO(all_errors(r));
  CHECK(find_error(r, 13, "postgresql", "hba_extra", "not an authentication method"));
  CHECK(find_error(r, 14, "postgresql", "hba_extra", "local DATABASE USER METHOD"));
  CHECK(find_error(r, 15, "postgresql", "hba_extra", "not a connection type"));
  CHECK(find_error(r, 16, "postgresql", "hba_extra", "netmask"));
  REQUIRE(r.errors.size() == 4);
  CHECK_THAT(r.errors[0].to_string(),
             Catch::Contains("pgwarden.ini:13: [postgresql] hba_extra: bad value: not a pg_hba"));
}

TEST_CASE("a bad rule in hba_file names the key's line and the rule's line", "[conf][hba]") {
  ConfFixture fx;
  std::string file = fx.write("hba.rules",
                              "host all all 10.0.0.0/8 scram-sha-256\n"
                              "# fine\n"
                              "host all all 10.0.0.0/8 peer\n");
  LoadResult r = fx.load(fx.minimal("hba_file = " + file + "\n"));
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(find_error(r, 12, "postgresql", "hba_file", file + ":3: not a pg_hba rule: peer"));

  LoadResult missing = fx.load(fx.minimal("hba_file = " + fx.dir() + "/nope\n"));
  CHECK(find_error(missing, 12, "postgresql", "hba_file", "does not exist"));
  LoadResult relative = fx.load(fx.minimal("hba_file = hba.rules\n"));
  CHECK(find_error(relative, 12, "postgresql", "hba_file", "not an absolute path"));
}

TEST_CASE("pg_hba cannot be replaced through [postgresql.parameters]", "[conf][hba]") {
  ConfFixture fx;
  LoadResult r = fx.load(fx.minimal("[postgresql.parameters]\nhba_file = /etc/my_hba.conf\n"));
  CHECK(find_error(r, 13, "postgresql.parameters", "hba_file", "[postgresql] hba_extra"));
}

TEST_CASE("superuser_password_file is a secret file like the replication one", "[conf][hba]") {
  ConfFixture fx;
  std::string good = fx.secret("super.pass", "pw\n");
  LoadResult ok = fx.load(fx.minimal("superuser_password_file = " + good + "\n"));
  INFO(all_errors(ok));
  REQUIRE(ok.ok());
  CHECK(ok.config.pg_superuser_password_file == good);

  std::string open = fx.write("open.pass", "pw\n", 0640);
  LoadResult bad = fx.load(fx.minimal("superuser_password_file = " + open + "\n"));
  CHECK(find_error(bad, 12, "postgresql", "superuser_password_file", "chmod 600 " + open));
  std::string empty = fx.secret("empty.pass", "");
  LoadResult e = fx.load(fx.minimal("superuser_password_file = " + empty + "\n"));
  CHECK(find_error(e, 12, "postgresql", "superuser_password_file", "is empty"));
}
