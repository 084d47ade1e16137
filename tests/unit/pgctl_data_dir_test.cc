// tests/unit/pgctl_data_dir_test.cc — data directory classification on
// synthetic directories (no PostgreSQL needed), postmaster.pid parsing and
// liveness, moving a directory aside.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/clock.h"
#include "pgctl/data_dir.h"
#include "pgctl/fs.h"
#include "pgctl/pg_control.h"
#include "pgctl/pidfile.h"
#include "support/tmpdir.h"

using namespace pw::pgctl;
using Kind = DataDirInfo::Kind;
namespace fs = std::filesystem;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// A directory that looks like PostgreSQL 15's to the inspector.
void fake_cluster(const std::string& dir, uint64_t sysid, int32_t state, uint32_t tli) {
  fs::create_directories(dir + "/global");
  chmod(dir.c_str(), 0700);
  write(dir + "/PG_VERSION", "15\n");
  std::string b(8192, '\0');
  auto put = [&](size_t off, const void* v, size_t n) { std::memcpy(&b[off], v, n); };
  uint32_t version = 1300;
  uint64_t ckpt = 0x3000028, minrec = 0x3000100;
  put(0, &sysid, 8);
  put(8, &version, 4);
  put(16, &state, 4);
  put(32, &ckpt, 8);
  put(48, &tli, 4);
  put(136, &minrec, 8);
  uint32_t crc = crc32c(b.data(), 288);
  put(288, &crc, 4);
  write(dir + "/global/pg_control", b);
}

}  // namespace

TEST_CASE("synthetic directories are classified") {
  pw::test::TempDir td("pgctl-unit-dd");
  std::string d = td / "data";
  InspectOptions io;
  io.expected_major = 15;
  CHECK(inspect_data_dir(d, io).kind == Kind::empty);
  mkdir(d.c_str(), 0700);
  CHECK(inspect_data_dir(d, io).kind == Kind::empty);

  mkdir((d + "/lost+found").c_str(), 0700);
  auto lf = inspect_data_dir(d, io);
  CHECK(lf.kind == Kind::unusable);
  CHECK_THAT(lf.reason, Catch::Contains("mount point"));
  rmdir((d + "/lost+found").c_str());

  fake_cluster(d, 42, 1, 1);
  auto c = inspect_data_dir(d, io);
  REQUIRE(c.kind == Kind::cluster);
  CHECK(c.system_id == 42);
  CHECK(c.timeline == 1);
  CHECK(c.checkpoint_lsn == 0x3000028);
  CHECK(c.lsn() == 0x3000100);
  CHECK(c.clean_shutdown);
  CHECK_FALSE(c.was_standby);
  CHECK(c.major_version == 15);
  CHECK_THAT(describe(c), Catch::Contains("system_id=42") && Catch::Contains("lsn=0/3000100"));

  fake_cluster(d, 42, static_cast<int32_t>(DbState::in_archive_recovery), 4);
  c = inspect_data_dir(d, io);
  CHECK(c.was_standby);
  CHECK_FALSE(c.clean_shutdown);
  CHECK(c.timeline == 4);
  fake_cluster(d, 42, static_cast<int32_t>(DbState::in_production), 4);
  c = inspect_data_dir(d, io);
  CHECK_FALSE(c.was_standby);
  write(d + "/standby.signal", "");
  CHECK(inspect_data_dir(d, io).was_standby);

  io.expected_system_id = 43;
  c = inspect_data_dir(d, io);
  CHECK(c.kind == Kind::unusable);
  CHECK(c.foreign);
  io.expected_system_id = 42;
  CHECK(inspect_data_dir(d, io).kind == Kind::cluster);

  io.expected_major = 16;
  c = inspect_data_dir(d, io);
  CHECK(c.kind == Kind::unusable);
  CHECK_THAT(c.reason, Catch::Contains("bin_dir runs 16"));
  io.expected_major = 0;
  write(d + "/PG_VERSION", "17\n");  // 17 with a 1300-format control file
  CHECK_THAT(inspect_data_dir(d, io).reason, Catch::Contains("inconsistent"));
  write(d + "/PG_VERSION", "11\n");
  CHECK_THAT(inspect_data_dir(d, io).reason, Catch::Contains("supports 12 and later"));
  write(d + "/PG_VERSION", "15\n");

  chmod(d.c_str(), 0711);
  CHECK_THAT(inspect_data_dir(d, io).reason, Catch::Contains("permissions 0711"));
  chmod(d.c_str(), 0700);

  if (geteuid() == 0) {
    // As root: a directory owned by someone else is refused.
    REQUIRE(chown(d.c_str(), 12345, 12345) == 0);
    c = inspect_data_dir(d, io);
    CHECK(c.kind == Kind::unusable);
    CHECK_THAT(c.reason, Catch::Contains("uid 12345"));
    InspectOptions no_owner = io;
    no_owner.check_owner = false;
    CHECK(inspect_data_dir(d, no_owner).kind == Kind::cluster);
    REQUIRE(chown(d.c_str(), 0, 0) == 0);
  }
}

TEST_CASE("postmaster.pid is parsed, and only a live postmaster of this directory counts") {
  PostmasterPid p;
  REQUIRE(parse_postmaster_pid(
      "4242\n/data\n1764100000\n15432\n/run/pg\n10.0.0.1\n  1234   5678\nready   \n", &p));
  CHECK(p.pid == 4242);
  CHECK(p.data_dir == "/data");
  CHECK(p.port == 15432);
  CHECK(p.socket_dir == "/run/pg");
  CHECK(p.listen_address == "10.0.0.1");
  CHECK(p.status == "ready");
  CHECK_FALSE(parse_postmaster_pid("", &p));
  CHECK_FALSE(parse_postmaster_pid("abc\n", &p));
  CHECK_FALSE(parse_postmaster_pid("-5\n", &p));

  pw::test::TempDir td("pgctl-unit-pid");
  std::string d = td / "data";
  mkdir(d.c_str(), 0700);
  CHECK(live_postmaster(d) == 0);  // no file
  // A process whose working directory is the data directory, like a postmaster.
  pid_t child = fork();
  if (child == 0) {
    if (chdir(d.c_str()) != 0) _exit(1);
    pause();
    _exit(0);
  }
  write(d + "/postmaster.pid", std::to_string(child) + "\n" + d + "\n");
  int64_t deadline = pw::mono_ms() + 5000;
  while (live_postmaster(d) == 0 && pw::mono_ms() < deadline) usleep(10000);
  CHECK(live_postmaster(d) == child);
  // Same pid, another directory: a reused pid, not ours.
  std::string other = td / "other";
  mkdir(other.c_str(), 0700);
  write(other + "/postmaster.pid", std::to_string(child) + "\n" + other + "\n");
  CHECK(live_postmaster(other) == 0);
  kill(child, SIGKILL);
  int st;
  waitpid(child, &st, 0);
  CHECK(live_postmaster(d) == 0);  // stale file
}

TEST_CASE("move_dir_aside renames with a timestamp and never overwrites") {
  pw::test::TempDir td("pgctl-unit-move");
  std::string d = td / "data";
  mkdir(d.c_str(), 0700);
  write(d + "/f", "1");
  std::string to1, to2, err;
  REQUIRE(move_dir_aside(d, &to1, &err));
  CHECK_THAT(to1, Catch::StartsWith(d + ".moved-"));
  CHECK_FALSE(file_exists(d));
  mkdir(d.c_str(), 0700);
  write(d + "/f", "2");
  REQUIRE(move_dir_aside(d + "/", &to2, &err));  // trailing slash tolerated
  CHECK(to1 != to2);
  std::string a, b;
  REQUIRE(read_file(to1 + "/f", &a, &err));
  REQUIRE(read_file(to2 + "/f", &b, &err));
  CHECK(a == "1");
  CHECK(b == "2");
  CHECK_FALSE(move_dir_aside(td / "missing", &to1, &err));
  CHECK_THAT(err, Catch::Contains("missing"));
}

TEST_CASE("write_file_atomic sets the exact mode") {
  pw::test::TempDir td("pgctl-unit-write");
  std::string p = td / "secret";
  std::string err;
  mode_t old = umask(0);
  REQUIRE(write_file_atomic(p, "x", 0600, &err));
  umask(old);
  struct stat st;
  REQUIRE(stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(file_exists(p + ".pgwarden-tmp"));
}

TEST_CASE("read_file_head reads only the head of a long file; read_file refuses past its limit") {
  pw::test::TempDir td("pgctl-unit-head");
  std::string p = td / "long";
  std::string err, text;
  REQUIRE(write_file_atomic(p, std::string(100000, 'a') + "tail", 0600, &err));
  REQUIRE(read_file_head(p, 5, &text, &err));
  CHECK(text == "aaaaa");
  REQUIRE(read_file_head(p, 1 << 20, &text, &err));  // shorter than asked: all of it
  CHECK(text.size() == 100004);
  CHECK_FALSE(read_file(p, &text, &err, 1000));
  CHECK_THAT(err, Catch::Contains("larger than 1000"));
}
