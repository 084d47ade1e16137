// consensus/transport.cc — see transport.h. Connection lifecycle: dial or
// accept → (TLS) → handshake → established → closed (on_closed, once) →
// deleted later from reap_cb, so no object dies inside its own callback.
#include "consensus/transport.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "base/clock.h"
#include "base/log.h"
#include "consensus/formation.h"
#include "consensus/handshake.h"
#include "consensus/tls_context.h"

namespace pw::consensus {
namespace {

constexpr const char* kComp = "raftnet";
constexpr size_t kMaxPendingInbound = 64;
constexpr int64_t kSweepMs = 100;

void resolve(const std::string& host, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || !res)
    throw std::runtime_error("cannot resolve raft address " + host + ": " + gai_strerror(rc));
  memcpy(out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
}

// The IP part of "1.2.3.4:5678" / "[::1]:5678": refusals are deduplicated
// per remote host because every retry comes from a new source port.
std::string host_of(const std::string& remote) {
  size_t colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

uint64_t rand_below(uint64_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return n == 0 ? 0 : rng() % n;
}

}  // namespace

Transport::Transport(event_base* base, TransportOptions opts)
    : base_(base), opts_(std::move(opts)) {
  bool found_self = false;
  for (const Peer& p : opts_.peers) {
    if (p.id == opts_.self_id) {
      self_ = p;
      found_self = true;
      resolve(p.host, p.port, &self_addr_, &self_addr_len_);
      continue;
    }
    PeerLink& l = peers_[p.id];
    l.owner = this;
    l.peer = p;
    resolve(p.host, p.port, &l.addr, &l.addr_len);
  }
  if (!found_self)
    throw std::runtime_error("raft: self id " + std::to_string(opts_.self_id) +
                             " is not among the configured members");
  if (opts_.tls.enabled()) tls_ = std::make_unique<TlsContext>(opts_.tls);
  reap_ev_ = event_new(base_, -1, 0, &Transport::reap_cb, this);
  sweep_ev_ = event_new(base_, -1, EV_PERSIST, &Transport::sweep_cb, this);
  relisten_ev_ = event_new(base_, -1, 0, &Transport::relisten_cb, this);
  for (auto& [id, l] : peers_) l.retry_ev = event_new(base_, -1, 0, &Transport::retry_cb, &l);
}

Transport::~Transport() {
  stop();
  for (Connection* c : graveyard_) delete c;
  for (auto& [id, l] : peers_) event_free(l.retry_ev);
  event_free(sweep_ev_);
  event_free(relisten_ev_);
  event_free(reap_ev_);
}

void Transport::drop_link(std::map<uint64_t, PeerLink>::iterator it, const char* why) {
  PeerLink& l = it->second;
  PW_INFO(kComp, "peer=%s id=%llu forgotten: %s", l.peer.name.c_str(),
          static_cast<unsigned long long>(l.peer.id), why);
  if (l.out) l.out->close(why);
  if (l.in) l.in->close(why);
  event_del(l.retry_ev);
  event_free(l.retry_ev);
  peers_.erase(it);
}

void Transport::set_peers(const std::vector<Peer>& peers) {
  std::set<uint64_t> want;
  for (const Peer& p : peers) {
    if (p.id == opts_.self_id) continue;
    auto it = peers_.find(p.id);
    if (it != peers_.end()) {
      const Peer& q = it->second.peer;
      if (q.host == p.host && q.port == p.port && q.name == p.name) {
        want.insert(p.id);
        continue;
      }
      drop_link(it, "member address changed");
    }
    sockaddr_storage addr{};
    socklen_t len = 0;
    try {
      resolve(p.host, p.port, &addr, &len);
    } catch (const std::exception& e) {
      PW_ERROR(kComp, "peer=%s id=%llu left out: %s", p.name.c_str(),
               static_cast<unsigned long long>(p.id), e.what());
      continue;
    }
    want.insert(p.id);
    PeerLink& l = peers_[p.id];
    l.owner = this;
    l.peer = p;
    l.addr = addr;
    l.addr_len = len;
    l.retry_ev = event_new(base_, -1, 0, &Transport::retry_cb, &l);
    PW_INFO(kComp, "peer=%s id=%llu added addr=%s:%u", p.name.c_str(),
            static_cast<unsigned long long>(p.id), p.host.c_str(), static_cast<unsigned>(p.port));
    dial(l);
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto next = std::next(it);
    if (!want.count(it->first)) drop_link(it, "no longer a member");
    it = next;
  }
}

const Peer& Transport::self() const {
  return self_;
}

void Transport::start() {
  if (running_) return;
  listener_ = evconnlistener_new_bind(
      base_, &Transport::accept_cb, this,
      LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
      reinterpret_cast<sockaddr*>(&self_addr_), static_cast<int>(self_addr_len_));
  if (!listener_)
    throw std::runtime_error("raft: cannot listen on " +
                             sockaddr_text(reinterpret_cast<sockaddr*>(&self_addr_)) + ": " +
                             strerror(errno));
  evconnlistener_set_error_cb(listener_, &Transport::accept_error_cb);
  running_ = true;
  PW_INFO(kComp, "listening addr=%s cluster=%s member=%s tls=%s",
          sockaddr_text(reinterpret_cast<sockaddr*>(&self_addr_)).c_str(),
          opts_.cluster_name.c_str(), self_.name.c_str(), tls_ ? "on" : "off");
  timeval tv{0, static_cast<suseconds_t>(kSweepMs * 1000)};
  event_add(sweep_ev_, &tv);
  for (auto& [id, l] : peers_) dial(l);
}

void Transport::stop() {
  if (!running_) return;
  running_ = false;
  evconnlistener_free(listener_);
  listener_ = nullptr;
  event_del(sweep_ev_);
  event_del(relisten_ev_);
  for (auto& [id, l] : peers_) {
    event_del(l.retry_ev);
    if (l.out) l.out->close("transport stopped");
    if (l.in) l.in->close("transport stopped");
  }
  std::vector<Connection*> pending = pending_in_;
  for (Connection* c : pending) c->close("transport stopped");
}

Transport::PeerLink* Transport::link(uint64_t id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}
const Transport::PeerLink* Transport::link(uint64_t id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

bool Transport::send(uint64_t to, std::string_view frame) {
  PeerLink* p = link(to);
  if (!p) return false;
  if (frame.size() + kLengthPrefixSize > opts_.max_frame_size) {
    PW_ERROR(kComp, "peer=%s frame of %zu bytes exceeds max_frame_size %llu, not sent",
             p->peer.name.c_str(), frame.size(),
             static_cast<unsigned long long>(opts_.max_frame_size));
    ++p->stats.drops_queue_full;
    return false;
  }
  Connection* c = p->out;
  if (!c || !c->established || c->closing()) {
    ++p->stats.drops_not_connected;
    return false;
  }
  size_t queued = c->queued_bytes();
  // An empty queue always takes one frame, so a frame up to max_frame_size
  // fits even when it is larger than the queue bound.
  if (queued > 0 && queued + kLengthPrefixSize + frame.size() > opts_.max_queue_bytes) {
    if (p->stats.drops_queue_full++ == 0 || !p->dropping) {
      PW_WARN(kComp, "peer=%s send queue full queued=%zu limit=%llu, dropping frames",
              p->peer.name.c_str(), queued, static_cast<unsigned long long>(opts_.max_queue_bytes));
    }
    p->dropping = true;
    return false;
  }
  if (p->dropping) {
    PW_INFO(kComp, "peer=%s send queue drained, sending again dropped=%llu", p->peer.name.c_str(),
            static_cast<unsigned long long>(p->stats.drops_queue_full));
    p->dropping = false;
  }
  c->send_frame(frame);
  ++p->stats.frames_out;
  p->stats.bytes_out += frame.size();
  return true;
}

bool Transport::connected(uint64_t to) const {
  const PeerLink* p = link(to);
  return p && p->out && p->out->established && !p->out->closing();
}

PeerStats Transport::stats(uint64_t id) const {
  const PeerLink* p = link(id);
  if (!p) return {};
  PeerStats s = p->stats;
  s.connected_out = connected(id);
  s.connected_in = p->in != nullptr;
  s.cluster_id = p->cluster_id;
  return s;
}

int64_t Transport::last_heard_ms(uint64_t id) const {
  const PeerLink* p = link(id);
  return p ? p->stats.last_heard_ms : 0;
}

// ---- outbound ----------------------------------------------------------

void Transport::dial(PeerLink& p) {
  if (!running_ || p.out) return;
  sockaddr_storage src = self_addr_;
  if (src.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&src)->sin_port = 0;
  if (src.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&src)->sin6_port = 0;
  std::string err;
  Connection* c = Connection::dial(base_, this, reinterpret_cast<sockaddr*>(&src), self_addr_len_,
                                   reinterpret_cast<sockaddr*>(&p.addr), p.addr_len,
                                   tls_ ? tls_->new_ssl() : nullptr, &err);
  if (!c) {
    ++p.stats.dial_failures;
    if (err != p.last_out_reason) {
      PW_WARN(kComp, "peer=%s dir=out addr=%s connect failed reason=\"%s\" (retrying quietly)",
              p.peer.name.c_str(), sockaddr_text(reinterpret_cast<sockaddr*>(&p.addr)).c_str(),
              err.c_str());
      p.last_out_reason = err;
    }
    schedule_retry(p);
    return;
  }
  c->peer_id = p.peer.id;
  p.out = c;
}

void Transport::schedule_retry(PeerLink& p) {
  if (!running_) return;
  p.backoff_ms =
      p.backoff_ms == 0 ? opts_.backoff_min_ms : std::min(p.backoff_ms * 2, opts_.backoff_max_ms);
  // Jitter in [backoff/2, backoff] so restarted nodes do not dial in lockstep.
  int64_t half = p.backoff_ms / 2;
  int64_t delay = half + static_cast<int64_t>(rand_below(static_cast<uint64_t>(half) + 1));
  timeval tv{static_cast<time_t>(delay / 1000), static_cast<suseconds_t>((delay % 1000) * 1000)};
  event_add(p.retry_ev, &tv);
}

void Transport::retry_cb(int, short, void* arg) {
  auto* p = static_cast<PeerLink*>(arg);
  p->owner->reconnect(*p);
}

void Transport::reconnect(PeerLink& p) {
  ++p.stats.reconnects;
  dial(p);
}

void Transport::on_connected(Connection* c) {
  if (c->dir() != Connection::Dir::out) return;  // inbound waits for the peer's hello
  // Unacknowledged data for this long means the peer is gone without a FIN
  // (host down, partition): let the kernel fail the connection so we redial.
  unsigned int user_timeout = static_cast<unsigned int>(opts_.idle_timeout_ms);
  setsockopt(c->fd(), IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
  HandshakeMsg hello;
  hello.kind = HandshakeKind::hello;
  hello.node_id = self_.id;
  hello.cluster = opts_.cluster_name;
  hello.node_name = self_.name;
  PeerLink* p = link(c->peer_id);
  if (!p || !p->legacy_hello) hello.cluster_id = opts_.cluster_id;
  c->send_frame(encode_handshake(hello));
}

std::string Transport::check_cluster_id(PeerLink& p, std::optional<uint64_t> theirs) {
  p.cluster_id = theirs.value_or(0);
  std::string why;
  if (theirs && *theirs != 0 && *theirs != opts_.cluster_id) {
    if (opts_.cluster_id != 0) {
      why = cluster_id_mismatch(self_.name, opts_.cluster_id, p.peer.name, *theirs);
      if (p.mismatch_logged != *theirs) {
        p.mismatch_logged = *theirs;
        PW_ERROR(kComp, "peer=%s refused: %s", p.peer.name.c_str(), why.c_str());
      }
    } else if (formation_check_) {
      // We have no id yet: the peer's must be confirmed by enough voters.
      why = formation_check_(p.peer.id, *theirs);
      if (!why.empty() && p.unconfirmed_logged != *theirs) {
        p.unconfirmed_logged = *theirs;
        PW_WARN(kComp, "peer=%s not admitted: %s", p.peer.name.c_str(), why.c_str());
      } else if (why.empty() && p.unconfirmed_logged == *theirs) {
        p.unconfirmed_logged = 0;
        PW_INFO(kComp, "peer=%s admitted: its cluster id %s is confirmed by enough voters now",
                p.peer.name.c_str(), cluster_id_text(*theirs).c_str());
      }
    }
  }
  if (!why.empty()) {
    note_identity_refusal(p, why, false);
  } else if (!p.stats.refused_by_peer) {
    p.stats.identity_refusal.clear();  // what we held against it is gone
  }
  return why;
}

void Transport::note_identity_refusal(PeerLink& p, const std::string& why, bool by_peer) {
  p.stats.identity_refusal = why;
  p.stats.refused_by_peer = by_peer;
  p.stats.identity_refused_ms = mono_ms();
}

void Transport::set_cluster_id(uint64_t id) {
  if (id == 0 || id == opts_.cluster_id) return;
  opts_.cluster_id = id;
  for (auto& [pid, p] : peers_) {
    if (p.cluster_id == 0 || p.cluster_id == id) continue;
    std::string why = check_cluster_id(p, p.cluster_id);
    if (p.out) p.out->close(why);
    if (p.in) p.in->close(why);
  }
}

uint64_t Transport::peer_cluster_id(uint64_t peer) const {
  const PeerLink* p = link(peer);
  return p ? p->cluster_id : 0;
}

void Transport::handle_accept(Connection* c, PeerLink& p, std::string_view payload) {
  std::string err;
  auto m = decode_handshake(payload, &err);
  if (!m) return c->close("malformed handshake reply: " + err);
  if (m->version != kProtocolVersion)
    return c->close("peer speaks raft protocol version " + std::to_string(m->version) +
                    ", this node speaks " + std::to_string(kProtocolVersion));
  if (m->kind == HandshakeKind::reject) {
    if (m->reason.find(kTrailingBytesError) != std::string::npos && !p.legacy_hello) {
      // A version from before cluster ids: redial without the field. The
      // cluster id is then not checked on this connection (docs/consensus.md).
      PW_WARN(kComp, "peer=%s predates cluster ids: redialing without the cluster id",
              p.peer.name.c_str());
      p.legacy_hello = true;
    }
    if (m->reason.rfind(kClusterIdMismatch, 0) == 0 ||
        m->reason.rfind(kUnconfirmedClusterId, 0) == 0)
      note_identity_refusal(p, m->reason, true);  // our state is what it refuses
    return c->close("refused by peer: " + m->reason);
  }
  if (m->kind != HandshakeKind::accept) return c->close("unexpected handshake message from peer");
  if (m->cluster != opts_.cluster_name || m->node_id != p.peer.id || m->node_name != p.peer.name)
    return c->close("peer at " + c->remote() + " is '" + m->node_name + "' (id " +
                    std::to_string(m->node_id) + ") of cluster '" + m->cluster + "', expected '" +
                    p.peer.name + "' (id " + std::to_string(p.peer.id) + ") of cluster '" +
                    opts_.cluster_name + "'");
  if (tls_) {
    std::string why = TlsContext::cert_names_member(c->ssl(), p.peer.name);
    if (!why.empty()) return c->close("peer certificate mismatch: " + why);
  }
  if (std::string why = check_cluster_id(p, m->cluster_id); !why.empty()) return c->close(why);
  c->established = true;
  c->established_ms = mono_ms();
  c->set_frame_limit(opts_.max_frame_size);
  ++p.stats.connects;
  p.last_out_reason.clear();
  p.stats.identity_refusal.clear();  // both sides admitted each other
  p.stats.refused_by_peer = false;
  PW_INFO(kComp, "peer=%s dir=out connected addr=%s tls=%s", p.peer.name.c_str(),
          c->remote().c_str(), tls_ ? "on" : "off");
}

// ---- inbound -----------------------------------------------------------

void Transport::accept_cb(evconnlistener*, int fd, sockaddr* addr, int, void* arg) {
  auto* t = static_cast<Transport*>(arg);
  std::string remote = sockaddr_text(addr);
  if (!t->running_ || t->pending_in_.size() >= kMaxPendingInbound) {
    ::close(fd);
    t->log_inbound_refusal(host_of(remote), "addr=" + remote,
                           "too many connections waiting for their handshake");
    return;
  }
  Connection* c =
      Connection::accept(t->base_, t, fd, remote, t->tls_ ? t->tls_->new_ssl() : nullptr);
  if (!c->closed()) t->pending_in_.push_back(c);
}

void Transport::accept_error_cb(evconnlistener*, void* arg) {
  auto* t = static_cast<Transport*>(arg);
  int e = EVUTIL_SOCKET_ERROR();
  t->log_inbound_refusal("accept", "listener", std::string("accept failed: ") + strerror(e));
  // Out of descriptors (EMFILE/ENFILE) the listening socket stays readable:
  // pause accepting for a moment instead of spinning on the error.
  evconnlistener_disable(t->listener_);
  timeval tv{0, 500 * 1000};
  event_add(t->relisten_ev_, &tv);
}

void Transport::relisten_cb(int, short, void* arg) {
  auto* t = static_cast<Transport*>(arg);
  if (t->running_ && t->listener_) evconnlistener_enable(t->listener_);
}

void Transport::log_inbound_refusal(const std::string& key, const std::string& what,
                                    const std::string& reason) {
  auto it = refusal_log_.find(key);
  if (it != refusal_log_.end() && it->second == reason) return;
  if (refusal_log_.size() > 1024) refusal_log_.clear();  // scanners must not grow this forever
  refusal_log_[key] = reason;
  PW_WARN(kComp, "refused inbound %s reason=\"%s\" (logged once until it changes)", what.c_str(),
          reason.c_str());
}

void Transport::refuse(Connection* c, const std::string& reason) {
  HandshakeMsg rej;
  rej.kind = HandshakeKind::reject;
  rej.reason = reason;
  c->send_frame(encode_handshake(rej));
  c->close_after_flush(reason);
}

void Transport::handle_hello(Connection* c, std::string_view payload) {
  std::string err;
  auto m = decode_handshake(payload, &err);
  if (!m) return refuse(c, "malformed handshake: " + err);
  std::string who = "'" + m->node_name + "' (id " + std::to_string(m->node_id) + ")";
  if (m->version != kProtocolVersion)
    return refuse(c, "peer speaks raft protocol version " + std::to_string(m->version) +
                         ", this node speaks " + std::to_string(kProtocolVersion));
  if (m->kind != HandshakeKind::hello) return refuse(c, "expected a hello handshake");
  if (m->cluster != opts_.cluster_name)
    return refuse(c, "cluster name mismatch: peer " + who + " belongs to cluster '" + m->cluster +
                         "', this node to '" + opts_.cluster_name + "'");
  if (m->node_id == self_.id)
    return refuse(c, "peer " + who + " claims to be this node (" + self_.name + ")");
  PeerLink* p = link(m->node_id);
  if (!p)
    return refuse(c, "peer " + who + " is not a member of cluster '" + opts_.cluster_name + "'");
  if (p->peer.name != m->node_name)
    return refuse(c, "member id " + std::to_string(m->node_id) + " is '" + p->peer.name +
                         "' here, peer claims '" + m->node_name +
                         "' (members differ in the configs)");
  if (tls_) {
    std::string why = TlsContext::cert_names_member(c->ssl(), p->peer.name);
    if (!why.empty()) {
      ++p->stats.refusals;
      return refuse(c, "peer " + who + " certificate mismatch: " + why);
    }
  }
  if (std::string why = check_cluster_id(*p, m->cluster_id); !why.empty()) {
    ++p->stats.refusals;
    return refuse(c, why);
  }
  HandshakeMsg acc;
  acc.kind = HandshakeKind::accept;
  acc.node_id = self_.id;
  acc.cluster = opts_.cluster_name;
  acc.node_name = self_.name;
  if (m->cluster_id) acc.cluster_id = opts_.cluster_id;  // a legacy dialer gets a legacy accept
  c->send_frame(encode_handshake(acc));
  c->peer_id = p->peer.id;
  c->established = true;
  c->established_ms = mono_ms();
  c->set_frame_limit(opts_.max_frame_size);
  pending_in_.erase(std::remove(pending_in_.begin(), pending_in_.end(), c), pending_in_.end());
  refusal_log_.erase(host_of(c->remote()));
  Connection* old = p->in;
  p->in = c;
  // A peer redials when it believes its connection died; the old one is
  // then half-dead at best. Keep only the newest.
  if (old) old->close("replaced by a newer connection from the peer");
  PW_INFO(kComp, "peer=%s dir=in connected addr=%s tls=%s", p->peer.name.c_str(),
          c->remote().c_str(), tls_ ? "on" : "off");
}

// ---- both directions ---------------------------------------------------

void Transport::on_frame(Connection* c, std::string_view payload) {
  if (!c->established) {
    if (c->dir() == Connection::Dir::in) {
      handle_hello(c, payload);
    } else if (PeerLink* p = link(c->peer_id)) {
      handle_accept(c, *p, payload);
    }
    return;
  }
  PeerLink* p = link(c->peer_id);
  if (!p) return;
  p->stats.last_heard_ms = c->last_read_ms;
  // The acceptor sends nothing after its accept; anything else on an
  // outbound connection is ignored (room for later protocol additions).
  if (c->dir() != Connection::Dir::in || payload.empty()) return;
  ++p->stats.frames_in;
  p->stats.bytes_in += payload.size();
  if (!handler_) return;
  std::string err = handler_(p->peer.id, payload);
  if (!err.empty() && !c->closed()) c->close("malformed frame: " + err);
}

void Transport::on_closed(Connection* c, const std::string& reason) {
  pending_in_.erase(std::remove(pending_in_.begin(), pending_in_.end(), c), pending_in_.end());
  PeerLink* p = link(c->peer_id);
  if (c->dir() == Connection::Dir::out) {
    if (p && p->out == c) {
      p->out = nullptr;
      if (c->established) {
        PW_INFO(kComp, "peer=%s dir=out disconnected reason=\"%s\"", p->peer.name.c_str(),
                reason.c_str());
        // A connection that lived a while resets the back-off; one that dies
        // right after its handshake keeps doubling it (no tight flap loop).
        if (mono_ms() - c->established_ms >= opts_.backoff_max_ms) p->backoff_ms = 0;
        p->dropping = false;
      } else {
        ++p->stats.dial_failures;
        if (reason != p->last_out_reason) {
          PW_WARN(kComp,
                  "peer=%s dir=out addr=%s connection failed reason=\"%s\" "
                  "(logged once until it changes)",
                  p->peer.name.c_str(), c->remote().c_str(), reason.c_str());
          p->last_out_reason = reason;
        }
      }
      schedule_retry(*p);
    }
  } else if (c->established) {
    if (p && p->in == c) p->in = nullptr;
    if (p)
      PW_INFO(kComp, "peer=%s dir=in disconnected addr=%s reason=\"%s\"", p->peer.name.c_str(),
              c->remote().c_str(), reason.c_str());
  } else if (reason != "transport stopped") {
    log_inbound_refusal(host_of(c->remote()), "addr=" + c->remote(), reason);
  }
  reap_later(c);
}

void Transport::reap_later(Connection* c) {
  graveyard_.push_back(c);
  event_active(reap_ev_, 0, 0);
}

void Transport::reap_cb(int, short, void* arg) {
  auto* t = static_cast<Transport*>(arg);
  std::vector<Connection*> dead;
  dead.swap(t->graveyard_);
  for (Connection* c : dead) delete c;
}

void Transport::sweep_cb(int, short, void* arg) {
  static_cast<Transport*>(arg)->sweep();
}

void Transport::sweep() {
  int64_t now = mono_ms();
  std::vector<Connection*> pending = pending_in_;
  for (Connection* c : pending)
    if (now - c->created_ms > opts_.handshake_timeout_ms) c->close("handshake timed out");
  for (auto& [id, p] : peers_) {
    if (Connection* c = p.out) {
      if (!c->established) {
        if (now - c->created_ms > opts_.handshake_timeout_ms)
          c->close("connect/handshake timed out after " +
                   std::to_string(opts_.handshake_timeout_ms) + " ms");
      } else if (now - c->last_write_ms >= opts_.keepalive_ms && c->queued_bytes() == 0) {
        c->send_frame({});  // keepalive: tells the peer we are alive
      }
    }
    if (Connection* c = p.in) {
      int64_t last = std::max(c->last_read_ms, c->established_ms);
      if (now - last > opts_.idle_timeout_ms)
        c->close("nothing received for " + std::to_string(now - last) + " ms");
    }
  }
}

}  // namespace pw::consensus
