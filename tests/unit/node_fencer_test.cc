// tests/unit/node_fencer_test.cc — the fencer of DESIGN I2 with real
// processes: an armed deadline kills a stand-in postmaster (never before the
// deadline); a fencer killed with SIGKILL is noticed by supervise(),
// replaced, and the order it held (or one given while it was dead) still
// kills; without supervise() a dead fencer silently protects nothing.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/clock.h"
#include "node/fencer.h"
#include "support/wait.h"

using pw::mono_ms;
using pw::node::Fencer;
using pw::node::FencerHealth;
using pw::test::wait_until;

namespace {

// The daemon ignores SIGPIPE; so must every process that owns a Fencer (a
// write to a dead fencer's pipe must fail with EPIPE, not kill us).
struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;

// A stand-in postmaster: leads its own process group (as the real one
// does), sleeps until killed, dies with the test process.
struct Dummy {
  pid_t pid = -1;
  int status = 0;
  bool reaped = false;
  int64_t reaped_at = 0;
  Dummy() {
    pid_t parent = getpid();
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      setpgid(0, 0);
      for (;;) pause();
    }
    setpgid(pid, pid);  // also from here, so it holds before the fencer acts
  }
  ~Dummy() {
    if (!reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }
  bool dead() {
    if (reaped) return true;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      reaped_at = mono_ms();
    }
    return reaped;
  }
  bool killed() { return dead() && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
};

// True once `pid` (our child) has terminated, without reaping it: the
// reaping is supervise()'s job.
bool terminated(pid_t pid) {
  siginfo_t si{};
  return waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         si.si_pid == pid;
}

// Kills the fencer child and waits until it is a zombie.
void kill_fencer(Fencer& f) {
  pid_t fp = f.pid();
  REQUIRE(fp > 0);
  REQUIRE(kill(fp, SIGKILL) == 0);
  REQUIRE(wait_until([&] { return terminated(fp); }));
}

}  // namespace

TEST_CASE("an armed deadline kills the postmaster once it passes, not before") {
  Fencer f;
  Dummy pm;
  int64_t deadline = mono_ms() + 200;
  f.arm(pm.pid, deadline);
  REQUIRE(wait_until([&] { return pm.dead(); }));
  CHECK(pm.killed());
  CHECK(pm.reaped_at >= deadline);
  FencerHealth h = f.supervise();
  CHECK(h.alive);
  CHECK(h.restarts == 0);
  CHECK(h.last_failure.empty());
}

TEST_CASE("re-arming moves the deadline; disarming cancels it") {
  Fencer f;
  Dummy pm;
  f.arm(pm.pid, mono_ms() + 5000);
  f.disarm();
  Dummy pm2;
  int64_t deadline = mono_ms() + 300;
  f.arm(pm2.pid, deadline);
  REQUIRE(wait_until([&] { return pm2.dead(); }));
  CHECK(pm2.killed());
  CHECK(!pm.dead());  // orders are read in turn: the disarm came before pm2's
}

TEST_CASE("a fencer killed while armed is restarted by supervise() and the order still kills") {
  Fencer f;
  Dummy pm;
  pid_t first = f.pid();
  f.arm(pm.pid, mono_ms() + 300);
  kill_fencer(f);
  FencerHealth h = f.supervise();
  CHECK(h.alive);
  CHECK(h.restarts == 1);
  CHECK(h.last_failure.find("killed by signal 9") != std::string::npos);
  CHECK(f.pid() > 0);
  CHECK(f.pid() != first);
  REQUIRE(wait_until([&] { return pm.dead(); }));
  CHECK(pm.killed());
  // Healthy now: nothing more to do.
  h = f.supervise();
  CHECK(h.alive);
  CHECK(h.restarts == 1);
}

TEST_CASE("an order given to a dead fencer fails, and supervise() delivers it to the new one") {
  Fencer f;
  Dummy pm;
  kill_fencer(f);
  int64_t deadline = mono_ms() + 200;
  f.arm(pm.pid, deadline);  // EPIPE: the order is kept for the restart
  FencerHealth h = f.supervise();
  CHECK(h.alive);
  CHECK(h.restarts == 1);
  REQUIRE(wait_until([&] { return pm.dead(); }));
  CHECK(pm.killed());
  CHECK(pm.reaped_at >= deadline);
}

TEST_CASE("without supervise() a dead fencer protects nothing (why supervise exists)") {
  Fencer f;
  Dummy pm;
  int64_t deadline = mono_ms() + 100;
  f.arm(pm.pid, deadline);
  kill_fencer(f);
  // Proving an absence needs a wait: well past the deadline, nobody fenced.
  usleep(400 * 1000);
  CHECK(!pm.dead());
  // supervise() notices, restarts, re-sends the (now past) deadline: killed at once.
  FencerHealth h = f.supervise();
  CHECK(h.restarts == 1);
  REQUIRE(wait_until([&] { return pm.dead(); }));
  CHECK(pm.killed());
}
