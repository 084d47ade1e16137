// pgctl/process_watch.cc — see process_watch.h.
#include "pgctl/process_watch.h"

#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace pw::pgctl {
namespace {

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

ProcessWatch::ProcessWatch(event_base* base, pid_t pid, bool is_child, ExitFn on_exit)
    : base_(base), pid_(pid), is_child_(is_child), on_exit_(std::move(on_exit)) {
  pidfd_ = open_pidfd(pid);
  if (pidfd_ >= 0) {
    ev_ = event_new(base_, pidfd_, EV_READ | EV_PERSIST, &ProcessWatch::on_event, this);
    event_add(ev_, nullptr);
  } else {
    // No pidfd (old kernel, or the process is already gone): poll.
    ev_ = event_new(base_, -1, EV_PERSIST, &ProcessWatch::on_event, this);
    timeval tv{0, 100 * 1000};
    event_add(ev_, &tv);
  }
}

ProcessWatch::~ProcessWatch() {
  if (ev_) event_free(ev_);
  if (pidfd_ >= 0) ::close(pidfd_);
}

bool ProcessWatch::signal(int sig) {
  if (exited_) return false;
#ifdef SYS_pidfd_send_signal
  if (pidfd_ >= 0) return ::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) == 0;
#endif
  return ::kill(pid_, sig) == 0;
}

void ProcessWatch::on_event(int, short, void* arg) {
  static_cast<ProcessWatch*>(arg)->check();
}

void ProcessWatch::poll_now() {
  check();
}

void ProcessWatch::check() {
  if (exited_) return;
  int status = -1;
  bool gone = false;
  if (is_child_) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      gone = true;
    } else if (r < 0 && errno == ECHILD) {
      // Someone else reaped it (SIGCHLD set to SIG_IGN, or a waitpid(-1)
      // elsewhere): it is gone, its status is lost.
      gone = true;
      status = -1;
    }
  } else {
    if (pidfd_ >= 0) {
      // The pidfd becomes readable once the process has terminated (a
      // zombie that its own parent has not reaped yet still answers kill(0)).
      pollfd p{pidfd_, POLLIN, 0};
      gone = ::poll(&p, 1, 0) > 0;
    } else {
      gone = ::kill(pid_, 0) != 0 && errno == ESRCH;
    }
  }
  if (!gone) return;
  exited_ = true;
  if (ev_) {
    event_free(ev_);
    ev_ = nullptr;
  }
  ExitFn fn = std::move(on_exit_);
  on_exit_ = nullptr;
  if (fn) fn(status);  // may destroy *this
}

}  // namespace pw::pgctl
