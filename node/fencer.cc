// node/fencer.cc — see fencer.h.
//
// Forking after threads exist (a restart from supervise()) is safe here
// because the child runs only fencer_main and the few calls before it:
// prctl, dup2, close_range (or getrlimit and close), getppid, poll, read,
// kill, clock_gettime and write — plain system calls, no allocation, no
// stdio, no lock another thread might have held at fork time.
#include "node/fencer.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "base/clock.h"
#include "base/log.h"

namespace pw::node {

namespace {
struct Order {
  int64_t pid;
  int64_t deadline;
};

constexpr int kChildFd = 3;  // the read end's number in the child

void say(const char* msg) {
  // Plain write: the child must not use the parent's logger state.
  ssize_t r = ::write(2, msg, strlen(msg));
  (void)r;
}

// Decimal digits of `v` (v >= 0) into `out`, NUL-terminated; async-signal-safe.
void put_int(char* out, int64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < 23);
  while (n > 0) *out++ = tmp[--n];
  *out = 0;
}

// Child side, before fencer_main: keeps only stdin/out/err and the read end
// of the pipe. A fencer forked late must not hold copies of the agent's
// sockets (a closed raft or client connection would stay open) or of
// another pipe.
void child_close_fds(int read_fd) {
  if (read_fd != kChildFd) {
    if (dup2(read_fd, kChildFd) < 0) _exit(1);
  }
  if (close_range(kChildFd + 1, ~0U, 0) != 0) {
    rlimit rl{};
    int max =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536
            ? static_cast<int>(rl.rlim_cur)
            : 65536;
    for (int fd = kChildFd + 1; fd < max; ++fd) close(fd);
  }
}

std::string describe_status(int st) {
  if (WIFSIGNALED(st)) {
    const char* name = sigabbrev_np(WTERMSIG(st));
    return std::string("killed by signal ") + std::to_string(WTERMSIG(st)) +
           (name ? std::string(" (SIG") + name + ")" : "");
  }
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  return "ended (status " + std::to_string(st) + ")";
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
        char buf[160] = "fencer: lease deadline passed without renewal, killed postmaster pid=";
        size_t len = strlen(buf);
        put_int(buf + len, cur.pid);
        len = strlen(buf);
        buf[len] = '\n';
        buf[len + 1] = 0;
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
  std::string why;
  if (!spawn(&why)) throw std::runtime_error("fencer: " + why);
}

Fencer::Fencer(const FencerHandle& h) : fd_(h.fd), child_(h.pid), last_pm_(h.order_pid), last_deadline_(h.order_deadline) {
  if (fd_ < 0 || child_ <= 0) {
    // Nothing usable was passed on: the first supervise() starts a fencer
    // and sends it the order.
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    child_ = -1;
    restart_why_ = "no fencer passed on by the previous image";
    return;
  }
  // It crossed the exec without close-on-exec; nothing we start may hold it.
  fcntl(fd_, F_SETFD, FD_CLOEXEC);
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  sent_ = h.delivered;
  // An order it never got: the next supervise() replaces it and re-sends.
  if (!h.delivered) restart_why_ = "the last order was not delivered before the restart";
}

Fencer::~Fencer() {
  discard_child();
}

bool Fencer::spawn(std::string* why) {
  int fds[2];
  // Close-on-exec: PostgreSQL and the other programs the agent starts must
  // not inherit either end (a stray read end would hide EPIPE from arm()).
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *why = std::string("pipe: ") + strerror(errno);
    return false;
  }
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) {
    *why = std::string("fork: ") + strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (child == 0) {
    // The child: async-signal-safe calls only (see the top of this file).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    close(fds[1]);
    child_close_fds(fds[0]);
    fencer_main(kChildFd);
  }
  close(fds[0]);
  // Non-blocking: a fencer that stopped reading must not freeze the agent;
  // a full pipe is reported like a dead fencer and it is replaced.
  fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  child_ = child;
  fd_ = fds[1];
  sent_ = false;
  return true;
}

void Fencer::discard_child() {
  if (fd_ >= 0) close(fd_);  // EOF → a live fencer exits
  fd_ = -1;
  if (child_ > 0) {
    kill(child_, SIGKILL);
    int st;
    while (waitpid(child_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  child_ = -1;
  sent_ = false;
}

bool Fencer::send_last() {
  if (fd_ < 0) {
    restart_why_ = "no fencer running";
    return false;
  }
  Order o{last_pm_, last_deadline_};
  ssize_t n;
  do {
    n = ::write(fd_, &o, sizeof o);  // 16 bytes < PIPE_BUF: all or nothing
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof o)) {
    sent_ = true;
    return true;
  }
  sent_ = false;
  restart_why_ = n < 0 ? std::string("order not delivered: ") + strerror(errno)
                       : "order not delivered: short write";
  return false;
}

void Fencer::arm(pid_t postmaster, int64_t deadline_mono_ms) {
  if (sent_ && postmaster == last_pm_ && deadline_mono_ms == last_deadline_) return;
  last_pm_ = postmaster;
  last_deadline_ = deadline_mono_ms;
  if (!send_last()) {
    // Logged (once) and repaired by the next supervise(); the agent calls
    // it every loop turn, long before a lease deadline.
    PW_DEBUG("fencer", "arm pid=%d deadline=%lld failed: %s", static_cast<int>(postmaster),
             static_cast<long long>(deadline_mono_ms), restart_why_.c_str());
  }
}

FencerHealth Fencer::supervise() {
  std::string died;  // why the current fencer is being replaced ("" = it is fine)
  if (child_ > 0) {
    int st = 0;
    pid_t r = waitpid(child_, &st, WNOHANG);
    if (r == child_) {
      died = "fencer pid=" + std::to_string(child_) + " " + describe_status(st);
      child_ = -1;  // reaped: discard_child must not signal a recycled pid
    } else if (r < 0 && errno == ECHILD) {
      died = "fencer pid=" + std::to_string(child_) + " vanished (reaped elsewhere)";
      child_ = -1;
    } else if (!restart_why_.empty()) {
      died = "fencer pid=" + std::to_string(child_) + " " + restart_why_;
    } else {
      return health_;  // running, and took the last order
    }
  }
  // Here the fencer is dead, unreachable, or an earlier restart failed
  // (child_ == -1 and died == ""): start a new one.
  discard_child();
  restart_why_.clear();
  std::string why;
  if (!spawn(&why)) {
    if (health_.alive) {  // log the loss once, not every loop turn
      PW_ERROR("fencer", "%s; restart failed: %s (no fencing while the agent is frozen)",
               died.c_str(), why.c_str());
      health_.last_failure = died + "; restart failed: " + why;
    }
    health_.alive = false;
    return health_;
  }
  if (!died.empty()) health_.last_failure = died;
  health_.alive = true;
  ++health_.restarts;
  bool resent = send_last();
  PW_WARN("fencer", "%s; restarted as pid=%d restarts=%llu order pid=%d deadline=%lld%s",
          health_.last_failure.c_str(), static_cast<int>(child_),
          static_cast<unsigned long long>(health_.restarts), static_cast<int>(last_pm_),
          static_cast<long long>(last_deadline_), resent ? "" : " (re-send failed, will retry)");
  return health_;
}

}  // namespace pw::node
