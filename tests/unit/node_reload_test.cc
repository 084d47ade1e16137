// SIGHUP's reload (node/reload.h): which keys differ, which apply live, and
// that a file that no longer loads leaves the running configuration alone.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "base/log.h"
#include "node/reload.h"
#include "support/conf_fixture.h"

using pw::node::KeyChange;
using pw::node::Reloader;
using pw::test::ConfFixture;

namespace {

pw::conf::Config loaded(const ConfFixture& f, const std::string& text) {
  pw::conf::LoadResult r = f.load(text);
  REQUIRE(r.ok());
  return r.config;
}

struct LevelGuard {
  pw::LogLevel saved = pw::log_level();
  ~LevelGuard() { pw::log_set_level(saved); }
};

}  // namespace

TEST_CASE("config_changes names each differing key, parameters and unset keys included") {
  ConfFixture f;
  pw::conf::Config a = loaded(f, f.minimal("[proxy]\nhold_timeout = 15s\n[postgresql.parameters]\nwork_mem = 4MB\n"));
  pw::conf::Config b = loaded(f, f.minimal("[proxy]\nhold_timeout = 20s\n[postgresql.parameters]\nwork_mem = 8MB\n"
                                           "log_min_duration_statement = 1s\n"));
  CHECK(pw::node::config_changes(a, a).empty());
  std::vector<KeyChange> d = pw::node::config_changes(a, b);
  // check-config's order: sections in print order, parameters by name.
  REQUIRE(d.size() == 3);
  CHECK(d[0].section == "postgresql.parameters");
  CHECK(d[0].key == "log_min_duration_statement");
  CHECK(d[0].running.empty());
  CHECK(d[0].file == "1s");
  CHECK(d[1].section == "postgresql.parameters");
  CHECK(d[1].key == "work_mem");
  CHECK(d[1].running == "4MB");
  CHECK(d[1].file == "8MB");
  CHECK(d[2].section == "proxy");
  CHECK(d[2].key == "hold_timeout");
  for (const KeyChange& c : d) CHECK_FALSE(pw::node::applies_live(c));
}

TEST_CASE("reload applies log_level and the token, reports the rest as needing a restart") {
  ConfFixture f;
  LevelGuard guard;
  std::string tok1 = f.secret("token1", "one\n"), tok2 = f.secret("token2", "two\n");
  std::string path = f.write("pgwarden.ini", f.minimal("[api]\ntoken_file = " + tok1 + "\n"));
  pw::conf::LoadResult first = pw::conf::load_config(path);
  REQUIRE(first.ok());
  std::vector<std::string> tokens_read;
  Reloader r(first.config, [&](const std::string& file) { tokens_read.push_back(file); });
  pw::log_set_level(pw::LogLevel::info);

  f.write("pgwarden.ini", f.minimal("[node]\nlog_level = debug\n[api]\ntoken_file = " + tok2 +
                                    "\n[proxy]\nport = 6432\n"));
  Reloader::Outcome o = r.reload();
  REQUIRE(o.loaded);
  REQUIRE(o.applied.size() == 2);
  CHECK(o.applied[0].key == "log_level");
  CHECK(o.applied[1].key == "token_file");
  REQUIRE(o.needs_restart.size() == 1);
  CHECK(o.needs_restart[0].section == "proxy");
  CHECK(o.needs_restart[0].key == "port");
  CHECK(o.needs_restart[0].file == "6432");
  CHECK(pw::log_level() == pw::LogLevel::debug);
  CHECK(tokens_read == std::vector<std::string>{tok2});
  CHECK(r.running().log_level == "debug");
  CHECK(r.running().proxy_port == first.config.proxy_port);  // not applied: still what runs

  // Again, unchanged file: the token is re-read (a rotated secret keeps its
  // path), the live keys are no longer changes, the port still needs a restart.
  o = r.reload();
  CHECK(o.applied.empty());
  CHECK(o.needs_restart.size() == 1);
  CHECK(tokens_read.size() == 2);
}

TEST_CASE("a file that no longer loads leaves everything as it runs") {
  ConfFixture f;
  LevelGuard guard;
  std::string path = f.write("pgwarden.ini", f.minimal());
  pw::conf::LoadResult first = pw::conf::load_config(path);
  REQUIRE(first.ok());
  bool token_read = false;
  Reloader r(first.config, [&](const std::string&) { token_read = true; });
  pw::log_set_level(pw::LogLevel::info);
  f.write("pgwarden.ini", f.minimal("[node]\nlog_level = loud\n"));
  Reloader::Outcome o = r.reload();
  CHECK_FALSE(o.loaded);
  REQUIRE_FALSE(o.errors.empty());
  CHECK(o.errors[0].find("log_level") != std::string::npos);
  CHECK(o.errors[0].find(path) != std::string::npos);
  CHECK_FALSE(token_read);
  CHECK(pw::log_level() == pw::LogLevel::info);
}

TEST_CASE("a token file that cannot be read keeps the old token and says so") {
  ConfFixture f;
  std::string path = f.write("pgwarden.ini", f.minimal());
  pw::conf::LoadResult first = pw::conf::load_config(path);
  REQUIRE(first.ok());
  Reloader r(first.config, [](const std::string&) { throw std::runtime_error("cannot read [api] token_file x"); });
  Reloader::Outcome o = r.reload();
  CHECK(o.loaded);
  CHECK(o.token_error == "cannot read [api] token_file x");
}
