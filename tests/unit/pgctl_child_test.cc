// tests/unit/pgctl_child_test.cc — asynchronous child processes on a real
// event loop: output captured line by line, exit status, timeout with
// SIGTERM then SIGKILL, many children at once, no inherited descriptors,
// PR_SET_PDEATHSIG, teardown of a running child, a child taken over after
// an exec (Child::inherit); and the line splitter.
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <optional>

#include "base/clock.h"
#include "pgctl/child.h"
#include "pgctl/line_splitter.h"
#include "pgctl/process_watch.h"
#include "support/event_wait.h"

using namespace pw;
using namespace pw::pgctl;

namespace {

struct Loop {
  event_base* base = event_base_new();
  ~Loop() { event_base_free(base); }
  bool run_until(const std::function<bool()>& pred, int64_t timeout_ms) {
    return pw::test::run_until(base, pred, timeout_ms);
  }
};

ChildOptions sh(const std::string& script) {
  ChildOptions o;
  o.name = "sh";
  o.argv = {"/bin/sh", "-c", script};
  return o;
}

bool gone_or_zombie(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'Z';
}

}  // namespace

TEST_CASE("output lines and the exit status are reported") {
  Loop loop;
  std::optional<ChildExit> ex;
  std::vector<std::string> seen;
  auto o = sh("echo first; echo second >&2; printf 'no newline'; exit 3");
  o.on_line = [&](const std::string& l) { seen.push_back(l); };
  std::string err;
  auto c = Child::spawn(
      loop.base, o, [&](const ChildExit& e) { ex = e; }, &err);
  REQUIRE(c);
  CHECK(c->running());
  REQUIRE(loop.run_until([&] { return ex.has_value(); }, 10000));
  CHECK_FALSE(c->running());
  CHECK_FALSE(ex->ok());
  CHECK(ex->describe() == "exited with status 3");
  CHECK(ex->tail == std::vector<std::string>{"first", "second", "no newline"});
  CHECK(seen == ex->tail);
  CHECK(ex->error_text() == "exited with status 3; last output: | first | second | no newline");
}

TEST_CASE("a missing binary is refused at spawn") {
  Loop loop;
  ChildOptions o;
  o.argv = {"/nonexistent/initdb"};
  std::string err;
  auto c = Child::spawn(
      loop.base, o, [](const ChildExit&) {}, &err);
  CHECK_FALSE(c);
  CHECK_THAT(err, Catch::Contains("/nonexistent/initdb"));
}

TEST_CASE("a timeout sends SIGTERM, then SIGKILL to a child that ignores it") {
  Loop loop;
  std::optional<ChildExit> ex;
  auto o = sh("exec sleep 30");
  o.timeout_ms = 100;
  std::string err;
  auto c = Child::spawn(
      loop.base, o, [&](const ChildExit& e) { ex = e; }, &err);
  REQUIRE(loop.run_until([&] { return ex.has_value(); }, 10000));
  CHECK(ex->timed_out);
  CHECK(ex->describe() == "timed out (killed by signal 15)");

  ex.reset();
  o = sh("trap '' TERM; exec sleep 30");  // an ignored signal stays ignored across exec
  o.timeout_ms = 100;
  o.kill_grace_ms = 200;
  c = Child::spawn(
      loop.base, o, [&](const ChildExit& e) { ex = e; }, &err);
  REQUIRE(loop.run_until([&] { return ex.has_value(); }, 10000));
  CHECK(ex->timed_out);
  CHECK(ex->describe() == "timed out (killed by signal 9)");
}

TEST_CASE("many children at once each report their own exit") {
  Loop loop;
  std::map<pid_t, int> expected;
  std::map<pid_t, ChildExit> got;
  std::vector<std::unique_ptr<Child>> kids;
  for (int i = 0; i < 40; ++i) {
    std::string err;
    auto o = sh("sleep 0.$((" + std::to_string(i) + " % 3)); exit " + std::to_string(i));
    auto c = Child::spawn(
        loop.base, o, [&got](const ChildExit& e) { got[e.pid] = e; }, &err);
    REQUIRE(c);
    expected[c->pid()] = i;
    kids.push_back(std::move(c));
  }
  REQUIRE(loop.run_until([&] { return got.size() == expected.size(); }, 30000));
  for (auto& [pid, code] : expected) {
    REQUIRE(got.count(pid));
    CHECK(WIFEXITED(got[pid].status));
    CHECK(WEXITSTATUS(got[pid].status) == code);
  }
}

TEST_CASE("the child inherits no descriptor beyond stdin/stdout/stderr") {
  Loop loop;
  int leaked = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(leaked >= 0);
  REQUIRE(dup2(leaked, 57) == 57);
  std::optional<ChildExit> ex;
  auto o = sh("for f in /proc/$$/fd/*; do echo ${f##*/}; done");
  o.tail_lines = 100;
  std::string err;
  auto c = Child::spawn(
      loop.base, o, [&](const ChildExit& e) { ex = e; }, &err);
  REQUIRE(loop.run_until([&] { return ex.has_value(); }, 10000));
  close(leaked);
  close(57);
  REQUIRE(ex->ok());
  // 3 is the shell's own handle on /proc/$$/fd while it expands the glob.
  for (const auto& l : ex->tail) {
    INFO("fd " << l);
    CHECK((l == "0" || l == "1" || l == "2" || l == "3"));
  }
  CHECK(std::find(ex->tail.begin(), ex->tail.end(), "57") == ex->tail.end());
}

TEST_CASE("PR_SET_PDEATHSIG: the child dies with the process that spawned it") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t mid = fork();
  REQUIRE(mid >= 0);
  if (mid == 0) {
    // The "daemon": spawns a long sleep with PDEATHSIG, reports its pid, waits.
    close(fds[0]);
    event_base* b = event_base_new();
    auto o = sh("exec sleep 60");
    o.pdeathsig = SIGTERM;
    std::string err;
    auto c = Child::spawn(
        b, o, [](const ChildExit&) {}, &err);
    pid_t p = c ? c->pid() : 0;
    if (write(fds[1], &p, sizeof p) != sizeof p) _exit(2);
    pause();
    _exit(0);
  }
  close(fds[1]);
  pid_t grandchild = 0;
  REQUIRE(read(fds[0], &grandchild, sizeof grandchild) == sizeof grandchild);
  close(fds[0]);
  REQUIRE(grandchild > 0);
  CHECK(kill(grandchild, 0) == 0);
  kill(mid, SIGKILL);
  int st;
  waitpid(mid, &st, 0);
  int64_t deadline = mono_ms() + 10000;
  while (!gone_or_zombie(grandchild) && mono_ms() < deadline) usleep(10000);
  CHECK(gone_or_zombie(grandchild));
}

TEST_CASE("destroying a running Child kills and reaps it without a callback") {
  Loop loop;
  bool called = false;
  std::string err;
  auto c = Child::spawn(
      loop.base, sh("exec sleep 30"), [&](const ChildExit&) { called = true; }, &err);
  REQUIRE(c);
  pid_t pid = c->pid();
  c.reset();
  CHECK(kill(pid, 0) != 0);  // reaped: no zombie either
  loop.run_until([] { return false; }, 50);
  CHECK_FALSE(called);
}

TEST_CASE("ProcessWatch sees a process we did not fork exit") {
  Loop loop;
  pid_t p = fork();
  if (p == 0) {
    usleep(100 * 1000);
    _exit(0);
  }
  // Watching as a non-child: only the pidfd (or kill(0)) tells.
  std::optional<int> status;
  ProcessWatch w(loop.base, p, false, [&](int s) { status = s; });
  // Reap it ourselves in the background once it is a zombie, as its real
  // parent would; the watch must still fire.
  REQUIRE(loop.run_until(
      [&] {
        int st;
        waitpid(p, &st, WNOHANG);
        return status.has_value();
      },
      10000));
  CHECK(*status == -1);
  CHECK(w.exited());
}

TEST_CASE("Child::inherit takes over a running child: its output and its exit status") {
  // What an in-place restart of the daemon leaves to the new image: a child
  // forked earlier (here by hand, as the previous image did) and the read
  // end of its output pipe. The new Child reads the rest of the output and
  // reaps the child with its status, like a spawned one.
  Loop loop;
  int go[2], out[2];
  REQUIRE(pipe(go) == 0);
  REQUIRE(pipe(out) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    char c;
    // Only once taken over: every line below reaches the new Child.
    if (read(go[0], &c, 1) != 1) _exit(1);
    execl("/bin/sh", "sh", "-c", "echo taken; echo over >&2; exit 4", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  close(go[0]);
  std::optional<ChildExit> ex;
  std::vector<std::string> seen;
  ChildOptions o = sh("");
  o.on_line = [&](const std::string& l) { seen.push_back(l); };
  auto c = Child::inherit(loop.base, o, pid, out[0], [&](const ChildExit& e) { ex = e; });
  CHECK(c->running());
  CHECK(c->pid() == pid);
  CHECK(c->output_fd() == out[0]);
  CHECK((fcntl(out[0], F_GETFD) & FD_CLOEXEC) != 0);  // no leak into the next children
  REQUIRE(write(go[1], "x", 1) == 1);
  close(go[1]);
  REQUIRE(loop.run_until([&] { return ex.has_value(); }, 10000));
  CHECK(ex->pid == pid);
  CHECK(ex->describe() == "exited with status 4");
  CHECK(seen == std::vector<std::string>{"taken"});  // stderr was not redirected here
  CHECK(kill(pid, 0) != 0);                          // reaped
}

TEST_CASE("Child::inherit of a child that already exited reports it on the next turn") {
  Loop loop;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(7);
  REQUIRE(pw::test::run_until(loop.base, [&] { return gone_or_zombie(pid); }, 10000));
  std::optional<ChildExit> ex;
  auto c = Child::inherit(loop.base, sh(""), pid, -1, [&](const ChildExit& e) { ex = e; });
  CHECK_FALSE(ex.has_value());  // never from inside inherit()
  REQUIRE(loop.run_until([&] { return ex.has_value(); }, 10000));
  CHECK(ex->describe() == "exited with status 7");
}

TEST_CASE("LineSplitter splits on \\n and \\r, caps long lines, keeps a tail") {
  std::vector<std::string> lines;
  LineSplitter s(3, 10, [&](const std::string& l) { lines.push_back(l); });
  std::string in = "a\r\nprogress 1\rprogress 2\r\n\n0123456789ABCDEF\nlast";
  s.feed(in.data(), 5);
  s.feed(in.data() + 5, in.size() - 5);
  CHECK(lines == std::vector<std::string>{"a", "progress 1", "progress 2", "0123456789..."});
  s.flush();
  CHECK(lines.back() == "last");
  CHECK(s.tail() == std::vector<std::string>{"progress 2", "0123456789...", "last"});
  CHECK(s.tail_text() == "progress 2 | 0123456789... | last");
}
