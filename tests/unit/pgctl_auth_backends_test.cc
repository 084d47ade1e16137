// tests/unit/pgctl_auth_backends_test.cc — counting a postmaster's backends
// that are still authenticating (pgctl/auth_backends.h), which a planned
// shutdown's client drain must wait for: PostgreSQL 15 does not list them in
// pg_stat_activity.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "base/clock.h"
#include "pgctl/auth_backends.h"

using namespace pw::pgctl;

TEST_CASE("a backend's title says whether it is authenticating") {
  auto is = [](const std::string& s) { return title_is_authenticating(s.data(), s.size()); };
  CHECK(is(std::string("postgres: postgres postgres 127.0.59.12(40462) authentication\0\0\0", 65)));
  CHECK_FALSE(is("postgres: postgres postgres 127.0.59.12(40462) idle"));
  CHECK_FALSE(is("postgres: walsender replicator 127.0.59.12(40463) streaming 0/3000000"));
  CHECK_FALSE(is("postgres: checkpointer "));
  CHECK_FALSE(is(std::string("/usr/lib/postgresql/15/bin/postgres\0-D\0authentication", 52)));
  CHECK_FALSE(is(""));
}

TEST_CASE("only children of the given postmaster are counted, from /proc") {
  // A child whose title reads like an authenticating backend (bash's exec -a).
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::execl("/bin/bash", "bash", "-c", "exec -a 'postgres: u d 127.0.0.1(1) authentication' sleep 30",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int64_t deadline = pw::mono_ms() + 10000;
  int n = 0;
  while ((n = count_authenticating_backends(::getpid())) == 0 && pw::mono_ms() < deadline) ::usleep(10000);
  CHECK(n == 1);
  CHECK(count_authenticating_backends(child) == 0);  // not its parent
  CHECK(count_authenticating_backends(0) == 0);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}
