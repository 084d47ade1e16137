// tests/unit/conf_examples_test.cc — the shipped examples load (with their
// secret files recreated in a temp dir), describe the intended topologies,
// render_config() reads back to the same configuration, and README.md
// documents every key.
#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/source_files.h"
#include "conf/schema.h"
#include "conf/values.h"
#include "support/conf_fixture.h"

using namespace pw::conf;
using pw::test::all_errors;
using pw::test::ConfFixture;

using pw::test::read_file;
using pw::test::source_dir;

namespace {

// The examples name secret files under /etc or /var/lib that do not exist
// here. Rewrite each secret key to a fresh 0600 file in the fixture's dir,
// owned by the user the daemon would run as (when we are root).
std::string with_local_secrets(const ConfFixture& fx, const std::string& text) {
  static const char* kSecretKeys[] = {"replication_password_file", "token_file", "key_file",
                                      "ca_file", "cert_file"};
  std::istringstream in(text);
  std::string line, out;
  int n = 0;
  while (std::getline(in, line)) {
    for (const char* key : kSecretKeys) {
      std::string k = key;
      if (line.rfind(k, 0) == 0 && line.find('=') != std::string::npos &&
          line.substr(k.size(), line.find('=') - k.size()).find_first_not_of(' ') ==
              std::string::npos) {
        std::string path = fx.secret("secret-" + std::to_string(++n), "pw-secret-content\n");
        if (geteuid() == 0) {
          struct passwd* pw = getpwnam("postgres");  // the examples' run_as_user
          REQUIRE(pw);
          REQUIRE(chown(path.c_str(), pw->pw_uid, pw->pw_gid) == 0);
        }
        line = k + " = " + path;
      }
    }
    out += line + "\n";
  }
  return out;
}

LoadResult load_example(const ConfFixture& fx, const std::string& rel) {
  std::string text = with_local_secrets(fx, read_file(source_dir() + "/examples/" + rel));
  std::string name = rel.substr(rel.rfind('/') + 1);
  return fx.load(text, name);
}

std::string without_header(const std::string& rendered) {
  return rendered.substr(rendered.find("\n[") + 1);  // drop the comment naming the file
}

}  // namespace

TEST_CASE("the local 3-node example: n1..n3 on 127.0.0.11-13", "[conf][examples]") {
  ConfFixture fx;
  std::vector<Member> first_members;
  for (int i = 1; i <= 3; ++i) {
    LoadResult r = load_example(fx, "local-3node/n" + std::to_string(i) + ".ini");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    const Config& c = r.config;
    CHECK(c.node_name == "n" + std::to_string(i));
    CHECK(c.self().host == "127.0.0.1" + std::to_string(i));
    CHECK(c.self().raft_port == 5010);
    CHECK(c.pg_port == 15432);
    CHECK(c.proxy_port == 5432);
    CHECK(c.api_port == 8008);
    CHECK(c.pg_bin_dir == "/usr/lib/postgresql/15/bin");
    CHECK(c.proxy_listen_address == c.self().host);
    REQUIRE(c.members.size() == 3);
    if (i == 1) first_members = c.members;
    for (size_t m = 0; m < 3; ++m) {  // every node derives the same membership
      CHECK(c.members[m].name == first_members[m].name);
      CHECK(c.members[m].host == first_members[m].host);
      CHECK(c.members[m].raft_port == first_members[m].raft_port);
    }
  }
}

TEST_CASE("the seed example: db-postgres-01..03, PostgreSQL 17, keybuzz-pg17", "[conf][examples]") {
  ConfFixture fx;
  for (int i = 1; i <= 3; ++i) {
    LoadResult r = load_example(fx, "seed/db-postgres-0" + std::to_string(i) + ".ini");
    INFO(all_errors(r));
    REQUIRE(r.ok());
    const Config& c = r.config;
    CHECK(c.node_name == "db-postgres-0" + std::to_string(i));
    CHECK(c.cluster_name == "keybuzz-pg17");
    CHECK(c.self().host == "10.0.0.12" + std::to_string(i - 1));
    CHECK(c.pg_bin_dir == "/usr/lib/postgresql/17/bin");
    CHECK(c.pg_data_dir == "/data/db_postgres/data");
    CHECK(format_members(c.members) ==
          "db-postgres-01=10.0.0.120:5010, db-postgres-02=10.0.0.121:5010, "
          "db-postgres-03=10.0.0.122:5010");
  }
}

TEST_CASE("render_config prints every key and reads back to the same config", "[conf][render]") {
  ConfFixture fx;
  LoadResult r = load_example(fx, "seed/db-postgres-02.ini");
  INFO(all_errors(r));
  REQUIRE(r.ok());
  std::string rendered = render_config(r.config);
  for (const KeySpec& k : schema()) {
    INFO("key " << k.section << "." << k.key);
    bool listed = rendered.find(std::string("\n") + k.key + " = ") != std::string::npos ||
                  rendered.find(std::string("\n; ") + k.key + " = ") != std::string::npos;
    CHECK(listed);
  }
  CHECK(rendered.find("[postgresql.parameters]\nmax_connections = 200\n") != std::string::npos);
  CHECK(rendered.find("replication_password_file = " + fx.dir()) != std::string::npos);
  CHECK(rendered.find("pw-secret-content") == std::string::npos);  // secret contents never printed

  LoadResult again = fx.load(rendered, "rendered.ini");
  INFO(all_errors(again));
  REQUIRE(again.ok());
  CHECK(without_header(render_config(again.config)) == without_header(rendered));
}

TEST_CASE("README.md documents every key", "[conf][docs]") {
  std::string readme = read_file(source_dir() + "/README.md");
  for (const KeySpec& k : schema()) {
    std::string cell = std::string("| `[") + k.section + "]` `" + k.key + "` |";
    INFO("README lacks " << cell << " — regenerate with: pgwarden check-config --reference");
    CHECK(readme.find(cell) != std::string::npos);
  }
  CHECK(readme.find(std::string("`[") + kParametersSection + "]`") != std::string::npos);
}
