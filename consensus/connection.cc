// consensus/connection.cc — see connection.h.
#include "consensus/connection.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "consensus/handshake.h"
#include "consensus/tls_context.h"

namespace pw::consensus {

std::string sockaddr_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return std::string("[") + host + "]:" + std::to_string(port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

Connection::Connection(event_base* base, ConnectionOwner* owner, Dir dir, std::string remote)
    : base_(base), owner_(owner), dir_(dir), remote_(std::move(remote)) {
  created_ms = mono_ms();
  frame_limit_ = kMaxHandshakeFrame;
}

Connection::~Connection() {
  if (connect_ev_) event_free(connect_ev_);
  if (connect_fd_ >= 0) ::close(connect_fd_);
  if (pending_ssl_) SSL_free(pending_ssl_);
  if (bev_) bufferevent_free(bev_);
}

Connection* Connection::dial(event_base* base, ConnectionOwner* owner, const sockaddr* src,
                             socklen_t src_len, const sockaddr* dst, socklen_t dst_len, SSL* ssl,
                             std::string* error) {
  int fd = ::socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    if (ssl) SSL_free(ssl);
    return nullptr;
  }
  // Connect from the node's own address, so peers (and firewalls, pg_hba
  // style rules) see the member address rather than whatever the route picks.
  if (src && ::bind(fd, src, src_len) != 0) {
    *error = "bind " + sockaddr_text(src) + ": " + strerror(errno);
    ::close(fd);
    if (ssl) SSL_free(ssl);
    return nullptr;
  }
  if (::connect(fd, dst, dst_len) != 0 && errno != EINPROGRESS) {
    *error = std::string("connect failed: ") + strerror(errno);
    ::close(fd);
    if (ssl) SSL_free(ssl);
    return nullptr;
  }
  auto* c = new Connection(base, owner, Dir::out, sockaddr_text(dst));
  c->connect_fd_ = fd;
  c->pending_ssl_ = ssl;
  c->connect_ev_ = event_new(base, fd, EV_WRITE, &Connection::connect_cb, c);
  event_add(c->connect_ev_, nullptr);
  return c;
}

Connection* Connection::accept(event_base* base, ConnectionOwner* owner, int fd,
                               const std::string& remote, SSL* ssl) {
  auto* c = new Connection(base, owner, Dir::in, remote);
  c->start_stream(fd, ssl);
  return c;
}

void Connection::connect_cb(int fd, short, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  event_free(c->connect_ev_);
  c->connect_ev_ = nullptr;
  if (err != 0) {
    c->close(std::string("connect failed: ") + strerror(err));
    return;
  }
  c->connect_fd_ = -1;
  SSL* ssl = c->pending_ssl_;
  c->pending_ssl_ = nullptr;
  c->start_stream(fd, ssl);
}

void Connection::start_stream(int fd, SSL* ssl) {
  int one = 1;
  // Raft messages are small and latency-bound: never wait to coalesce.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (ssl) {
    state_ = State::securing;
    bev_ = bufferevent_openssl_socket_new(
        base_, fd, ssl, dir_ == Dir::out ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
        BEV_OPT_CLOSE_ON_FREE);
    if (bev_) bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  } else {
    state_ = State::open;
    bev_ = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  }
  if (!bev_) {
    if (ssl) SSL_free(ssl);
    ::close(fd);
    close("cannot create bufferevent");
    return;
  }
  bufferevent_setcb(bev_, &Connection::read_cb, &Connection::write_cb, &Connection::event_cb, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  if (state_ == State::open) owner_->on_connected(this);
}

SSL* Connection::ssl() const {
  return bev_ ? bufferevent_openssl_get_ssl(bev_) : nullptr;
}

int Connection::fd() const {
  return bev_ ? bufferevent_getfd(bev_) : -1;
}

void Connection::send_frame(std::string_view payload) {
  if (state_ != State::open || closing()) return;
  uint8_t hdr[kLengthPrefixSize];
  put_frame_header(hdr, static_cast<uint32_t>(payload.size()));
  evbuffer* out = bufferevent_get_output(bev_);
  evbuffer_add(out, hdr, sizeof hdr);
  if (!payload.empty()) evbuffer_add(out, payload.data(), payload.size());
  last_write_ms = mono_ms();
}

size_t Connection::queued_bytes() const {
  return bev_ ? evbuffer_get_length(bufferevent_get_output(bev_)) : 0;
}

void Connection::close(const std::string& reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  if (connect_ev_) {
    event_free(connect_ev_);
    connect_ev_ = nullptr;
  }
  if (connect_fd_ >= 0) {
    ::close(connect_fd_);
    connect_fd_ = -1;
  }
  if (bev_) {
    // Safe inside this bufferevent's own callbacks: libevent holds a
    // reference until the callback returns and drops our callbacks now.
    bufferevent_free(bev_);
    bev_ = nullptr;
  }
  owner_->on_closed(this, reason);
}

void Connection::close_after_flush(const std::string& reason) {
  if (state_ == State::closed || closing()) return;
  closing_reason_ = reason;
  if (!bev_ || queued_bytes() == 0) {
    close(reason);
    return;
  }
  bufferevent_disable(bev_, EV_READ);
}

void Connection::read_cb(bufferevent*, void* arg) {
  static_cast<Connection*>(arg)->on_read();
}

void Connection::on_read() {
  evbuffer* in = bufferevent_get_input(bev_);
  last_read_ms = mono_ms();
  while (state_ == State::open && !closing()) {
    size_t avail = evbuffer_get_length(in);
    if (avail < kLengthPrefixSize) return;
    uint8_t hdr[kLengthPrefixSize];
    evbuffer_copyout(in, hdr, sizeof hdr);
    uint32_t len = get_frame_header(hdr);
    // The limit covers the whole frame, length prefix included (codec.h).
    if (len > frame_limit_ - kLengthPrefixSize) {
      if (!established && hdr[0] == 0x16 && hdr[1] == 0x03) {
        close("peer speaks TLS but this node has no [tls] configured");
      } else if (!established) {
        close("first frame of " + std::to_string(len + kLengthPrefixSize) +
              " bytes exceeds the handshake limit " + std::to_string(frame_limit_) +
              " (not a pgwarden raft peer?)");
      } else {
        close("frame of " + std::to_string(len + kLengthPrefixSize) +
              " bytes exceeds max_frame_size " + std::to_string(frame_limit_));
      }
      return;
    }
    if (avail < kLengthPrefixSize + len) return;
    const unsigned char* p = evbuffer_pullup(in, static_cast<ssize_t>(kLengthPrefixSize + len));
    owner_->on_frame(this,
                     std::string_view(reinterpret_cast<const char*>(p) + kLengthPrefixSize, len));
    if (state_ == State::closed) return;  // the owner closed us; `in` is gone
    evbuffer_drain(in, kLengthPrefixSize + len);
  }
}

void Connection::write_cb(bufferevent*, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  if (c->closing() && c->queued_bytes() == 0) c->close(c->closing_reason_);
}

void Connection::event_cb(bufferevent* bev, short what, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  if (what & BEV_EVENT_CONNECTED) {
    // Only TLS bufferevents report this here (plain TCP finished in connect_cb).
    c->state_ = State::open;
    c->owner_->on_connected(c);
    return;
  }
  std::string reason;
  bool tls = bufferevent_openssl_get_ssl(bev) != nullptr;
  if (what & BEV_EVENT_EOF) {
    reason = c->state_ == State::securing ? "peer closed the connection during the TLS handshake"
                                          : "peer closed the connection";
  } else if (what & BEV_EVENT_TIMEOUT) {
    reason = "timeout";
  } else {
    unsigned long ssl_err = tls ? bufferevent_get_openssl_error(bev) : 0;
    if (tls && (ssl_err || c->state_ == State::securing)) {
      reason = TlsContext::describe_failure(c->ssl(), ssl_err);
      if (c->state_ == State::securing && c->dir_ == Dir::in &&
          ERR_GET_REASON(ssl_err) == SSL_R_WRONG_VERSION_NUMBER)
        reason = "peer does not speak TLS (plaintext peer in a TLS cluster?): " + reason;
    } else {
      int e = EVUTIL_SOCKET_ERROR();
      reason = std::string("socket error: ") + (e ? strerror(e) : "unknown");
    }
  }
  if (c->closing()) reason = c->closing_reason_;
  c->close(reason);
}

}  // namespace pw::consensus
