// tests/support/tcp_server.h — the accepting half of the small in-process
// servers proxy tests run on loopback: listen on ip:0, accept on a thread of
// its own and serve each connection on a thread of its own. What a
// connection gets (a greeting, an echo, a 57P03) is the test's; the socket
// plumbing and the joins on destruction are here.
#pragma once

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/proxy_sockets.h"

namespace pw::test {

class TcpServer {
 public:
  /// Runs `serve(fd, n)` for the n-th connection (from 1) on its own
  /// thread; `serve` owns fd and closes it. Declare the TcpServer after
  /// everything `serve` uses, so that it is destroyed (joined) first.
  TcpServer(const char* ip, std::function<void(int fd, int n)> serve) : host_(ip), serve_(std::move(serve)) {
    lfd_ = tcp_listen(ip, &port_);
    REQUIRE(lfd_ >= 0);
    thread_ = std::thread([this] { accept_loop(); });
  }
  /// Stops accepting and waits for every connection's `serve` to return:
  /// the owner makes them return (a stop flag checked between reads with a
  /// receive timeout, or the peer's close).
  ~TcpServer() {
    shutdown(lfd_, SHUT_RDWR);
    close(lfd_);
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void accept_loop() {
    for (;;) {
      int fd = accept(lfd_, nullptr, nullptr);
      if (fd < 0) return;
      int n = ++connections_;
      conns_.emplace_back([this, fd, n] { serve_(fd, n); });
    }
  }

  std::string host_;
  std::function<void(int, int)> serve_;
  int lfd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> conns_;
  std::atomic<int> connections_{0};
};

/// Reads and drops what the peer sends until it closes, the connection
/// fails, or `stop` is set (checked every second): a server that only holds
/// its connections open.
inline void drain_until_closed(int fd, const std::atomic<bool>& stop) {
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  while (!stop) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

}  // namespace pw::test
