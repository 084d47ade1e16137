// proxy/cancel.cc — see cancel.h.
#include "proxy/cancel.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "proxy/net.h"
#include "proxy/pg_wire.h"
#include "proxy/worker.h"

namespace pw::proxy {

struct CancelSender {
  Worker* w;
  event ev;
  int fd;
  uint8_t pkt[wire::kCancelLen];
  std::string target;
};

void cancel_sender_free(CancelSender* c) {
  event_del(&c->ev);
  close(c->fd);
  c->w->cancels.erase(c);
  delete c;
}

namespace {

void on_writable(evutil_socket_t, short what, void* arg) {
  auto* c = static_cast<CancelSender*>(arg);
  if (what & EV_TIMEOUT) {
    PW_WARN("proxy", "cancel request not delivered backend=%s error=\"connect timeout\"", c->target.c_str());
  } else if (int e = socket_error(c->fd); e != 0) {
    PW_WARN("proxy", "cancel request not delivered backend=%s error=\"%s\"", c->target.c_str(), strerror(e));
  } else if (send(c->fd, c->pkt, sizeof c->pkt, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof c->pkt)) {
    PW_WARN("proxy", "cancel request not delivered backend=%s error=\"%s\"", c->target.c_str(), strerror(errno));
  } else {
    PW_DEBUG("proxy", "cancel request delivered backend=%s", c->target.c_str());
  }
  cancel_sender_free(c);
}

bool send_to(Worker* w, const ResolvedBackend& rb, const uint8_t* pkt) {
  if (!rb.resolved) return false;
  bool in_progress = false;
  int err = 0;
  int fd = connect_start(rb.addr, &in_progress, &err);
  if (fd < 0) {
    PW_WARN("proxy", "cancel request not delivered backend=%s error=\"%s\"", addr_name(rb.addr).c_str(),
            strerror(err));
    return false;
  }
  auto* c = new CancelSender{w, {}, fd, {}, addr_name(rb.addr)};
  memcpy(c->pkt, pkt, sizeof c->pkt);
  event_assign(&c->ev, w->base, fd, EV_WRITE, on_writable, c);
  timeval tv{w->opts.connect_timeout_ms / 1000, static_cast<suseconds_t>((w->opts.connect_timeout_ms % 1000) * 1000)};
  event_add(&c->ev, &tv);
  w->cancels.insert(c);
  return true;
}

}  // namespace

int cancel_fan_out(Worker* w, const uint8_t* pkt) {
  const RouteSnapshot& snap = *w->route;
  int n = 0;
  // Every replica, whatever its lag now: a session may have been routed to
  // it when its lag was lower.
  for (const ResolvedBackend& rb : snap.replicas) n += send_to(w, rb, pkt);
  if (w->opts.readonly_fallback && snap.route.has_primary) n += send_to(w, snap.primary, pkt);
  return n;
}

}  // namespace pw::proxy
