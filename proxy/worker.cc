// proxy/worker.cc — see worker.h.
#include "proxy/worker.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/clock.h"
#include "base/log.h"
#include "proxy/cancel.h"
#include "proxy/net.h"
#include "proxy/session.h"

namespace pw::proxy {

Worker::Worker(SharedState& shared, int idx, int rw_fd, int ro_fd, std::shared_ptr<const RouteSnapshot> initial)
    : sh(shared), opts(shared.opts), index(idx) {
  listen_fd_[0] = rw_fd;
  listen_fd_[1] = ro_fd;
  route = std::move(initial);
}

Worker::~Worker() {
  // The thread has exited (join()); free whatever is left.
  while (sessions) session_end(sessions, "proxy destroyed");
  while (!cancels.empty()) cancel_sender_free(*cancels.begin());
  for (int k = 0; k < 2; ++k) {
    if (listen_ev_[k]) event_free(listen_ev_[k]);
    if (listen_fd_[k] >= 0) close(listen_fd_[k]);
  }
  if (wake_ev_) event_free(wake_ev_);
  if (grace_ev_) event_free(grace_ev_);
  if (accept_resume_ev_) event_free(accept_resume_ev_);
  if (pause_ev_) event_free(pause_ev_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (base) event_base_free(base);
  free(scratch);
}

bool Worker::init(std::string* err) {
  event_config* cfg = event_config_new();
  // Only this thread touches the base; wake-ups come through an eventfd.
  event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
  base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  scratch = static_cast<uint8_t*>(malloc(opts.io_chunk));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!base || !scratch || wake_fd_ < 0) {
    *err = std::string("proxy thread setup failed: ") + strerror(errno);
    return false;
  }
  wake_ev_ = event_new(base, wake_fd_, EV_READ | EV_PERSIST, on_wake, this);
  grace_ev_ = evtimer_new(base, on_grace, this);
  accept_resume_ev_ = evtimer_new(base, on_accept_resume, this);
  pause_ev_ = evtimer_new(base, on_pause_timer, this);
  event_add(wake_ev_, nullptr);
  for (int k = 0; k < 2; ++k) {
    if (listen_fd_[k] < 0) continue;
    listen_ev_[k] = event_new(base, listen_fd_[k], EV_READ | EV_PERSIST, on_accept, this);
    event_add(listen_ev_[k], nullptr);
  }
  client_close_watchable = (event_base_get_features(base) & EV_FEATURE_EARLY_CLOSE) != 0;
  if (!client_close_watchable && index == 0)
    PW_INFO("proxy", "event backend %s cannot report a client's close without reading: held clients that leave "
            "are noticed only when their session is routed", event_base_get_method(base));
  valid_until_ms = route->route.valid_until_ms;
  fwd_epoch = route->route.has_primary ? route->route.epoch : 0;
  return true;
}

void Worker::start() {
  thread_ = std::thread([this] {
    if (opts.thread_nice != 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), opts.thread_nice) != 0) {
      PW_INFO("proxy", "proxy thread priority unchanged thread=%d nice=%d error=\"%s\" hint=\"grant CAP_SYS_NICE\"",
              index, opts.thread_nice, strerror(errno));
    }
    event_base_dispatch(base);
    PW_DEBUG("proxy", "proxy thread exits thread=%d", index);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post_route(std::shared_ptr<const RouteSnapshot> snap) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    mailbox_ = std::move(snap);
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void Worker::post_stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_requested_ = true;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void Worker::on_wake(evutil_socket_t fd, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  uint64_t v;
  (void)!read(static_cast<int>(fd), &v, sizeof v);
  std::shared_ptr<const RouteSnapshot> snap;
  bool stop;
  {
    std::lock_guard<std::mutex> lk(w->mu_);
    snap = std::move(w->mailbox_);
    stop = w->stop_requested_;
  }
  if (snap) w->apply_route(std::move(snap));
  if (stop && !w->stopping) w->begin_stop();
}

namespace {
uint64_t closed_by_route(const ListenerStats* st) {
  uint64_t n = 0;
  for (int k = 0; k < 2; ++k)
    n += st[k].closed_epoch_change.load(std::memory_order_relaxed) +
         st[k].closed_backend_removed.load(std::memory_order_relaxed);
  return n;
}
uint64_t paused_count(const ListenerStats* st) {
  return st[0].paused_now.load(std::memory_order_relaxed) + st[1].paused_now.load(std::memory_order_relaxed);
}
}  // namespace

void Worker::apply_route(std::shared_ptr<const RouteSnapshot> snap) {
  bool renewal = route && route->same_topology(*snap);
  route = std::move(snap);
  ++route_gen;
  const Route& r = route->route;
  valid_until_ms = r.valid_until_ms;
  fwd_epoch = r.has_primary ? r.epoch : 0;
  int64_t now = mono_ms();
  uint64_t closed0 = closed_by_route(stats), paused0 = paused_count(stats);
  if (!renewal) {
    for (Session *s = sessions, *next; s; s = next) {
      next = s->next;
      session_on_route(s, now);
    }
  } else {
    for (Session *s = paused, *next; s; s = next) {
      next = s->lnext;
      session_on_route(s, now);
    }
  }
  uint64_t closed = closed_by_route(stats) - closed0, paused_now = paused_count(stats);
  if (!renewal) {
    PW_INFO("proxy",
            "route applied thread=%d epoch=%llu primary=%s:%u has_primary=%d replicas=%zu valid_for_ms=%s "
            "sessions_closed=%llu sessions_paused=%llu",
            index, static_cast<unsigned long long>(r.epoch), r.primary.host.c_str(), r.primary.port,
            r.has_primary ? 1 : 0, r.replicas.size(), format_valid_for_ms(r, now).c_str(),
            static_cast<unsigned long long>(closed), static_cast<unsigned long long>(paused_now));
  } else if (paused_now < paused0) {
    PW_INFO("proxy", "route renewed thread=%d epoch=%llu sessions_resumed=%llu sessions_paused=%llu", index,
            static_cast<unsigned long long>(r.epoch), static_cast<unsigned long long>(paused0 - paused_now),
            static_cast<unsigned long long>(paused_now));
  }
  // Release held connections (they re-hold if the route is still unusable).
  for (Session *s = held, *next; s; s = next) {
    next = s->lnext;
    session_route(s);
  }
}

void Worker::on_accept(evutil_socket_t fd, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  w->accept_some(fd == w->listen_fd_[1] ? ListenerKind::readonly : ListenerKind::readwrite);
}

void Worker::accept_some(ListenerKind kind) {
  int lfd = listen_fd_[int(kind)];
  for (int i = 0; i < 64 && !stopping; ++i) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return;
      int err = errno;
      int64_t now = mono_ms();
      if (now - accept_error_log_ms_ > 1000) {
        accept_error_log_ms_ = now;
        PW_ERROR("proxy", "accept failed listener=%s error=\"%s\"", kind == ListenerKind::readwrite ? "rw" : "ro",
                 strerror(err));
      }
      // Out of descriptors or memory: the listener stays readable, so stop
      // watching it for a moment instead of spinning on accept().
      for (int k = 0; k < 2; ++k)
        if (listen_ev_[k]) event_del(listen_ev_[k]);
      timeval tv{0, 100 * 1000};
      evtimer_add(accept_resume_ev_, &tv);
      return;
    }
    tune_socket(fd);
    session_accept(this, fd, kind);
  }
}

void Worker::on_accept_resume(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  if (w->stopping) return;
  for (int k = 0; k < 2; ++k)
    if (w->listen_ev_[k] && w->listen_fd_[k] >= 0) event_add(w->listen_ev_[k], nullptr);
}

namespace {
timeval ms_to_tv(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}
}  // namespace

void Worker::paused_added() {
  // One timer per thread, not one per session: it fires for the oldest
  // pause and re-arms itself for the next one (on_pause_timer).
  if (evtimer_pending(pause_ev_, nullptr)) return;
  timeval tv = ms_to_tv(opts.pause_timeout_ms);
  evtimer_add(pause_ev_, &tv);
}

void Worker::on_pause_timer(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  int64_t now = mono_ms();
  int64_t next = -1;  // ms until the next pause expires, -1 = none left
  int ended = 0;
  for (Session *s = w->paused, *nx; s; s = nx) {
    nx = s->lnext;
    int64_t left = s->paused_at_ms + w->opts.pause_timeout_ms - now;
    if (left <= 0) {
      session_pause_expired(s);
      ++ended;
    } else if (next < 0 || left < next) {
      next = left;
    }
  }
  if (ended)
    PW_WARN("proxy", "ended sessions paused past pause_timeout thread=%d sessions=%d pause_timeout_ms=%lld epoch=%llu",
            w->index, ended, static_cast<long long>(w->opts.pause_timeout_ms),
            static_cast<unsigned long long>(w->route->route.epoch));
  if (next >= 0) {
    timeval tv = ms_to_tv(next);
    evtimer_add(w->pause_ev_, &tv);
  }
}

void Worker::begin_stop() {
  evtimer_del(accept_resume_ev_);
  evtimer_del(pause_ev_);
  stopping = true;
  PW_INFO("proxy", "proxy thread stopping thread=%d sessions_grace_ms=%lld", index,
          static_cast<long long>(opts.shutdown_grace_ms));
  for (int k = 0; k < 2; ++k) {
    if (listen_ev_[k]) event_del(listen_ev_[k]);
    if (listen_fd_[k] >= 0) close(listen_fd_[k]);
    listen_fd_[k] = -1;
  }
  // Held clients will not get a route from this process any more.
  for (Session *s = held, *next; s; s = next) {
    next = s->lnext;
    session_route(s);
  }
  timeval tv{opts.shutdown_grace_ms / 1000, static_cast<suseconds_t>((opts.shutdown_grace_ms % 1000) * 1000)};
  evtimer_add(grace_ev_, &tv);
  maybe_finish_stop();
}

void Worker::maybe_finish_stop() {
  if (stopping && !sessions) event_base_loopexit(base, nullptr);
}

void Worker::on_grace(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  int n = 0;
  while (w->sessions) {
    session_end(w->sessions, "proxy shutdown: grace period over", LogLevel::debug);
    ++n;
  }
  PW_INFO("proxy", "proxy thread closed sessions after grace thread=%d sessions=%d", w->index, n);
  event_base_loopexit(w->base, nullptr);
}

}  // namespace pw::proxy
