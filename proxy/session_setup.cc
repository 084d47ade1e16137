// proxy/session_setup.cc — everything before a session forwards: admission
// (max_client_connections), the read-only port's first-packet check for
// CancelRequest, holding without a route (watching for the client to leave),
// backend connect with retry, the per-backend pace after 57P03 refusals, and
// refusing in PostgreSQL's protocol (57P03 / 53300).
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "proxy/cancel.h"
#include "proxy/net.h"
#include "proxy/refusal.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace pw::proxy {

namespace {

constexpr int64_t kRetryDelayMs = 250;       // between backend connect attempts
constexpr int64_t kRefusalReadMs = 5000;     // client must send its startup packet within
constexpr int64_t kLingerMs = 2000;          // wait for the client to close after an error

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

void on_first_bytes(evutil_socket_t, short what, void* arg);
void on_hold_timer(evutil_socket_t, short what, void* arg);
void on_connect(evutil_socket_t, short what, void* arg);
void on_refusal_read(evutil_socket_t, short what, void* arg);
void on_linger(evutil_socket_t, short what, void* arg);
void on_client_gone(evutil_socket_t, short what, void* arg);

/// Until it forwards, a session reads nothing from its client (the startup
/// packet waits in the kernel for the server), so only the peer's close is
/// watched: a client that gives up while held or connecting is let go at
/// once instead of keeping its slot and its retries until the hold deadline.
void watch_client_close(Session* s) {
  constexpr short kFlags = EV_CLOSED | EV_PERSIST;
  if (s->w->client_close_watchable && s->cflags != kFlags) session_arm(s, true, s->cfd, kFlags, on_client_gone, -1);
}

/// Wakes the session at the hold deadline, or sooner to try again: after
/// `retry_in_ms` (>= 0), or kRetryDelayMs after a failed connect or a
/// refusal. A new route wakes every held session anyway.
void hold(Session* s, const char* why, int64_t now, int64_t retry_in_ms = -1) {
  Worker* w = s->w;
  ListenerStats& st = w->stats[int(s->kind)];
  if (s->on_list != OnList::held) {
    s->on_list = OnList::held;
    s->lprev = nullptr;
    s->lnext = w->held;
    if (w->held) w->held->lprev = s;
    w->held = s;
    bump(st.held_now);
    if (!s->was_held) {
      s->was_held = true;
      bump(st.held_total);
      PW_DEBUG("proxy", "session held id=%llu why=\"%s\"", ull(s->id), why);
    }
  }
  session_set_state(s, SessionState::held);
  watch_client_close(s);
  int64_t wait = s->deadline_ms - now;
  if (s->last_errno || s->startup_refused) wait = std::min(wait, kRetryDelayMs);
  if (retry_in_ms >= 0) wait = std::min(wait, retry_in_ms);
  session_arm(s, false, -1, 0, on_hold_timer, std::max<int64_t>(wait, 0));
}

void connect_failed(Session* s, int err) {
  Worker* w = s->w;
  ListenerStats& st = w->stats[int(s->kind)];
  bump(st.connect_errors);
  s->backend->add(s->backend->connect_errors);
  if (!s->backend->failing.exchange(true, std::memory_order_relaxed))
    PW_WARN("proxy", "backend unreachable backend=%s:%u error=\"%s\"", s->backend->id.host.c_str(),
            s->backend->id.port, strerror(err));
  PW_DEBUG("proxy", "backend connect failed id=%llu backend=%s:%u error=\"%s\"", ull(s->id),
           s->backend->id.host.c_str(), s->backend->id.port, strerror(err));
  session_drop_server(s);
  s->last_errno = err;
  int64_t now = mono_ms();
  if (now >= s->deadline_ms) {
    char msg[200];
    snprintf(msg, sizeof msg, "pgwarden: could not connect to server %s:%u: %s", s->backend->id.host.c_str(),
             s->backend->id.port, strerror(err));
    bump(st.hold_timeouts);
    session_refuse(s, "57P03", msg);
    return;
  }
  hold(s, "backend connect failed", now);
}

void connected(Session* s) {
  Worker* w = s->w;
  s->startup_refused = false;
  ListenerStats& st = w->stats[int(s->kind)];
  uint64_t us = static_cast<uint64_t>(std::max<int64_t>(mono_us() - s->t_us, 0));
  bump(st.connect_total);
  bump(st.connect_us_sum, us);
  s->backend->add(s->backend->connect_total);
  s->backend->add(s->backend->connect_us_sum, us);
  s->backend->add(s->backend->sessions_total);
  if (s->backend->failing.exchange(false, std::memory_order_relaxed))
    PW_INFO("proxy", "backend reachable again backend=%s:%u", s->backend->id.host.c_str(), s->backend->id.port);
  PW_DEBUG("proxy", "session connected id=%llu backend=%s:%u epoch=%llu connect_us=%llu", ull(s->id),
           s->backend->id.host.c_str(), s->backend->id.port, ull(s->epoch), ull(us));
  session_start_forwarding(s);
}

void start_connect(Session* s, const ResolvedBackend& rb, bool to_primary) {
  Worker* w = s->w;
  s->backend = rb.stats;
  s->to_primary = to_primary;
  s->epoch = w->route->route.epoch;
  s->backend->add(s->backend->sessions_now);  // counted now so that least-connections sees bursts
  s->backend_counted = true;
  s->t_us = mono_us();
  watch_client_close(s);
  if (!rb.resolved) {
    connect_failed(s, EHOSTUNREACH);
    return;
  }
  bool in_progress = false;
  int err = 0;
  int fd = connect_start(rb.addr, &in_progress, &err);
  if (fd < 0) {
    connect_failed(s, err);
    return;
  }
  s->sfd = fd;
  if (!in_progress) {
    connected(s);
    return;
  }
  session_set_state(s, SessionState::connecting);
  int64_t budget = std::max<int64_t>(std::min(w->opts.connect_timeout_ms, s->deadline_ms - mono_ms()), 1);
  // A connect that misses the hold deadline still gets connect_timeout:
  // the client may be routed at the very end of its hold.
  budget = std::max(budget, std::min<int64_t>(w->opts.connect_timeout_ms, 1000));
  session_arm(s, false, fd, EV_WRITE, on_connect, budget);
}

void on_connect(evutil_socket_t fd, short what, void* arg) {
  auto* s = static_cast<Session*>(arg);
  s->sflags = 0;  // a non-persistent event is no longer armed once it fired
  if (what & EV_TIMEOUT) {
    connect_failed(s, ETIMEDOUT);
    return;
  }
  int e = socket_error(static_cast<int>(fd));
  if (e) connect_failed(s, e);
  else connected(s);
}

void on_client_gone(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Session*>(arg);
  session_end(s, s->state == SessionState::held ? "client closed while held" : "client closed while connecting");
}

void on_hold_timer(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Session*>(arg);
  s->sflags = 0;
  session_route(s);
}

/// Read-only port: the first 8 bytes tell a CancelRequest (which must reach
/// every candidate backend) from a session. They are kept in c2s and sent to
/// the backend first, so nothing is lost or reordered.
void on_first_bytes(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<Session*>(arg);
  Worker* w = s->w;
  if (what & EV_TIMEOUT) {
    bump(w->stats[int(s->kind)].client_errors);
    session_end(s, "client sent no startup packet", LogLevel::info);
    return;
  }
  Pending* p = s->c2s;
  // Read no further than the decision needs: the header, and for a
  // CancelRequest its key. Anything else, even bytes that are no
  // PostgreSQL, goes to the backend, which answers it as it would directly.
  bool cancel = wire::packet_head(p->data(), p->len).kind == wire::Packet::cancel_request;
  uint32_t want = static_cast<uint32_t>(cancel ? wire::kCancelLen : wire::kHeaderLen);
  ssize_t n = recv(s->cfd, p->data() + p->len, want - p->len, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    session_end(s, "client closed before its first packet");
    return;
  }
  if (n < 0) return;
  p->len += static_cast<uint32_t>(n);
  s->bytes_c2s += static_cast<uint64_t>(n);
  wire::PacketHead head = wire::packet_head(p->data(), p->len);
  if (head.kind == wire::Packet::need_more) return;
  if (head.kind == wire::Packet::cancel_request) {
    if (p->len < head.size) return;
    bump(w->stats[int(s->kind)].cancel_requests);
    int sent = cancel_fan_out(w, p->data());
    char reason[80];
    snprintf(reason, sizeof reason, "cancel request sent to %d backend(s)", sent);
    session_end(s, reason);
    return;
  }
  session_disarm(s, true);
  session_route(s);
}

/// Feeds client bytes to the scanner and answers; false if the session ended.
bool refusal_feed(Session* s, const uint8_t* p, size_t n) {
  Refusal* r = s->refusal;
  while (n > 0 || s->state == SessionState::refusing) {
    size_t used = 0;
    auto res = r->scan.feed(p, n, &used);
    p += used;
    n -= used;
    switch (res) {
      case wire::Packet::need_more:
        return true;
      case wire::Packet::ssl_request:
      case wire::Packet::gssenc_request:
        if (send(s->cfd, "N", 1, MSG_NOSIGNAL) != 1) {
          session_end(s, "client gone during refusal");
          return false;
        }
        continue;
      case wire::Packet::cancel_request:
        session_end(s, "cancel request with no route");
        return false;
      case wire::Packet::invalid: {
        bump(s->w->stats[int(s->kind)].client_errors);
        char reason[120];
        snprintf(reason, sizeof reason, "bad first packet: %s", r->scan.reason());
        session_end(s, reason, LogLevel::info);
        return false;
      }
      case wire::Packet::startup: {
        // The reply is small; a socket that cannot take it at once is gone.
        (void)send(s->cfd, r->reply.data(), r->reply.size(), MSG_NOSIGNAL);
        PW_INFO("proxy", "session refused id=%llu listener=%s why=\"%s\"", ull(s->id),
                s->kind == ListenerKind::readwrite ? "rw" : "ro", r->why.c_str());
        // Half-close and wait for the client's FIN: closing with unread
        // bytes would send a RST that can destroy the reply in flight.
        shutdown(s->cfd, SHUT_WR);
        session_set_state(s, SessionState::lingering);
        session_arm(s, true, s->cfd, EV_READ | EV_PERSIST, on_linger, kLingerMs);
        return false;
      }
    }
  }
  return true;
}

void on_refusal_read(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<Session*>(arg);
  if (what & EV_TIMEOUT) {
    bump(s->w->stats[int(s->kind)].client_errors);
    session_end(s, "client silent during refusal", LogLevel::info);
    return;
  }
  uint8_t buf[512];
  ssize_t n = recv(s->cfd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    session_end(s, "client closed during refusal");
    return;
  }
  if (n > 0) refusal_feed(s, buf, static_cast<size_t>(n));
}

void on_linger(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<Session*>(arg);
  uint8_t buf[512];
  if (!(what & EV_TIMEOUT)) {
    ssize_t n = recv(s->cfd, buf, sizeof buf, 0);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
  }
  session_end(s, s->refusal ? s->refusal->why.c_str() : "refused");
}

}  // namespace

bool session_may_retry(const Session* s, int64_t now_ms) {
  return !s->w->stopping && now_ms + kRetryDelayMs < s->deadline_ms;
}

void session_hold_for_retry(Session* s, const char* why) {
  s->startup_refused = true;
  s->last_errno = 0;
  hold(s, why, mono_ms());
}

void session_accept(Worker* w, int fd, ListenerKind kind) {
  auto* s = new Session;
  s->w = w;
  s->cfd = fd;
  s->kind = kind;
  s->id = (static_cast<uint64_t>(w->index) << 48) | w->next_id++;
  int64_t now = mono_ms();
  s->deadline_ms = now + w->opts.hold_timeout_ms;
  s->next = w->sessions;
  if (w->sessions) w->sessions->prev = s;
  w->sessions = s;
  ListenerStats& st = w->stats[int(kind)];
  uint32_t before = w->sh.admitted[int(kind)].fetch_add(1, std::memory_order_relaxed);
  if (before >= w->opts.max_client_connections) {
    w->sh.admitted[int(kind)].fetch_sub(1, std::memory_order_relaxed);
    bump(st.refused);
    char msg[120];
    snprintf(msg, sizeof msg, "pgwarden: too many connections (max_client_connections=%u)",
             w->opts.max_client_connections);
    session_refuse(s, "53300", msg);
    return;
  }
  s->admitted = true;
  bump(st.sessions_now);
  bump(st.sessions_total);
  if (kind == ListenerKind::readonly) {
    s->c2s = pending_new(nullptr, 0, static_cast<uint32_t>(wire::kCancelLen));
    if (!s->c2s) {
      session_end(s, "out of memory", LogLevel::error);
      return;
    }
    session_set_state(s, SessionState::first_bytes);
    session_arm(s, true, fd, EV_READ | EV_PERSIST, on_first_bytes, w->opts.hold_timeout_ms);
    return;
  }
  session_route(s);
}

void session_route(Session* s) {
  Worker* w = s->w;
  int64_t now = mono_ms();
  const RouteSnapshot& snap = *w->route;
  std::vector<uint64_t> sessions;
  std::unique_ptr<bool[]> cooling;
  BackendLoad load;
  if (s->kind == ListenerKind::readonly) {
    sessions.reserve(snap.replicas.size());
    cooling = std::make_unique<bool[]>(snap.replicas.size() + 1);
    for (size_t i = 0; i < snap.replicas.size(); ++i) {
      sessions.push_back(snap.replicas[i].stats->sessions_now.load(std::memory_order_relaxed));
      cooling[i] = snap.replicas[i].stats->cooling(now);
    }
    load.replica_sessions = sessions.data();
    load.replica_cooling = cooling.get();
    load.primary_cooling = snap.route.has_primary && snap.primary.stats->cooling(now);
  }
  Pick pick = w->stopping ? Pick{false, -1, "proxy shutting down"}
                          : pick_backend(snap.route, s->kind, now, w->opts.readonly_max_lag,
                                         w->opts.readonly_fallback, load);
  if (pick.ok) {
    const ResolvedBackend& rb = pick.replica >= 0 ? snap.replicas[static_cast<size_t>(pick.replica)] : snap.primary;
    int64_t wait = rb.stats->admit(now);
    if (wait == 0) {
      session_list_unlink(s);
      session_disarm(s, false);
      start_connect(s, rb, pick.replica < 0);
      return;
    }
    // The server refused a session a moment ago: wait for the shared pace
    // (refusal_backoff.h) or a new route rather than fork it another backend.
    if (now >= s->deadline_ms) {
      session_list_unlink(s);
      session_disarm(s, false);
      bump(w->stats[int(s->kind)].hold_timeouts);
      // What the server itself said last: the client gets the error it
      // would have got directly.
      std::string msg = rb.stats->refusal_message();
      session_refuse(s, "57P03", msg.empty() ? "the database system is not accepting connections" : msg.c_str());
      return;
    }
    // Polled, not slept through: the probe's success ends the wait for all.
    hold(s, "the server refused a session recently (57P03)", now, std::min(wait, kRetryDelayMs));
    return;
  }
  if (now >= s->deadline_ms || w->stopping) {
    session_list_unlink(s);
    session_disarm(s, false);
    ListenerStats& st = w->stats[int(s->kind)];
    bump(st.hold_timeouts);
    std::string msg = std::string("pgwarden: ") + pick.why;
    if (s->last_errno && s->backend && !w->stopping) {
      char buf[200];
      snprintf(buf, sizeof buf, "pgwarden: could not connect to server %s:%u: %s", s->backend->id.host.c_str(),
               s->backend->id.port, strerror(s->last_errno));
      msg = buf;
    }
    session_refuse(s, "57P03", msg.c_str());
    return;
  }
  hold(s, pick.why, now);
}

void session_refuse(Session* s, const char* sqlstate, const char* message) {
  session_disarm(s, true);
  session_disarm(s, false);
  auto* r = new Refusal;
  r->reply = wire::error_response("FATAL", sqlstate, message);
  r->why = std::string(sqlstate) + " " + message;
  delete s->refusal;
  s->refusal = r;
  session_set_state(s, SessionState::refusing);
  // The read-only port may already have read the first bytes: scan them first.
  if (s->c2s && s->c2s->len > 0) {
    Pending* p = s->c2s;
    s->c2s = nullptr;
    bool alive = refusal_feed(s, p->data(), p->len);
    free(p);
    if (!alive) return;
    if (s->state != SessionState::refusing) return;
  }
  free(s->c2s);
  s->c2s = nullptr;
  session_arm(s, true, s->cfd, EV_READ | EV_PERSIST, on_refusal_read, kRefusalReadMs);
}

}  // namespace pw::proxy
