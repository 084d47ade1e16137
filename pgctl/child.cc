// pgctl/child.cc — see child.h.
#include "pgctl/child.h"

#include <event2/event.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "pgctl/fs.h"
#include "pgctl/line_splitter.h"
#include "pgctl/process_watch.h"

extern char** environ;

namespace pw::pgctl {
namespace {

constexpr size_t kMaxLine = 1500;  // fits base/log's 2 KB line with its prefix

// Writes a string to fd 2 from the forked child (async-signal-safe).
void child_say(const char* s) {
  ssize_t r = ::write(2, s, std::strlen(s));
  (void)r;
}

void child_say_errno(int err) {
  char buf[16];
  int n = 0;
  char rev[16];
  unsigned v = static_cast<unsigned>(err);
  do {
    rev[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && n < 15);
  for (int i = 0; i < n; ++i) buf[i] = rev[n - 1 - i];
  buf[n] = '\0';
  child_say(buf);
}

void close_inherited_fds() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  struct rlimit rl;
  long max = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536)
    max = static_cast<long>(rl.rlim_cur);
  for (long fd = 3; fd < max; ++fd) ::close(static_cast<int>(fd));
}

// PostgreSQL's server messages ("FATAL:  ...") and its tools' ("pg_rewind:
// error: ...") are logged as warnings so an operator's grep finds them.
bool looks_like_error(const std::string& line) {
  for (const char* marker : {"ERROR:", "FATAL:", "PANIC:", ": error:", "pgwarden: cannot"})
    if (line.find(marker) != std::string::npos) return true;
  return false;
}

}  // namespace

std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    bool replaced = false;
    for (const auto& x : extra)
      if (key_of(x) == key_of(kv)) replaced = true;
    if (!replaced) out.push_back(std::move(kv));
  }
  for (const auto& x : extra) out.push_back(x);
  return out;
}

bool ChildExit::ok() const {
  return !timed_out && status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string ChildExit::describe() const {
  std::string s;
  if (status < 0)
    s = "exited (status unknown)";
  else if (WIFEXITED(status))
    s = "exited with status " + std::to_string(WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    s = "killed by signal " + std::to_string(WTERMSIG(status));
  else
    s = "ended with wait status " + std::to_string(status);
  if (timed_out) s = "timed out (" + s + ")";
  return s;
}

std::string ChildExit::error_text() const {
  std::string s = describe();
  if (!tail.empty()) {
    s += "; last output:";
    for (const auto& l : tail) s += " | " + l;
  }
  return s;
}

Child::Child(event_base* base, ChildOptions opts, ExitFn on_exit)
    : base_(base), opts_(std::move(opts)), on_exit_(std::move(on_exit)) {}

std::unique_ptr<Child> Child::spawn(event_base* base, ChildOptions opts, ExitFn on_exit,
                                    std::string* error) {
  if (opts.argv.empty()) {
    *error = "no command given";
    return nullptr;
  }
  if (::access(opts.argv[0].c_str(), X_OK) != 0) {
    *error = "cannot execute " + opts.argv[0] + ": " + errno_text(errno);
    return nullptr;
  }
  // Everything the child needs is prepared before fork(): after it only
  // async-signal-safe calls are allowed (the daemon has other threads).
  std::vector<std::string> env = merged_env(opts.env);
  std::vector<char*> argv, envp;
  for (auto& a : opts.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();
  int pdeathsig = opts.pdeathsig;

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    *error = "pipe: " + errno_text(errno);
    return nullptr;
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    *error = "open /dev/null: " + errno_text(errno);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return nullptr;
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = "fork: " + errno_text(errno);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    ::close(devnull);
    return nullptr;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    if (pdeathsig != 0) {
      ::prctl(PR_SET_PDEATHSIG, pdeathsig);
      // The parent may have died between fork() and prctl(): then nobody
      // would ever send the signal, so act on it ourselves.
      if (::getppid() != parent) ::_exit(1);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      ::signal(s, SIG_DFL);
    }
    ::dup2(devnull, 0);
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    close_inherited_fds();
    if (cwd && ::chdir(cwd) != 0) {
      int err = errno;
      child_say("pgwarden: cannot chdir to ");
      child_say(cwd);
      child_say(": errno ");
      child_say_errno(err);
      child_say("\n");
      ::_exit(127);
    }
    // The daemon may hold CAP_SYS_NICE as an ambient capability (systemd
    // AmbientCapabilities): PostgreSQL and the tools do not need it.
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    ::execve(argv[0], argv.data(), envp.data());
    int err = errno;
    child_say("pgwarden: cannot execute ");
    child_say(argv[0]);
    child_say(": errno ");
    child_say_errno(err);
    child_say("\n");
    ::_exit(127);
  }
  ::close(pipefd[1]);
  ::close(devnull);
  // Also set the group from the parent: whichever runs first wins, so a
  // signal to -pid sent right after spawn() cannot miss.
  ::setpgid(pid, pid);

  std::unique_ptr<Child> c(new Child(base, std::move(opts), std::move(on_exit)));
  c->attach(pid, pipefd[0]);
  PW_INFO("pgctl", "child=%s pid=%d started cmd=%s", c->opts_.name.c_str(), pid,
          c->opts_.argv[0].c_str());
  return c;
}

std::unique_ptr<Child> Child::inherit(event_base* base, ChildOptions opts, pid_t pid, int out_fd,
                                      ExitFn on_exit) {
  std::unique_ptr<Child> c(new Child(base, std::move(opts), std::move(on_exit)));
  // Passed across execve without close-on-exec; it must not leak into the
  // next programs we start.
  if (out_fd >= 0) ::fcntl(out_fd, F_SETFD, FD_CLOEXEC);
  c->attach(pid, out_fd);
  PW_INFO("pgctl", "child=%s pid=%d taken over from the previous image%s", c->opts_.name.c_str(),
          pid, out_fd >= 0 ? "" : " (without its output)");
  return c;
}

void Child::attach(pid_t pid, int fd) {
  pid_ = pid;
  started_ms_ = mono_ms();
  out_fd_ = fd;
  Child* self = this;
  lines_ = std::make_unique<LineSplitter>(
      opts_.tail_lines, kMaxLine, [self](const std::string& line) {
        if (self->opts_.log_output) {
          if (looks_like_error(line))
            PW_WARN("pgctl", "child=%s pid=%d | %s", self->opts_.name.c_str(), self->pid_,
                    line.c_str());
          else
            PW_INFO("pgctl", "child=%s pid=%d | %s", self->opts_.name.c_str(), self->pid_,
                    line.c_str());
        }
        if (self->opts_.on_line) self->opts_.on_line(line);
      });
  if (out_fd_ >= 0) {
    ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
    out_ev_ = event_new(base_, out_fd_, EV_READ | EV_PERSIST, &Child::on_output, self);
    event_add(out_ev_, nullptr);
  }
  if (opts_.timeout_ms > 0) {
    timeout_ev_ = evtimer_new(base_, &Child::on_timeout, self);
    timeval tv{static_cast<time_t>(opts_.timeout_ms / 1000),
               static_cast<suseconds_t>((opts_.timeout_ms % 1000) * 1000)};
    evtimer_add(timeout_ev_, &tv);
  }
  watch_ = std::make_unique<ProcessWatch>(base_, pid, true,
                                          [self](int status) { self->handle_exit(status); });
}

Child::~Child() {
  if (!exited_ && pid_ > 0) {
    PW_WARN("pgctl", "child=%s pid=%d still running at teardown, killing it", opts_.name.c_str(),
            pid_);
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    watch_.reset();
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  watch_.reset();
  close_output();
  if (timeout_ev_) event_free(timeout_ev_);
  if (kill_ev_) event_free(kill_ev_);
}

bool Child::signal(int sig) {
  if (exited_) return false;
  if (opts_.signal_group && ::kill(-pid_, sig) == 0) return true;
  return ::kill(pid_, sig) == 0;
}

std::vector<std::string> Child::tail() const {
  return lines_->tail();
}

bool Child::wait_blocking(int64_t timeout_ms) {
  if (exited_) return true;
  int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      exited_ = true;
      on_exit_ = nullptr;
      return true;
    }
    if (mono_ms() >= deadline) return false;
    ::usleep(20 * 1000);
  }
}

void Child::on_output(int, short, void* arg) {
  static_cast<Child*>(arg)->drain_output();
}

void Child::drain_output() {
  if (out_fd_ < 0) return;
  char buf[16384];
  for (int rounds = 0; rounds < 64; ++rounds) {  // bounded: never hog the loop
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      lines_->feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // EOF or error: every writer (the child and anything it forked) is gone.
    lines_->flush();
    close_output();
    return;
  }
}

void Child::close_output() {
  if (out_ev_) {
    event_free(out_ev_);
    out_ev_ = nullptr;
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
}

void Child::on_timeout(int, short, void* arg) {
  auto* c = static_cast<Child*>(arg);
  c->timed_out_ = true;
  PW_WARN("pgctl", "child=%s pid=%d timeout_ms=%lld exceeded, sending signal %d",
          c->opts_.name.c_str(), c->pid_, static_cast<long long>(c->opts_.timeout_ms),
          c->opts_.term_signal);
  c->signal(c->opts_.term_signal);
  if (!c->kill_ev_) c->kill_ev_ = evtimer_new(c->base_, &Child::on_kill, c);
  timeval tv{static_cast<time_t>(c->opts_.kill_grace_ms / 1000),
             static_cast<suseconds_t>((c->opts_.kill_grace_ms % 1000) * 1000)};
  evtimer_add(c->kill_ev_, &tv);
}

void Child::on_kill(int, short, void* arg) {
  auto* c = static_cast<Child*>(arg);
  PW_WARN("pgctl", "child=%s pid=%d did not exit within %lld ms of signal %d, sending SIGKILL",
          c->opts_.name.c_str(), c->pid_, static_cast<long long>(c->opts_.kill_grace_ms),
          c->opts_.term_signal);
  c->signal(SIGKILL);
}

void Child::handle_exit(int status) {
  exited_ = true;
  // The pipe may still hold the last lines (often the error message).
  drain_output();
  if (lines_) lines_->flush();
  // Grandchildren may keep the pipe open; we stop listening now.
  close_output();
  if (timeout_ev_) evtimer_del(timeout_ev_);
  if (kill_ev_) evtimer_del(kill_ev_);
  ChildExit ex;
  ex.pid = pid_;
  ex.status = status;
  ex.timed_out = timed_out_;
  ex.tail = lines_->tail();
  PW_INFO("pgctl", "child=%s pid=%d %s after_ms=%lld", opts_.name.c_str(), pid_,
          ex.describe().c_str(), static_cast<long long>(mono_ms() - started_ms_));
  ExitFn fn = std::move(on_exit_);
  on_exit_ = nullptr;
  if (fn) fn(ex);  // may destroy *this
}

}  // namespace pw::pgctl
