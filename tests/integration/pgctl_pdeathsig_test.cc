// tests/integration/pgctl_pdeathsig_test.cc — I2: if the process that owns
// the postmaster dies (kill -9, no cleanup at all), PostgreSQL dies with it:
// the postmaster was started with PR_SET_PDEATHSIG = SIGQUIT (immediate
// shutdown), so within a deadline no process of the cluster remains.
#include <cstdlib>
#include <signal.h>
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>

#include "pgctl/child.h"
#include "support/pgctl_harness.h"

using namespace pw;
using namespace pw::test;

namespace {

pid_t parent_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = stat.rfind(')');
  if (p == std::string::npos) return 0;
  char state = 0;
  int ppid = 0;
  if (sscanf(stat.c_str() + p + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid;
}

// Gone, or a zombie nobody reaped yet (it runs nothing any more).
bool dead(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = stat.rfind(')');
  return p != std::string::npos && p + 2 < stat.size() && stat[p + 2] == 'Z';
}

}  // namespace

TEST_CASE("the postmaster dies when the process that started it is killed") {
  TempDir td("pgctl-pdeath");
  ProcessReaper reaper(td.path());
  Loop loop;
  pid_t postmaster = 0;
  std::optional<pgctl::ChildExit> helper_exit;
  pgctl::ChildOptions co;
  co.name = "owner-helper";
  // From the test's own directory (tests/support/as-postgres.sh may have
  // copied both out of a build tree postgres cannot reach).
  const char* dir = getenv("PW_HELPER_DIR");
  std::string helper_path = dir ? std::string(dir) + "/pgctl_owner_helper" : std::string(PGCTL_OWNER_HELPER);
  co.argv = {helper_path, td.path(), "127.0.4.31"};
  co.timeout_ms = 300000;
  co.on_line = [&](const std::string& line) {
    int pid = 0;
    if (sscanf(line.c_str(), "POSTMASTER %d", &pid) == 1) postmaster = pid;
  };
  std::string err;
  auto helper = pgctl::Child::spawn(
      loop.base, co, [&](const pgctl::ChildExit& ex) { helper_exit = ex; }, &err);
  REQUIRE(helper);
  REQUIRE(run_until(
      loop.base, [&] { return postmaster != 0 || helper_exit.has_value(); }, 240000));
  REQUIRE(postmaster > 0);
  REQUIRE_FALSE(helper_exit.has_value());
  CHECK(parent_of(postmaster) == helper->pid());
  // The cluster is really up: the postmaster and its background processes.
  REQUIRE(processes_under(td.path()).size() >= 3);

  REQUIRE(kill(helper->pid(), SIGKILL) == 0);
  REQUIRE(run_until(
      loop.base, [&] { return helper_exit.has_value(); }, 30000));
  CHECK(helper_exit->describe() == "killed by signal 9");

  // Nobody asked PostgreSQL to stop; it must go by itself.
  bool gone = run_until(
      loop.base, [&] { return dead(postmaster) && processes_under(td.path()).empty(); }, 30000);
  CHECK(gone);
  CHECK(dead(postmaster));
  CHECK(processes_under(td.path()).empty());
}
