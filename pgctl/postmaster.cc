// pgctl/postmaster.cc — see postmaster.h.
#include "pgctl/postmaster.h"

#include <event2/event.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/clock.h"
#include "base/log.h"
#include "pgctl/child.h"
#include "pgctl/defer.h"
#include "pgctl/pidfile.h"
#include "pgctl/postgres.h"
#include "pgctl/process_watch.h"

namespace pw::pgctl {
namespace {
constexpr int64_t kTickMs = 100;
constexpr int64_t kTeardownWaitMs = 10000;
}  // namespace

Postmaster::Postmaster(event_base* base, std::string bin_dir, std::string data_dir)
    : base_(base), bin_dir_(std::move(bin_dir)), data_dir_(std::move(data_dir)) {
  tick_ev_ = evtimer_new(base_, &Postmaster::on_tick, this);
}

Postmaster::~Postmaster() {
  event_free(tick_ev_);
  if (child_ && child_->running()) {
    pid_t pid = child_->pid();
    PW_WARN("pgctl", "postmaster pid=%d still running at teardown: immediate shutdown", pid);
    ::kill(pid, SIGQUIT);
    // Bounded synchronous wait: this only happens when the daemon itself
    // is going away, and leaving a postmaster behind is worse.
    // (an immediate shutdown waits for its backends before it exits).
    child_->wait_blocking(kTeardownWaitMs);
    // Otherwise ~Child sends SIGKILL to the group and reaps.
  }
  child_.reset();
  if (adopted_ && !adopted_->exited())
    PW_WARN("pgctl", "adopted postmaster pid=%d left running (pgwarden did not start it)",
            adopted_->pid());
}

pid_t Postmaster::pid() const {
  if (child_ && child_->running()) return child_->pid();
  if (adopted_ && !adopted_->exited()) return adopted_->pid();
  return 0;
}

void Postmaster::arm_tick(int64_t ms) {
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(tick_ev_, &tv);
}

void Postmaster::start(int64_t timeout_ms, Done cb) {
  if (running()) {
    pid_t p = pid();
    defer(base_,
          [cb, p] { cb(Result::failure("postmaster already running, pid " + std::to_string(p))); });
    return;
  }
  ChildOptions o;
  o.name = "postgres";
  o.argv = {bin_dir_ + "/postgres", "-D", data_dir_};
  o.pdeathsig = SIGQUIT;   // daemon gone → immediate shutdown (I2)
  o.signal_group = false;  // shutdown modes are signals to the postmaster alone
  o.tail_lines = 40;
  std::string err;
  if (child_) {
    // The previous (exited) child: we may be inside its exit callback.
    Child* old = child_.release();
    defer(base_, [old] { delete old; });
  }
  child_ = Child::spawn(
      base_, std::move(o), [this](const ChildExit& ex) { on_child_exit(ex); }, &err);
  if (!child_) {
    defer(base_, [cb, err] { cb(Result::failure("cannot start postgres: " + err)); });
    return;
  }
  adopted_.reset();
  start_cb_ = std::move(cb);
  start_deadline_ = mono_ms() + timeout_ms;
  PW_INFO("pgctl", "postmaster starting pid=%d data_dir=%s", child_->pid(), data_dir_.c_str());
  arm_tick(kTickMs);
}

void Postmaster::adopt(pid_t pid) {
  if (child_) {
    Child* old = child_.release();  // exited (else we would not adopt)
    defer(base_, [old] { delete old; });
  }
  adopted_ = std::make_unique<ProcessWatch>(base_, pid, false,
                                            [this](int status) { on_adopted_exit(status); });
  PW_WARN("pgctl",
          "postmaster adopted pid=%d data_dir=%s: it was not started by pgwarden and "
          "will not die with it until restarted",
          pid, data_dir_.c_str());
}

PostmasterHandle Postmaster::handle() const {
  PostmasterHandle h;
  if (child_ && child_->running()) {
    h.pid = child_->pid();
    h.output_fd = child_->output_fd();
    h.child = true;
  } else if (adopted_ && !adopted_->exited()) {
    h.pid = adopted_->pid();
  }
  return h;
}

void Postmaster::inherit(const PostmasterHandle& h) {
  if (h.pid <= 0 || running()) return;
  if (!h.child) {
    adopt(h.pid);
    return;
  }
  ChildOptions o;
  o.name = "postgres";
  o.argv = {bin_dir_ + "/postgres", "-D", data_dir_};
  o.signal_group = false;
  o.tail_lines = 40;
  child_ = Child::inherit(base_, std::move(o), h.pid, h.output_fd,
                          [this](const ChildExit& ex) { on_child_exit(ex); });
  PW_INFO("pgctl", "postmaster pid=%d kept running across the restart of pgwarden", h.pid);
}

bool Postmaster::send(int sig, bool group) {
  if (child_ && child_->running()) {
    pid_t p = child_->pid();
    bool ok = ::kill(p, sig) == 0;
    if (group) ::kill(-p, sig);
    return ok;
  }
  if (adopted_ && !adopted_->exited()) return adopted_->signal(sig);
  return false;
}

bool Postmaster::reload() {
  return send(SIGHUP, false);
}

void Postmaster::stop(StopMode mode, int64_t step_timeout_ms, Done cb) {
  if (!running()) {
    defer(base_, [cb] { cb(Result::success()); });
    return;
  }
  if (stop_cb_) {
    // Already stopping: chain the new waiter; escalate if asked for harder.
    Done prev = std::move(stop_cb_);
    stop_cb_ = [prev, cb](const Result& r) {
      prev(r);
      cb(r);
    };
    if (mode == StopMode::immediate && stop_step_ < 2) escalate();
    return;
  }
  stop_cb_ = std::move(cb);
  step_timeout_ms_ = step_timeout_ms;
  stop_step_ = mode == StopMode::fast ? 1 : 2;
  int sig = stop_step_ == 1 ? SIGINT : SIGQUIT;
  PW_INFO("pgctl", "postmaster stopping pid=%d mode=%s", pid(),
          mode == StopMode::fast ? "fast" : "immediate");
  send(sig, false);
  step_deadline_ = mono_ms() + step_timeout_ms_;
  arm_tick(kTickMs);
}

void Postmaster::escalate() {
  ++stop_step_;
  step_deadline_ = mono_ms() + step_timeout_ms_;
  if (stop_step_ == 2) {
    PW_WARN("pgctl", "postmaster pid=%d did not stop in time, escalating to immediate", pid());
    send(SIGQUIT, false);
  } else if (stop_step_ == 3) {
    PW_WARN("pgctl", "postmaster pid=%d did not stop in time, sending SIGKILL", pid());
    send(SIGKILL, true);
  }
}

void Postmaster::on_tick(int, short, void* arg) {
  auto* self = static_cast<Postmaster*>(arg);
  if (self->stop_cb_ && self->running()) {
    if (mono_ms() >= self->step_deadline_) {
      if (self->stop_step_ >= 3) {
        self->finish_stop(
            Result::failure("postmaster pid " + std::to_string(self->pid()) + " survived SIGKILL"));
        return;
      }
      self->escalate();
    }
  }
  if (self->start_cb_) self->check_ready();
  if (self->start_cb_ || self->stop_cb_) self->arm_tick(kTickMs);
}

void Postmaster::check_ready() {
  if (!child_ || !child_->running()) return;
  PostmasterPid p;
  if (read_postmaster_pid(data_dir_, &p) && p.pid == child_->pid() &&
      (p.status == "ready" || p.status == "standby")) {
    PW_INFO("pgctl", "postmaster ready pid=%d status=%s", p.pid, p.status.c_str());
    finish_start(Result::success());
    return;
  }
  if (mono_ms() >= start_deadline_) {
    std::string tail;
    for (const auto& l : child_->tail()) tail += " | " + l;
    finish_start(Result::failure("postgres did not accept connections in time (pid " +
                                 std::to_string(child_->pid()) + ", status '" + p.status +
                                 "'); last output:" + tail));
    stop(StopMode::immediate, step_timeout_ms_ > 0 ? step_timeout_ms_ : 10000,
         [](const Result&) {});
  }
}

void Postmaster::finish_start(Result r) {
  Done cb = std::move(start_cb_);
  start_cb_ = nullptr;
  if (cb) cb(r);
}

void Postmaster::finish_stop(Result r) {
  stop_step_ = 0;
  Done cb = std::move(stop_cb_);
  stop_cb_ = nullptr;
  if (cb) cb(r);
}

void Postmaster::on_child_exit(const ChildExit& ex) {
  PW_INFO("pgctl", "postmaster exited pid=%d %s", ex.pid, ex.describe().c_str());
  int status = ex.status;
  std::string error = ex.error_text();
  // Keep the Child object (its tail) until the next start; it is finished.
  if (start_cb_ && !stop_cb_) {
    finish_start(Result::failure("postgres exited during startup: " + error));
    return;
  }
  if (start_cb_) finish_start(Result::failure("postgres stopped during startup"));
  if (stop_cb_) {
    if (stop_step_ > 1)
      PW_WARN("pgctl",
              "postmaster stopped only after escalation (step %d): crash recovery "
              "will run at the next start",
              stop_step_);
    finish_stop(Result::success());
    return;
  }
  if (exit_handler_) exit_handler_(status);
}

void Postmaster::on_adopted_exit(int status) {
  PW_INFO("pgctl", "adopted postmaster exited pid=%d", adopted_ ? adopted_->pid() : 0);
  if (start_cb_ && !stop_cb_) {
    finish_start(Result::failure("adopted postmaster exited"));
    return;
  }
  if (start_cb_) finish_start(Result::failure("postgres stopped during startup"));
  if (stop_cb_) {
    finish_stop(Result::success());
    return;
  }
  if (exit_handler_) exit_handler_(status);
}

}  // namespace pw::pgctl
