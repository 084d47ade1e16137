// proxy/session.cc — the forwarding half of a session: moving bytes both
// ways, backpressure, the I3 check before client bytes go out, pausing and
// resuming, and session_end(). Setup (accept, hold, connect, refuse) is in
// session_setup.cc.
#include "proxy/session.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/clock.h"
#include "proxy/net.h"
#include "proxy/refusal.h"
#include "proxy/startup_watch.h"
#include "proxy/worker.h"

namespace pw::proxy {

const char* state_name(SessionState s) {
  switch (s) {
    case SessionState::first_bytes: return "first_bytes";
    case SessionState::held: return "held";
    case SessionState::connecting: return "connecting";
    case SessionState::forwarding: return "forwarding";
    case SessionState::refusing: return "refusing";
    case SessionState::lingering: return "lingering";
  }
  return "?";
}

void session_set_state(Session* s, SessionState st) {
  if (s->state == st) return;
  PW_DEBUG("proxy", "session state id=%llu from=%s to=%s", static_cast<unsigned long long>(s->id),
           state_name(s->state), state_name(st));
  s->state = st;
}

Pending* pending_new(const uint8_t* p, uint32_t n, uint32_t cap) {
  auto* q = static_cast<Pending*>(malloc(sizeof(Pending) + cap));
  if (!q) return nullptr;
  q->len = n;
  q->off = 0;
  q->cap = cap;
  if (n) memcpy(q->data(), p, n);
  return q;
}

// ---- event arming -------------------------------------------------------

void session_disarm(Session* s, bool client) {
  short& flags = client ? s->cflags : s->sflags;
  if (flags) event_del(client ? &s->cev : &s->sev);
  flags = 0;
}

/// (Re)arms the client or server event. A timer without fd uses fd -1 and
/// flags EV_TIMEOUT. `timeout_ms` < 0: no timeout.
void session_arm(Session* s, bool client, int fd, short flags, event_callback_fn cb, int64_t timeout_ms) {
  session_disarm(s, client);
  event* ev = client ? &s->cev : &s->sev;
  event_assign(ev, s->w->base, fd, flags & ~EV_TIMEOUT, cb, s);
  timeval tv{}, *ptv = nullptr;
  if (timeout_ms >= 0) {
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
    ptv = &tv;
  }
  event_add(ev, ptv);
  (client ? s->cflags : s->sflags) = flags ? flags : EV_TIMEOUT;  // non-zero = armed
}

namespace {

void on_client_io(evutil_socket_t, short what, void* arg);
void on_server_io(evutil_socket_t, short what, void* arg);

/// Arms exactly what the forwarding state needs: a side is read only while
/// the opposite direction has nothing pending (backpressure) and, for the
/// client, while the route is usable; a side is watched for writability only
/// while bytes wait for it.
void update_forwarding_io(Session* s) {
  short cw = 0, sw = 0;
  if (!s->c_eof && !s->c2s && s->on_list != OnList::paused && !(s->watch && s->watch->replay_pending()))
    cw |= EV_READ;
  if (s->s2c) cw |= EV_WRITE;
  if (!s->s_eof && !s->s2c) sw |= EV_READ;
  // Queued client bytes are client bytes: they wait while paused (I3).
  if (s->c2s && s->on_list != OnList::paused) sw |= EV_WRITE;
  cw |= cw ? EV_PERSIST : 0;
  sw |= sw ? EV_PERSIST : 0;
  if (cw != s->cflags) {
    if (cw) session_arm(s, true, s->cfd, cw, on_client_io, -1);
    else session_disarm(s, true);
  }
  if (sw != s->sflags) {
    if (sw) session_arm(s, false, s->sfd, sw, on_server_io, -1);
    else session_disarm(s, false);
  }
}

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

void end_errno(Session* s, const char* what, int e, LogLevel level) {
  // Resets and broken pipes are how peers commonly hang up (TLS teardown,
  // a client killed mid-result): normal ends, logged at debug level.
  if (e == ECONNRESET || e == EPIPE) level = LogLevel::debug;
  char buf[160];
  snprintf(buf, sizeof buf, "%s: %s", what, strerror(e));
  session_end(s, buf, level);
}

/// Both directions finished: the session is over.
bool maybe_done(Session* s, const char* reason) {
  if (s->c_eof && s->s_eof && !s->c2s && !s->s2c) {
    session_end(s, reason);
    return true;
  }
  return false;
}

/// Writes `n` bytes to `dst` now; whatever the kernel does not take is kept
/// in `*q` and the source side stops being read until it drains. False if
/// the session ended.
bool send_or_queue(Session* s, int dst, const uint8_t* p, uint32_t n, Pending** q, bool to_server) {
  ssize_t m = send(dst, p, n, MSG_NOSIGNAL);
  if (m == static_cast<ssize_t>(n)) return true;
  if (m < 0) {
    if (!would_block(errno)) {
      end_errno(s, to_server ? "write to server failed" : "write to client failed", errno, LogLevel::info);
      return false;
    }
    m = 0;
  }
  *q = pending_new(p + m, n - static_cast<uint32_t>(m), n - static_cast<uint32_t>(m));
  if (!*q) {
    session_end(s, "out of memory for pending bytes", LogLevel::error);
    return false;
  }
  bump(s->w->stats[int(s->kind)].queued_bytes_now, (*q)->len);
  update_forwarding_io(s);
  return true;
}

/// Drains `*q` into `dst`. When empty, frees it, propagates a pending EOF
/// (half-close) and re-enables reads on the source. False if the session ended.
bool flush(Session* s, int dst, Pending** q, bool to_server) {
  Pending* p = *q;
  if (!p) return true;
  ssize_t m = send(dst, p->data() + p->off, p->len - p->off, MSG_NOSIGNAL);
  if (m < 0) {
    if (would_block(errno)) return true;
    end_errno(s, to_server ? "write to server failed" : "write to client failed", errno, LogLevel::info);
    return false;
  }
  p->off += static_cast<uint32_t>(m);
  drop(s->w->stats[int(s->kind)].queued_bytes_now, static_cast<uint64_t>(m));
  if (p->off < p->len) return true;
  free(p);
  *q = nullptr;
  if (to_server && s->c_eof) shutdown(s->sfd, SHUT_WR);
  if (!to_server && s->s_eof) shutdown(s->cfd, SHUT_WR);
  if (maybe_done(s, to_server ? "client closed" : "server closed")) return false;
  update_forwarding_io(s);
  return true;
}

void pause_session(Session* s, const char* reason) {
  if (s->on_list == OnList::paused) return;
  s->on_list = OnList::paused;
  s->paused_at_ms = mono_ms();
  s->w->paused_added();
  s->lprev = nullptr;
  s->lnext = s->w->paused;
  if (s->w->paused) s->w->paused->lprev = s;
  s->w->paused = s;
  bump(s->w->stats[int(s->kind)].paused_now);
  bump(s->w->stats[int(s->kind)].paused_total);
  // One info line per route that goes stale (not one per session: a
  // partition would otherwise log every connection), details at debug.
  if (s->w->stale_logged != s->w->route_gen) {
    s->w->stale_logged = s->w->route_gen;
    PW_INFO("proxy", "pausing sessions thread=%d epoch=%llu reason=\"%s\" stale_for_ms=%s", s->w->index,
            static_cast<unsigned long long>(s->w->route->route.epoch), reason,
            format_stale_for_ms(s->w->route->route, mono_ms()).c_str());
  }
  PW_DEBUG("proxy", "session paused id=%llu epoch=%llu reason=\"%s\"", static_cast<unsigned long long>(s->id),
           static_cast<unsigned long long>(s->epoch), reason);
  update_forwarding_io(s);
}

void resume_session(Session* s) {
  if (s->on_list != OnList::paused) return;
  session_list_unlink(s);
  PW_DEBUG("proxy", "session resumed id=%llu epoch=%llu", static_cast<unsigned long long>(s->id),
           static_cast<unsigned long long>(s->epoch));
  update_forwarding_io(s);
}

/// Applies judge_session(): false if the session was closed or paused.
bool judge(Session* s, int64_t now_ms) {
  Binding b{s->to_primary, s->epoch, s->backend ? &s->backend->id : nullptr};
  const char* reason = "";
  Verdict v = judge_session(s->w->route->route, b, now_ms, &reason);
  if (v == Verdict::close) {
    ListenerStats& st = s->w->stats[int(s->kind)];
    bump(reason == kReasonEpochChanged ? st.closed_epoch_change : st.closed_backend_removed);
    session_end(s, reason);  // Worker::apply_route logs the count once
    return false;
  }
  if (v == Verdict::pause) {
    pause_session(s, reason);
    return false;
  }
  resume_session(s);
  return true;
}

/// The I3 check before client bytes go out (a read, or a flush of bytes
/// queued earlier): false if the session was paused or closed.
bool client_bytes_may_flow(Session* s) {
  Worker* w = s->w;
  int64_t now = mono_ms();
  if (now >= w->valid_until_ms || (s->to_primary && s->epoch != w->fwd_epoch)) return judge(s, now);
  return true;
}

/// Ends the watch of the server's first message: `forward`, then whatever
/// the watch still withheld, goes to the client. False if the session ended.
bool stop_watch(Session* s, std::string forward) {
  forward += s->watch->release();
  delete s->watch;
  s->watch = nullptr;
  if (forward.empty()) return true;
  return send_or_queue(s, s->cfd, reinterpret_cast<const uint8_t*>(forward.data()),
                       static_cast<uint32_t>(forward.size()), &s->s2c, false);
}

/// The server refused the session with 57P03 before the client saw any of
/// its answer: drop that server and hold the session to try again (the
/// route may move meanwhile), with the client's startup bytes kept for the
/// next server. False (nothing done) when the hold deadline is too close.
bool retry_refused_startup(Session* s) {
  Worker* w = s->w;
  int64_t now = mono_ms();
  const std::string& msg = s->watch->message();
  // Every new session to this server now waits for the shared pace
  // (refusal_backoff.h), this one included.
  BackoffPolicy policy{w->opts.startup_retry_initial_ms, w->opts.startup_retry_max_ms};
  s->backend->refused(s->t_us / 1000, now, policy, msg);
  if (!s->backend->refusing.exchange(true, std::memory_order_relaxed))
    PW_WARN("proxy", "backend refuses new sessions backend=%s:%u error=\"57P03 %s\": holding them and retrying",
            s->backend->id.host.c_str(), s->backend->id.port, msg.c_str());
  if (s->s2c || !session_may_retry(s, now)) return false;
  ListenerStats& st = w->stats[int(s->kind)];
  bump(st.startup_retries);
  PW_DEBUG("proxy", "session startup refused id=%llu backend=%s:%u error=\"%s\"",
           static_cast<unsigned long long>(s->id), s->backend->id.host.c_str(), s->backend->id.port, msg.c_str());
  std::string rest = s->watch->begin_replay();
  session_disarm(s, true);
  if (s->c2s) {
    drop(st.queued_bytes_now, s->c2s->len - s->c2s->off);
    free(s->c2s);
    s->c2s = nullptr;
  }
  session_drop_server(s);
  s->s_eof = false;
  if (!rest.empty()) {
    s->c2s = pending_new(reinterpret_cast<const uint8_t*>(rest.data()), static_cast<uint32_t>(rest.size()),
                         static_cast<uint32_t>(rest.size()));
    if (!s->c2s) {
      session_end(s, "out of memory for the startup replay", LogLevel::error);
      return true;
    }
  }
  s->bytes_c2s = rest.size();
  s->bytes_s2c = 0;
  session_list_unlink(s);  // it may have been paused (the route went stale meanwhile)
  session_hold_for_retry(s, "the server refused the session (57P03)");
  return true;
}

/// Server bytes while its first message is watched (startup_watch.h).
void watch_s2c(Session* s, const uint8_t* p, uint32_t n) {
  std::string fwd, to_server;
  switch (s->watch->server_bytes(p, n, &fwd, &to_server)) {
    case StartupWatch::Step::watching:
      if (!fwd.empty() && !send_or_queue(s, s->cfd, reinterpret_cast<const uint8_t*>(fwd.data()),
                                         static_cast<uint32_t>(fwd.size()), &s->s2c, false))
        return;
      if (!to_server.empty()) {
        // The rest of a replay is client bytes like any other: queued, and
        // flushed by on_server_io after the same I3 check (never while paused).
        if (s->c2s) {  // cannot be: the server answered after reading them
          session_end(s, "startup replay out of order", LogLevel::error);
          return;
        }
        s->c2s = pending_new(reinterpret_cast<const uint8_t*>(to_server.data()),
                             static_cast<uint32_t>(to_server.size()), static_cast<uint32_t>(to_server.size()));
        if (!s->c2s) {
          session_end(s, "out of memory for the startup replay", LogLevel::error);
          return;
        }
        bump(s->w->stats[int(s->kind)].queued_bytes_now, s->c2s->len);
      }
      update_forwarding_io(s);  // the client is read again once the replay is out
      return;
    case StartupWatch::Step::done:
      // Under TLS the server's answer is unseen: it says nothing of whether
      // the server accepts sessions again.
      if (!s->watch->encrypted()) {
        s->backend->backoff_reset();
        if (s->backend->refusing.exchange(false, std::memory_order_relaxed))
          PW_INFO("proxy", "backend accepts sessions again backend=%s:%u", s->backend->id.host.c_str(),
                  s->backend->id.port);
      }
      if (stop_watch(s, std::move(fwd))) update_forwarding_io(s);
      return;
    case StartupWatch::Step::mismatch:
      session_end(s, "the next server answered the SSL request unlike the first (check ssl on every member)",
                  LogLevel::warn);
      return;
    case StartupWatch::Step::refused:
      // Past the hold deadline the client gets the server's own error.
      if (!retry_refused_startup(s) && stop_watch(s, std::move(fwd))) update_forwarding_io(s);
      return;
  }
}

/// Client → server. DESIGN I3: the route is checked before every read of
/// client bytes (the clock read is a vDSO call; reading it here rather than
/// once per loop turn also covers a process resumed from SIGSTOP, whose
/// first callbacks would otherwise see a pre-stop time).
void pump_c2s(Session* s) {
  Worker* w = s->w;
  if (!client_bytes_may_flow(s)) return;
  ssize_t n = recv(s->cfd, w->scratch, w->opts.io_chunk, 0);
  if (n > 0) {
    s->bytes_c2s += static_cast<uint64_t>(n);
    bump(w->stats[int(s->kind)].bytes_c2s, static_cast<uint64_t>(n));
    s->backend->add(s->backend->bytes_c2s, static_cast<uint64_t>(n));
    if (s->watch && !s->watch->client_bytes(w->scratch, static_cast<size_t>(n)) && !stop_watch(s, {}))
      return;  // (no startup exchange is this long: the watch ends)
    send_or_queue(s, s->sfd, w->scratch, static_cast<uint32_t>(n), &s->c2s, true);
  } else if (n == 0) {
    s->c_eof = true;
    shutdown(s->sfd, SHUT_WR);  // c2s is empty: reads are off while it is not
    if (!maybe_done(s, "client closed")) update_forwarding_io(s);
  } else if (!would_block(errno)) {
    if (errno != ECONNRESET) bump(w->stats[int(s->kind)].client_errors);
    end_errno(s, "client read failed", errno, LogLevel::info);
  }
}

/// Server → client (no route check: answers to bytes already sent are
/// harmless and the client is waiting for them).
void pump_s2c(Session* s) {
  Worker* w = s->w;
  ssize_t n = recv(s->sfd, w->scratch, w->opts.io_chunk, 0);
  if (n > 0) {
    s->bytes_s2c += static_cast<uint64_t>(n);
    bump(w->stats[int(s->kind)].bytes_s2c, static_cast<uint64_t>(n));
    s->backend->add(s->backend->bytes_s2c, static_cast<uint64_t>(n));
    if (s->watch) watch_s2c(s, w->scratch, static_cast<uint32_t>(n));
    else send_or_queue(s, s->cfd, w->scratch, static_cast<uint32_t>(n), &s->s2c, false);
  } else if (n == 0) {
    if (s->watch && !stop_watch(s, {})) return;  // what the server said before closing reaches the client
    s->s_eof = true;
    if (!s->s2c) shutdown(s->cfd, SHUT_WR);  // else once it drained (flush)
    if (!maybe_done(s, "server closed")) update_forwarding_io(s);
  } else if (!would_block(errno)) {
    end_errno(s, "server read failed", errno, LogLevel::info);
  }
}

void on_client_io(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<Session*>(arg);
  if ((what & EV_WRITE) && !flush(s, s->cfd, &s->s2c, false)) return;
  if ((what & EV_READ) && !(s->cflags & EV_READ)) return;  // reads were just disabled
  if (what & EV_READ) pump_c2s(s);
}

void on_server_io(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<Session*>(arg);
  if (what & EV_WRITE) {
    // Bytes queued while the route was good must not follow once it is not:
    // after a withdrawal not one more client byte may reach the old primary.
    // (Level-triggered: a pending EV_READ comes back on the next turn.)
    if (s->c2s && !client_bytes_may_flow(s)) return;
    if (!flush(s, s->sfd, &s->c2s, true)) return;
  }
  if ((what & EV_READ) && !(s->sflags & EV_READ)) return;
  if (what & EV_READ) pump_s2c(s);
}

}  // namespace

void session_update_io(Session* s) { update_forwarding_io(s); }

void session_start_forwarding(Session* s) {
  session_disarm(s, true);
  session_disarm(s, false);
  session_set_state(s, SessionState::forwarding);
  if (!s->watch) {
    s->watch = new StartupWatch;
    if (s->c2s) s->watch->client_bytes(s->c2s->data() + s->c2s->off, s->c2s->len - s->c2s->off);
  } else {
    // A replay after a 57P03: c2s kept the startup packet for a refusal
    // while held; what goes now is the watch's (an SSL/GSS request alone
    // first, if the client sent one).
    std::string first = s->watch->replay_start();
    free(s->c2s);
    s->c2s = pending_new(reinterpret_cast<const uint8_t*>(first.data()), static_cast<uint32_t>(first.size()),
                         static_cast<uint32_t>(first.size()));
    if (!s->c2s) {
      session_end(s, "out of memory for the startup replay", LogLevel::error);
      return;
    }
  }
  // The read-only port's first bytes wait in c2s: from now on they are
  // queued bytes like any other (counted, and held back while paused).
  if (s->c2s) bump(s->w->stats[int(s->kind)].queued_bytes_now, s->c2s->len - s->c2s->off);
  update_forwarding_io(s);
}

void session_on_route(Session* s, int64_t now_ms) {
  if (s->state == SessionState::forwarding) {
    judge(s, now_ms);
  } else if (s->state == SessionState::connecting) {
    Binding b{s->to_primary, s->epoch, s->backend ? &s->backend->id : nullptr};
    const char* reason = "";
    if (judge_session(s->w->route->route, b, now_ms, &reason) == Verdict::close) {
      // Nothing was forwarded yet: drop the connect and route afresh.
      PW_DEBUG("proxy", "session connect abandoned id=%llu reason=\"%s\"", static_cast<unsigned long long>(s->id),
              reason);
      session_drop_server(s);
      session_route(s);
    }
  }
}

void session_pause_expired(Session* s) {
  Worker* w = s->w;
  ListenerStats& st = w->stats[int(s->kind)];
  bump(st.closed_pause_timeout);
  uint64_t queued_c2s = s->c2s ? s->c2s->len - s->c2s->off : 0;
  char why[160];
  snprintf(why, sizeof why, "route stale for longer than pause_timeout (%lld ms)",
           static_cast<long long>(w->opts.pause_timeout_ms));
  if (s->bytes_c2s == queued_c2s && s->bytes_s2c == 0) {
    // Nothing reached the server: the client still waits for the answer to
    // its startup packet, so it can be told why, as held clients are.
    drop(st.queued_bytes_now, queued_c2s);
    session_list_unlink(s);
    session_drop_server(s);
    PW_INFO("proxy", "session refused id=%llu reason=\"%s\"", static_cast<unsigned long long>(s->id), why);
    session_refuse(s, "57P03", (std::string("pgwarden: ") + why).c_str());
    return;
  }
  session_end(s, why, LogLevel::info);
}

void session_drop_server(Session* s) {
  session_disarm(s, false);
  if (s->sfd >= 0) close(s->sfd);
  s->sfd = -1;
  if (s->backend_counted) s->backend->sub(s->backend->sessions_now);
  s->backend_counted = false;
}

void session_list_unlink(Session* s) {
  if (s->on_list == OnList::none) return;
  Session*& head = s->on_list == OnList::held ? s->w->held : s->w->paused;
  ListenerStats& st = s->w->stats[int(s->kind)];
  drop(s->on_list == OnList::held ? st.held_now : st.paused_now);
  if (s->lprev) s->lprev->lnext = s->lnext;
  else head = s->lnext;
  if (s->lnext) s->lnext->lprev = s->lprev;
  s->lprev = s->lnext = nullptr;
  s->on_list = OnList::none;
}

void session_end(Session* s, const char* reason, LogLevel level) {
  Worker* w = s->w;
  if (log_level() <= level) {
    std::string peer = peer_name(s->cfd);
    char backend[80] = "-";
    if (s->backend) snprintf(backend, sizeof backend, "%s:%u", s->backend->id.host.c_str(), s->backend->id.port);
    log(level, "proxy",
        "session end id=%llu listener=%s client=%s backend=%s state=%s reason=\"%s\" bytes_in=%llu bytes_out=%llu",
        static_cast<unsigned long long>(s->id), s->kind == ListenerKind::readwrite ? "rw" : "ro", peer.c_str(),
        backend, state_name(s->state), reason, static_cast<unsigned long long>(s->bytes_c2s),
        static_cast<unsigned long long>(s->bytes_s2c));
  }
  session_disarm(s, true);
  session_disarm(s, false);
  if (s->state == SessionState::forwarding) {
    uint64_t q = (s->c2s ? s->c2s->len - s->c2s->off : 0) + (s->s2c ? s->s2c->len - s->s2c->off : 0);
    drop(w->stats[int(s->kind)].queued_bytes_now, q);
  }
  if (s->cfd >= 0) close(s->cfd);
  if (s->sfd >= 0) close(s->sfd);
  session_list_unlink(s);
  ListenerStats& st = w->stats[int(s->kind)];
  if (s->admitted) {
    drop(st.sessions_now);
    w->sh.admitted[int(s->kind)].fetch_sub(1, std::memory_order_relaxed);
  }
  if (s->backend_counted) s->backend->sub(s->backend->sessions_now);
  if (s->prev) s->prev->next = s->next;
  else w->sessions = s->next;
  if (s->next) s->next->prev = s->prev;
  free(s->c2s);
  free(s->s2c);
  delete s->refusal;
  delete s->watch;
  delete s;
  w->maybe_finish_stop();
}

}  // namespace pw::proxy
