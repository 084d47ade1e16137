// tests/integration/pgctl_clone_failure_test.cc — a clone that fails
// (pg_basebackup from an address where nothing listens) leaves the previous
// data directory moved aside with a timestamp — never deleted, contents
// intact — and reports the tool's error text.
#include <catch2/catch.hpp>
#include <filesystem>

#include "pgctl/postgres.h"
#include "support/pgctl_harness.h"

using namespace pw;
using namespace pw::test;
namespace fs = std::filesystem;

TEST_CASE("a failed basebackup moves the old directory aside and reports why") {
  TempDir td("pgctl-clonefail");
  ProcessReaper reaper(td.path());
  Loop loop;
  auto o = node_options(td.path(), "n1", "127.0.4.52", {"127.0.4.51", "127.0.4.52"});
  auto pg = pgctl::Postgres::create(loop.base, o);
  // A previous data directory: a real cluster, plus a file of the operator's.
  auto r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
  REQUIRE(r.error == "");
  uint64_t old_id = pg->inspect().system_id;
  write_text(o.data_dir + "/keep-me.txt", "operator notes\n");

  r = wait_op(loop.base, [&](pgctl::Done d) { pg->basebackup({"127.0.4.51", 15432}, d); });
  REQUIRE_FALSE(r.ok);
  INFO(r.error);
  CHECK_THAT(r.error, Catch::Contains("pg_basebackup exited with status 1"));
  CHECK_THAT(r.error, Catch::Contains("127.0.4.51") && Catch::Contains("Connection refused"));
  CHECK_THAT(r.error, Catch::Contains("moved aside") || Catch::Contains("previous data directory"));

  auto prog = pg->clone_progress();
  CHECK_FALSE(prog.active);
  CHECK(prog.error == r.error);
  REQUIRE_FALSE(prog.moved_aside_to.empty());
  CHECK_THAT(prog.moved_aside_to, Catch::StartsWith(o.data_dir + ".moved-"));
  CHECK_THAT(r.error, Catch::Contains(prog.moved_aside_to));

  // The old directory is intact under its new name; the data_dir is free.
  CHECK_FALSE(fs::exists(o.data_dir));
  CHECK(read_text(prog.moved_aside_to + "/keep-me.txt") == "operator notes\n");
  pgctl::InspectOptions io;
  auto moved = pgctl::inspect_data_dir(prog.moved_aside_to, io);
  CHECK(moved.kind == pgctl::DataDirInfo::Kind::cluster);
  CHECK(moved.system_id == old_id);
  CHECK(pg->inspect().kind == pgctl::DataDirInfo::Kind::empty);

  // A second failure: nothing new to move; the first copy stays untouched.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->basebackup({"127.0.4.51", 15432}, d); });
  CHECK_FALSE(r.ok);
  int moved_dirs = 0;
  for (const auto& e : fs::directory_iterator(fs::path(o.data_dir).parent_path()))
    if (e.path().filename().string().rfind("data.moved-", 0) == 0) ++moved_dirs;
  CHECK(moved_dirs == 1);
  CHECK(fs::exists(prog.moved_aside_to + "/keep-me.txt"));

  // move_aside() itself: renames, never deletes.
  fs::create_directory(o.data_dir);
  write_text(o.data_dir + "/x", "1");
  std::string to;
  auto m = pg->move_aside(&to);
  REQUIRE(m.ok);
  CHECK(read_text(to + "/x") == "1");
  CHECK_FALSE(fs::exists(o.data_dir));
}
