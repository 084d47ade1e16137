// tests/unit/base_pg_syntax_test.cc — PostgreSQL's configuration syntax as
// pgwarden passes it through: postgresql.conf values (bare and quoted) and
// pg_hba rules.
#include <catch2/catch.hpp>

#include "base/pg_syntax.h"

using namespace pw::pgsyntax;

TEST_CASE("a bare value is quoted, a quoted one kept as written", "[pg_syntax]") {
  CHECK(conf_value("/etc/ssl/x.crt").text == "'/etc/ssl/x.crt'");
  CHECK(conf_value("'/etc/ssl/x.crt'").text == "'/etc/ssl/x.crt'");  // not ''/etc/ssl/x.crt''
  CHECK(conf_value("128MB").text == "'128MB'");
  CHECK(conf_value("'128MB'").text == "'128MB'");
  CHECK(conf_value("it's").text == "'it''s'");
  CHECK(conf_value("'it''s'").text == "'it''s'");
  CHECK(conf_value("'it\\'s'").text == "'it\\'s'");
  CHECK(conf_value("'C:\\\\dir'").text == "'C:\\\\dir'");
  CHECK(conf_value("''").text == "''");
  CHECK(conf_value("").text == "''");
  CHECK(conf_value("\"$user\", public").text == "'\"$user\", public'");
  CHECK(conf_value("'\"$user\", public'").text == "'\"$user\", public'");
  CHECK(conf_value("'%m [%p] '").text == "'%m [%p] '");
}

TEST_CASE("a trailing # comment is dropped, as postgresql.conf does", "[pg_syntax]") {
  CHECK(conf_value("128MB   # min 128kB").text == "'128MB'");
  CHECK(conf_value("'128MB'  # min 128kB").text == "'128MB'");
  CHECK(conf_value("'a # b'").text == "'a # b'");  // inside quotes it is text
  CHECK(conf_value("a#b").text == "'a#b'");
}

TEST_CASE("a broken quoted value is refused with the reason", "[pg_syntax]") {
  ConfValue unterminated = conf_value("'/etc/ssl/x.crt");
  CHECK_FALSE(unterminated.ok());
  CHECK(unterminated.text.empty());
  CHECK_THAT(unterminated.error, Catch::Contains("no closing quote"));
  CHECK_FALSE(conf_value("'ends in backslash\\'").ok());  // \' escapes the quote
  CHECK_FALSE(conf_value("'it's'").ok());
  CHECK_THAT(conf_value("'$user', public").error, Catch::Contains("after the closing quote"));
}

TEST_CASE("pg_hba rules PostgreSQL accepts", "[pg_syntax]") {
  for (const char* ok : {
           "local all all peer",
           "local   sameuser  +admins  scram-sha-256",
           "host all app 10.0.0.0/16 scram-sha-256",
           "host all all 127.0.0.1 255.255.255.255 trust",
           "hostssl app,reports \"Mixed Case\" ::1/128 cert clientcert=verify-full",
           "hostnossl all all samenet md5   # a comment",
           "hostgssenc all all all gss include_realm=0",
           "hostnogssenc replication rep db-01.example.com scram-sha-256",
           "host all all .example.com reject",
           "host all all 0.0.0.0/0 ldap ldapserver=ldap.example ldapprefix=\"cn=\"",
       }) {
    INFO(ok);
    CHECK(hba_line_problem(ok) == "");
  }
}

TEST_CASE("pg_hba rules PostgreSQL refuses, each with its reason", "[pg_syntax]") {
  struct Bad {
    const char* line;
    const char* says;
  };
  for (const Bad& b : {
           Bad{"hots all all 10.0.0.0/8 trust", "not a connection type"},
           Bad{"host all all trust", "DATABASE USER ADDRESS METHOD"},
           Bad{"local all trust", "DATABASE USER METHOD"},
           Bad{"host all all 10.0.0.0/33 trust", "prefix length must be 0..32"},
           Bad{"host all all 300.0.0.1/32 trust", "not an IPv4 or IPv6"},
           Bad{"host all all 10.0.0.1 trust", "netmask"},
           Bad{"host all all 10.0.0.1 ffff:: trust", "not a netmask"},
           Bad{"host all all 10.0.0.0/8 scram", "not an authentication method"},
           Bad{"host all all 10.0.0.0/8 peer", "only on 'local'"},
           Bad{"host all all 10.0.0.0/8 cert", "hostssl"},
           Bad{"local all all gss", "does not work on 'local'"},
           Bad{"host all all 10.0.0.0/8 trust junk", "name=value"},
           Bad{"host \"all all 10.0.0.0/8 trust", "not closed"},
           Bad{"host all all bad/host trust", "not an IPv4"},
           Bad{"host all all bad!host trust", "is not an address"},
           Bad{"include_dir conf.d", "not supported here"},
       }) {
    INFO(b.line);
    CHECK_THAT(hba_line_problem(b.line), Catch::Contains(b.says));
  }
}
