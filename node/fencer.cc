// node/fencer.cc — see fencer.h. The child uses only async-signal-safe-ish
// system calls (poll, read, kill, clock_gettime, write) and no allocation,
// so forking it from a process with libevent state is harmless.
#include "node/fencer.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "base/clock.h"

namespace pw::node {

namespace {
struct Order {
  int64_t pid;
  int64_t deadline;
};

void say(const char* msg) {
  // Plain write: the child must not use the parent's logger state.
  ssize_t r = ::write(2, msg, strlen(msg));
  (void)r;
}
}  // namespace

[[noreturn]] void fencer_main(int fd) {
  prctl(PR_SET_NAME, "pgwarden-fencer");
  Order cur{0, 0};
  for (;;) {
    int timeout = -1;
    if (cur.pid > 0) {
      int64_t left = cur.deadline - mono_ms();
      if (left <= 0) {
        // The agent did not renew in time: PostgreSQL must stop writing now.
        kill(static_cast<pid_t>(-cur.pid), SIGKILL);  // its process group, if it leads one
        kill(static_cast<pid_t>(cur.pid), SIGKILL);
        char buf[160];
        snprintf(buf, sizeof buf,
                 "fencer: lease deadline passed without renewal, killed postmaster pid=%lld\n",
                 static_cast<long long>(cur.pid));
        say(buf);
        cur = {0, 0};
        continue;
      }
      timeout = static_cast<int>(left > 1000 ? 1000 : left);
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, timeout);
    if (r < 0 && errno != EINTR) _exit(1);
    if (r > 0) {
      Order o;
      ssize_t n = read(fd, &o, sizeof o);
      if (n == 0) _exit(0);  // agent gone
      if (n == static_cast<ssize_t>(sizeof o)) cur = o;
    }
  }
}

Fencer::Fencer() {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error(std::string("fencer: pipe: ") + strerror(errno));
  pid_t parent = getpid();
  child_ = fork();
  if (child_ < 0) throw std::runtime_error(std::string("fencer: fork: ") + strerror(errno));
  if (child_ == 0) {
    close(fds[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    fencer_main(fds[0]);
  }
  close(fds[0]);
  fd_ = fds[1];
}

Fencer::~Fencer() {
  if (fd_ >= 0) close(fd_);  // EOF → the fencer exits
  if (child_ > 0) {
    kill(child_, SIGKILL);
    int st;
    waitpid(child_, &st, 0);
  }
}

void Fencer::arm(pid_t postmaster, int64_t deadline_mono_ms) {
  if (postmaster == last_pm_ && deadline_mono_ms == last_deadline_) return;
  last_pm_ = postmaster;
  last_deadline_ = deadline_mono_ms;
  Order o{postmaster, deadline_mono_ms};
  ssize_t n = ::write(fd_, &o, sizeof o);  // 16 bytes < PIPE_BUF: atomic
  (void)n;
}

}  // namespace pw::node
