// proxy/net.h — socket plumbing for the proxy threads: listeners, backend
// connects, socket options. Thin wrappers that return -1 and an error text
// instead of throwing, so they are safe inside libevent callbacks.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace pw::proxy {

/// A resolved socket address.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

/// Resolves host (an IP address, or a name looked up with getaddrinfo, which
/// may block: call it off the proxy threads) and port. False + *err on failure.
bool resolve_address(const std::string& host, uint16_t port, SockAddr* out, std::string* err);

/// Parses a numeric host (IPv4 or IPv6 literal) and port without any
/// lookup, so it never blocks: safe on any thread. False + *err otherwise.
bool parse_numeric_address(const std::string& host, uint16_t port, SockAddr* out, std::string* err);

/// A non-blocking listening socket bound to addr:port. `reuseport` sets
/// SO_REUSEPORT (one listener per proxy thread). -1 + *err on failure.
int listen_socket(const SockAddr& addr, bool reuseport, std::string* err);

/// The local port a socket is bound to (0 on error).
uint16_t local_port(int fd);

/// TCP_NODELAY (a proxy must not add Nagle delays to small protocol
/// messages) and keepalive (finds peers that vanished without a FIN).
void tune_socket(int fd);

/// Starts a non-blocking connect. Returns the fd; *in_progress tells whether
/// completion must be awaited (EV_WRITE + SO_ERROR). -1 + *err on failure.
int connect_start(const SockAddr& addr, bool* in_progress, int* err);

/// SO_ERROR of a socket whose connect completed (0 = connected).
int socket_error(int fd);

/// "ip:port" of the peer, or "?" (for log lines).
std::string peer_name(int fd);
std::string addr_name(const SockAddr& a);

}  // namespace pw::proxy
