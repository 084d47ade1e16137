// tests/unit/node_inplace_restart_test.cc — the process side of pgwarden's
// in-place restart (node/reexec.h, node/handoff.h, the fencer across an
// exec), with real processes. A forked "daemon" starts a fencer and a
// stand-in postmaster, arms the fencer, then execve()s:
//   * a new image that takes the fencer over (this test binary again, its
//     hidden [.new_image] case) and re-arms it: the new order rules;
//   * a program that never takes over (sleep): the deadline the old image
//     gave still kills the postmaster (I2 across the gap);
//   * a program that exits at once (a new image that crashes): the fencer
//     and the postmaster die with the process, as after any crash.
// And: only the descriptors asked for cross the exec; the record's codec.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "base/clock.h"
#include "node/fencer.h"
#include "node/handoff.h"
#include "node/reexec.h"
#include "support/tmpdir.h"
#include "support/wait.h"

using pw::mono_ms;
using pw::node::AgentHandoff;
using pw::node::Fencer;
using pw::node::Handoff;
using pw::node::HandoffFields;
using pw::test::wait_until;

namespace {

struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;

// A stand-in postmaster forked by the calling process: its own process
// group, dies with its parent (PDEATHSIG, like the real one), else sleeps.
pid_t fork_postmaster() {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    setpgid(0, 0);
    for (;;) pause();
  }
  setpgid(pid, pid);
  return pid;
}

void put_all(int fd, const void* p, size_t n) {
  if (write(fd, p, n) != static_cast<ssize_t>(n)) _exit(90);
}

bool get_all(int fd, void* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, static_cast<char*>(p) + got, n - got);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// Watches a process that is not our child (the daemon's postmaster).
struct Watched {
  pid_t pid;
  int pidfd;
  explicit Watched(pid_t p) : pid(p), pidfd(static_cast<int>(syscall(SYS_pidfd_open, p, 0))) { REQUIRE(pidfd >= 0); }
  ~Watched() { close(pidfd); }
  bool gone() const {
    pollfd x{pidfd, POLLIN, 0};
    return poll(&x, 1, 0) > 0;
  }
};

// The forked "daemon": a fencer armed for a stand-in postmaster until
// `deadline`; it reports the postmaster's pid on `report`, then execve()s
// `argv` with the hand-off record in its environment (plus `env`), keeping
// the fencer's pipe and `report` open. Returns the daemon's pid.
pid_t start_daemon(int64_t deadline, std::vector<std::string> argv, std::vector<std::string> env, int report) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid != 0) return pid;
  Fencer f;
  pid_t pm = fork_postmaster();
  f.arm(pm, deadline);
  put_all(report, &pm, sizeof pm);
  Handoff h;
  h.fencer = f.handle();
  h.left_at_ms = mono_ms();
  env.push_back(std::string(pw::node::kHandoffEnv) + "=" + h.encode());
  env.push_back("PW_TEST_REPORT_FD=" + std::to_string(report));
  std::string err = pw::node::reexec(argv[0], argv, env, {h.fencer.fd, report});
  fprintf(stderr, "reexec failed: %s\n", err.c_str());
  _exit(91);
}

struct Daemon {
  int report[2] = {-1, -1};
  pid_t pid = -1;
  pid_t pm = -1;
  Daemon(int64_t deadline, std::vector<std::string> argv, std::vector<std::string> env = {}) {
    REQUIRE(pipe(report) == 0);
    pid = start_daemon(deadline, std::move(argv), std::move(env), report[1]);
    close(report[1]);
    REQUIRE(get_all(report[0], &pm, sizeof pm));
  }
  ~Daemon() {
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    close(report[0]);
  }
};

std::vector<std::string> this_test_binary() {
  std::string err;
  std::string self = pw::node::reexec_program(pw::node::own_command_line(&err), &err);
  REQUIRE(!self.empty());
  return {self, "[.new_image]"};
}

}  // namespace

// Run only through exec, by the first test below: the new image's side.
TEST_CASE("new image: take the fencer over and re-arm it", "[.new_image]") {
  const char* fd_text = getenv("PW_TEST_REPORT_FD");
  if (!getenv("PW_TEST_NEW_IMAGE") || !fd_text) return;
  int report = atoi(fd_text);
  std::string err;
  std::optional<Handoff> h = pw::node::take_handoff_from_env(&err);
  if (!h || getenv(pw::node::kHandoffEnv)) _exit(80);       // read, and removed from the environment
  if (!pw::node::verify_handoff(&*h).empty()) _exit(81);     // the fencer is ours: same process
  if ((fcntl(h->fencer.fd, F_GETFD) & FD_CLOEXEC) != 0) _exit(82);  // it crossed the exec open
  Fencer f(h->fencer);
  if (f.pid() != h->fencer.pid) _exit(83);  // the running fencer, not a new one
  int64_t deadline = mono_ms() + 200;
  f.arm(h->fencer.order_pid, deadline);
  put_all(report, &deadline, sizeof deadline);
  for (;;) {
    f.supervise();
    usleep(10 * 1000);
  }
}

TEST_CASE("after an exec the new image takes the fencer over and its order rules") {
  // The old image armed it for 10 minutes; the new one re-arms it for now.
  Daemon d(mono_ms() + 600000, this_test_binary(), {"PW_TEST_NEW_IMAGE=1"});
  Watched pm(d.pm);
  int64_t deadline = 0;
  REQUIRE(get_all(d.report[0], &deadline, sizeof deadline));
  REQUIRE(wait_until([&] { return pm.gone(); }));
  CHECK(mono_ms() >= deadline);
  int st = 0;
  CHECK(waitpid(d.pid, &st, WNOHANG) == 0);  // the new image runs on
}

TEST_CASE("a new image that never takes over: the old image's deadline still kills the postmaster") {
  int64_t deadline = mono_ms() + 300;
  Daemon d(deadline, {"/bin/sleep", "60"});
  Watched pm(d.pm);
  REQUIRE(wait_until([&] { return pm.gone(); }));
  CHECK(mono_ms() >= deadline);
}

TEST_CASE("a new image that dies at once takes the fencer and the postmaster with it") {
  // Armed for 10 minutes: only the process's death can end the postmaster
  // within the wait (PDEATHSIG, which the exec itself did not trigger).
  Daemon d(mono_ms() + 600000, {"/bin/sh", "-c", "exit 3"});
  Watched pm(d.pm);
  REQUIRE(wait_until([&] { return pm.gone(); }));
  int st = 0;
  REQUIRE(waitpid(d.pid, &st, 0) == d.pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 3);
}

TEST_CASE("reexec: only the descriptors asked for cross the exec, with the extra environment") {
  pw::test::TempDir dir;
  std::string out = dir.path() + "/fds";
  int kept[2], dropped[2];
  REQUIRE(pipe(kept) == 0);
  REQUIRE(pipe(dropped) == 0);  // not close-on-exec either: reexec must close it
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::string script = "ls /proc/self/fd > " + out + "; echo \"X=$PW_X\" >> " + out;
    std::string err = pw::node::reexec("/bin/sh", {"sh", "-c", script}, {"PW_X=yes"}, {kept[1]});
    _exit(92);
  }
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  std::ifstream f(out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  auto has = [&](const std::string& x) { return std::find(lines.begin(), lines.end(), x) != lines.end(); };
  CHECK(has(std::to_string(kept[1])));
  CHECK_FALSE(has(std::to_string(dropped[0])));
  CHECK_FALSE(has(std::to_string(dropped[1])));
  CHECK_FALSE(has(std::to_string(kept[0])));
  CHECK(has("X=yes"));
  for (int fd : {kept[0], kept[1], dropped[0], dropped[1]}) close(fd);
}

TEST_CASE("reexec_program: argv[0] when it names a path, else the running file") {
  std::string err;
  CHECK(pw::node::reexec_program({"/usr/sbin/pgwarden", "run"}, &err) == "/usr/sbin/pgwarden");
  CHECK(pw::node::reexec_program({"build/pgwarden", "run"}, &err) == "build/pgwarden");
  std::string self = pw::node::reexec_program({"pgwarden", "run"}, &err);
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  REQUIRE(n > 0);
  CHECK(self == std::string(buf, static_cast<size_t>(n)));
}

TEST_CASE("the hand-off record: round trip, unknown keys ignored, newer compat refused, garbage refused") {
  Handoff h;
  h.from_version = "0.1.0 dev";
  h.left_at_ms = 123456;
  h.fencer = {4242, 7, 4343, 999999, true};
  h.postmaster = {4343, 9, true};
  h.agent.epoch = 5;
  h.agent.lease_until_ms = 1000000;
  h.agent.applied_index = 77;
  h.agent.made_primary = true;
  h.agent.pg_running = true;
  h.agent.needs_rewind = false;
  h.agent.following = "n 2=%,x";
  h.agent.prepared_epoch = 5;
  h.agent.slots_roster_epoch = 3;
  h.agent.sync_epoch = 5;
  h.agent.sync_names = {"n2", "", "a,b"};
  std::string text = h.encode();
  CHECK(text.find('\n') == std::string::npos);
  std::string err;
  auto back = Handoff::decode(text + " some_future_key=1", &err);
  REQUIRE(back);
  CHECK(back->from_version == h.from_version);
  CHECK(back->left_at_ms == 123456);
  CHECK(back->fencer.pid == 4242);
  CHECK(back->fencer.fd == 7);
  CHECK(back->fencer.order_pid == 4343);
  CHECK(back->fencer.order_deadline == 999999);
  CHECK(back->fencer.delivered);
  CHECK(back->postmaster.pid == 4343);
  CHECK(back->postmaster.output_fd == 9);
  CHECK(back->postmaster.child);
  CHECK(back->agent.epoch == 5);
  CHECK(back->agent.lease_until_ms == 1000000);
  CHECK(back->agent.applied_index == 77);
  CHECK(back->agent.made_primary);
  CHECK(back->agent.pg_running);
  CHECK_FALSE(back->agent.needs_rewind);
  CHECK(back->agent.following == "n 2=%,x");
  CHECK(back->agent.slots_roster_epoch == 3);
  CHECK(back->agent.sync_names == std::vector<std::string>{"n2", "", "a,b"});

  // A reader of version 1 must refuse a record only newer readers understand.
  CHECK_FALSE(Handoff::decode("v=2 compat=2 epoch=5", &err));
  CHECK_THAT(err, Catch::Contains("version 2"));
  // A newer writer whose record version 1 readers still understand.
  auto newer = Handoff::decode("v=3 compat=1 epoch=5 lease_until_ms=9 postmaster_pid=12", &err);
  REQUIRE(newer);
  CHECK(newer->agent.epoch == 5);
  CHECK(newer->postmaster.pid == 12);
  for (const std::string& bad : std::vector<std::string>{"", "garbage", "v=1", "v=x compat=1", "v=0 compat=0",
                                                         "v=1 compat=2", "v=1 compat=1 novalue", "v=1 compat=1 =3",
                                                         "v=1 compat=1 a=%4", "v=1 compat=1 a=%zz"})
    CHECK_FALSE(Handoff::decode(bad, &err));
}

TEST_CASE("the hand-off record: missing or out-of-range fields give the conservative state") {
  std::string err;
  auto h = Handoff::decode("v=1 compat=1 fencer_pid=-4 fencer_fd=1 postmaster_pid=99999999999 epoch=3", &err);
  REQUIRE(h);
  CHECK(h->fencer.pid == -1);            // no fencer: a new one is started
  CHECK(h->fencer.fd == -1);             // never stdin/stdout/stderr
  CHECK_FALSE(h->fencer.delivered);
  CHECK(h->postmaster.pid == 0);
  CHECK(h->agent.epoch == 0);            // an epoch without its lease is no lease
  CHECK(h->agent.needs_rewind);          // unknown: rewind before following anyone
  CHECK_FALSE(h->agent.made_primary);
}

TEST_CASE("verify_handoff drops what is not this process's own") {
  Handoff h;
  h.fencer = {1, 0, 0, 0, true};   // init is nobody's child
  h.postmaster = {1, -1, true};
  std::string dropped = pw::node::verify_handoff(&h);
  CHECK_THAT(dropped, Catch::Contains("fencer pid=1"));
  CHECK_THAT(dropped, Catch::Contains("postmaster pid=1"));
  CHECK(h.fencer.pid == -1);
  CHECK(h.postmaster.pid == 0);
  // Our own fencer and its pipe pass.
  Fencer f;
  Handoff mine;
  mine.fencer = f.handle();
  CHECK(pw::node::verify_handoff(&mine).empty());
  CHECK(mine.fencer.pid == f.pid());
}

// I2 across the restart, in the new image's own process: what the daemon
// does with the record (verify_handoff, then Fencer(handle), then the agent's
// supervise() each loop turn) when the old fencer cannot simply go on.

TEST_CASE("a fencer the new image cannot take over is replaced, and the inherited order still kills") {
  pid_t pm = fork_postmaster();
  Watched w(pm);
  Handoff h;
  const int64_t deadline = mono_ms() + 300;
  h.fencer = {1, 0, pm, deadline, true};  // pid 1 is not ours: the fencer is dropped ...
  CHECK_THAT(pw::node::verify_handoff(&h), Catch::Contains("fencer pid=1"));
  CHECK(h.fencer.order_pid == pm);  // ... its order is not
  CHECK(h.fencer.order_deadline == deadline);
  Fencer f(h.fencer);
  CHECK(f.pid() == -1);
  f.supervise();  // starts a fencer and gives it the inherited order
  CHECK(f.pid() > 0);
  REQUIRE(wait_until([&] { return w.gone(); }));
  CHECK(mono_ms() >= deadline);
  int st;
  waitpid(pm, &st, 0);
}

TEST_CASE("an order the old image did not deliver: the new image replaces the running fencer and delivers it") {
  pid_t pm = fork_postmaster();
  Watched w(pm);
  // The old image's fencer, never armed. An exec discards its Fencer object
  // without running the destructor: placement new, never destroyed.
  alignas(Fencer) unsigned char old_image[sizeof(Fencer)];
  Fencer* old = new (old_image) Fencer();
  pw::node::FencerHandle h = old->handle();
  const int64_t deadline = mono_ms() + 300;
  h.order_pid = pm;  // armed, but the write did not reach the pipe
  h.order_deadline = deadline;
  h.delivered = false;
  Fencer f(h);
  CHECK(f.pid() == h.pid);  // taken over ...
  f.supervise();
  CHECK(f.pid() != h.pid);  // ... and replaced: the old one holds no order
  CHECK(f.pid() > 0);
  REQUIRE(wait_until([&] { return w.gone(); }));
  CHECK(mono_ms() >= deadline);
  int st;
  waitpid(pm, &st, 0);
}
