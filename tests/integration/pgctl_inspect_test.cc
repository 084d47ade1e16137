// tests/integration/pgctl_inspect_test.cc — data directory inspection on
// real directories: empty (missing or no entries), a valid cluster whose
// pg_control fields equal what pg_controldata prints, a foreign cluster
// (system id other than the expected one), garbage files, a corrupt
// pg_control, a wrong major version, wrong permissions.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>

#include "pgctl/data_dir.h"
#include "pgctl/pg_control.h"
#include "pgctl/postgres.h"
#include "support/pgctl_harness.h"

using namespace pw;
using namespace pw::test;
using Kind = pgctl::DataDirInfo::Kind;
namespace fs = std::filesystem;

namespace {

// pg_controldata's "Key:   value" lines (the test may block; the daemon never runs it).
std::map<std::string, std::string> controldata(const std::string& data_dir) {
  std::map<std::string, std::string> out;
  std::string cmd = "LC_ALL=C " + pg_bin_dir() + "/pg_controldata " + data_dir;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char line[512];
  while (fgets(line, sizeof line, p)) {
    std::string l = line;
    size_t colon = l.find(':');
    if (colon == std::string::npos) continue;
    std::string v = l.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    out[l.substr(0, colon)] = v;
  }
  REQUIRE(pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("inspection classifies empty, valid, foreign, garbage and bad permissions") {
  TempDir td("pgctl-inspect");
  ProcessReaper reaper(td.path());
  Loop loop;
  auto o = node_options(td.path(), "n1", "127.0.4.14", {});
  auto pg = pgctl::Postgres::create(loop.base, o);
  pgctl::InspectOptions io;
  io.expected_major = 15;

  SECTION("empty: missing or without entries") {
    CHECK(pg->inspect().kind == Kind::empty);  // does not exist yet
    mkdir(o.data_dir.c_str(), 0700);
    CHECK(pg->inspect().kind == Kind::empty);
  }

  SECTION("a valid cluster matches pg_controldata; a foreign one is refused") {
    auto r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
    REQUIRE(r.error == "");
    auto info = pg->inspect();
    REQUIRE(info.kind == Kind::cluster);
    auto cd = controldata(o.data_dir);
    CHECK(std::to_string(info.system_id) == cd["Database system identifier"]);
    CHECK(pgctl::format_lsn(info.checkpoint_lsn) == cd["Latest checkpoint location"]);
    CHECK(std::to_string(info.timeline) == cd["Latest checkpoint's TimeLineID"]);
    CHECK(cd["Database cluster state"] == "shut down");
    CHECK(info.state == "shut down");
    CHECK(info.clean_shutdown);
    CHECK_FALSE(info.was_standby);
    CHECK(info.major_version == 15);
    CHECK(info.running_pid == 0);
    // The settings a hot standby needs, as recorded in pg_control.
    CHECK(std::to_string(info.params.max_connections) == cd["max_connections setting"]);
    CHECK(std::to_string(info.params.max_worker_processes) == cd["max_worker_processes setting"]);
    CHECK(std::to_string(info.params.max_wal_senders) == cd["max_wal_senders setting"]);
    CHECK(std::to_string(info.params.max_prepared_transactions) == cd["max_prepared_xacts setting"]);
    CHECK(std::to_string(info.params.max_locks_per_transaction) == cd["max_locks_per_xact setting"]);
    CHECK(info.params.max_wal_senders > 0);

    // Running: pg_control says "in production", postmaster.pid names it.
    r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(pgctl::Role::primary, {}, d); });
    REQUIRE(r.error == "");
    auto q = sql(loop.base, local(o), "CHECKPOINT");
    REQUIRE(q.error == "");
    info = pg->inspect();
    REQUIRE(info.kind == Kind::cluster);
    CHECK(info.running_pid == pg->postmaster_pid());
    CHECK_FALSE(info.clean_shutdown);
    CHECK(info.state == "in production");
    r = wait_op(loop.base, [&](pgctl::Done d) { pg->stop(pgctl::StopMode::fast, d); });
    REQUIRE(r.error == "");
    info = pg->inspect();
    cd = controldata(o.data_dir);
    CHECK(pgctl::format_lsn(info.checkpoint_lsn) == cd["Latest checkpoint location"]);
    CHECK(info.clean_shutdown);

    // Foreign: the cluster's committed id differs from this directory's.
    pg->set_expected_system_id(info.system_id + 1);
    auto foreign = pg->inspect();
    CHECK(foreign.kind == Kind::unusable);
    CHECK(foreign.foreign);
    CHECK(foreign.system_id == info.system_id);
    CHECK_THAT(foreign.reason, Catch::Contains("another cluster") &&
                                   Catch::Contains(std::to_string(info.system_id + 1)));
    r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(pgctl::Role::standby, {}, d); });
    CHECK_FALSE(r.ok);  // never started on foreign data
    pg->set_expected_system_id(info.system_id);
    CHECK(pg->inspect().kind == Kind::cluster);

    // A corrupt pg_control (one flipped byte) fails its CRC.
    std::string control = read_text(o.data_dir + "/global/pg_control");
    control[40] ^= 0x5a;
    write_text(o.data_dir + "/global/pg_control", control);
    auto bad = pg->inspect();
    CHECK(bad.kind == Kind::unusable);
    CHECK_THAT(bad.reason, Catch::Contains("CRC"));
    control[40] ^= 0x5a;
    write_text(o.data_dir + "/global/pg_control", control);
    CHECK(pg->inspect().kind == Kind::cluster);

    // Another major version than bin_dir's.
    write_text(o.data_dir + "/PG_VERSION", "14\n");
    auto other = pg->inspect();
    CHECK(other.kind == Kind::unusable);
    CHECK_THAT(other.reason,
               Catch::Contains("PostgreSQL 14") && Catch::Contains("bin_dir runs 15"));
    write_text(o.data_dir + "/PG_VERSION", "15\n");

    // Wrong permissions.
    chmod(o.data_dir.c_str(), 0755);
    auto perms = pg->inspect();
    CHECK(perms.kind == Kind::unusable);
    CHECK_THAT(perms.reason, Catch::Contains("0755") && Catch::Contains("chmod 0700"));
    chmod(o.data_dir.c_str(), 0750);  // group access is allowed by PostgreSQL
    CHECK(pg->inspect().kind == Kind::cluster);
    chmod(o.data_dir.c_str(), 0700);

    // A standby.signal marks it as a standby's directory.
    write_text(o.data_dir + "/standby.signal", "");
    CHECK(pg->inspect().was_standby);
  }

  SECTION("garbage files are not a data directory") {
    mkdir(o.data_dir.c_str(), 0700);
    write_text(o.data_dir + "/notes.txt", "hello");
    auto info = pg->inspect();
    CHECK(info.kind == Kind::unusable);
    CHECK_THAT(info.reason, Catch::Contains("not a PostgreSQL data directory"));
    // PG_VERSION but no pg_control: a half-made directory.
    write_text(o.data_dir + "/PG_VERSION", "15\n");
    info = pg->inspect();
    CHECK(info.kind == Kind::unusable);
    CHECK_THAT(info.reason, Catch::Contains("global/pg_control"));
    // Random bytes as pg_control.
    mkdir((o.data_dir + "/global").c_str(), 0700);
    std::string junk(8192, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919) % 251);
    write_text(o.data_dir + "/global/pg_control", junk);
    info = pg->inspect();
    CHECK(info.kind == Kind::unusable);
    CHECK_THAT(info.reason, Catch::Contains("pg_control"));
    // A file where the directory should be.
    fs::remove_all(o.data_dir);
    write_text(o.data_dir, "x");
    info = pg->inspect();
    CHECK(info.kind == Kind::unusable);
    CHECK_THAT(info.reason, Catch::Contains("not a directory"));
    // initdb refuses anything but empty.
    auto r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
    CHECK_FALSE(r.ok);
  }

  SECTION("wrong permissions on a non-empty directory") {
    mkdir(o.data_dir.c_str(), 0777);
    chmod(o.data_dir.c_str(), 0777);
    write_text(o.data_dir + "/PG_VERSION", "15\n");
    auto info = pg->inspect();
    CHECK(info.kind == Kind::unusable);
    CHECK_THAT(info.reason, Catch::Contains("permissions 0777"));
  }
}
