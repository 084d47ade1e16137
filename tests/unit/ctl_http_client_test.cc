// tests/unit/ctl_http_client_test.cc — ctl's HTTP client against a scripted
// one-connection server on 127.0.7.9 (or [::1]): what it sends (bearer
// token, body, method), and what it refuses to do with the token —
// follow a redirect, go through a proxy named in the environment — plus
// the messages for an oversize, non-HTTP or missing answer.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cstdlib>
#include <thread>

#include "ctl/http_client.h"

using pw::node::HttpTarget;

namespace {

// Accepts one connection, reads the request (headers and a Content-Length
// body), answers `reply` and closes. What was received is in `request`
// once the object is destroyed or wait() returned.
class OneShot {
 public:
  OneShot(const std::string& reply, bool v6 = false) : reply_(reply) {
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, "127.0.7.9", &a->sin_addr);
      len = sizeof *a;
    }
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0 && listen(fd_, 1) == 0 &&
          getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0;
    if (!ok_) return;
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShot() {
    wait();
    close(fd_);
  }
  bool ok() const { return ok_; }
  HttpTarget target() const {
    HttpTarget t;
    t.host = "127.0.7.9";
    t.port = port_;
    return t;
  }
  uint16_t port() const { return port_; }
  // Joins the server thread; `request` is then complete.
  void wait() {
    if (thread_.joinable()) thread_.join();
  }
  std::string request;

 private:
  void serve() {
    // Bounded: a client that never connects must not hang the test.
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (;;) {
      size_t end = request.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = request.find("Content-Length: ");
        size_t want = cl == std::string::npos ? 0 : strtoul(request.c_str() + cl + 16, nullptr, 10);
        if (request.size() >= end + 4 + want) break;
      }
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    close(c);
  }
  std::string reply_;
  int fd_ = -1;
  bool ok_ = false;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Sets an environment variable for the scope of a test, then restores it.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old, had_ = true;
    setenv(name, value, 1);
  }
  ~EnvVar() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

const std::string kJson = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}";

}  // namespace

TEST_CASE("ctl client: sends method, path, bearer token and JSON body; reads status and body") {
  OneShot srv(kJson);
  REQUIRE(srv.ok());
  auto r = pw::node::http_request(srv.target(), "POST", "/switchover?x=1", "{\"to\":\"n2\"}", "tok-1");
  srv.wait();
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "{\"a\":\"b c\"}");
  const std::string& q = srv.request;
  INFO(q);
  CHECK(q.rfind("POST /switchover?x=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(q.find("\r\nAuthorization: Bearer tok-1\r\n") != std::string::npos);
  CHECK(q.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  CHECK(q.find("\r\nContent-Length: 11\r\n") != std::string::npos);
  CHECK(q.substr(q.size() - 11) == "{\"to\":\"n2\"}");
  CHECK(q.find("Expect:") == std::string::npos);
}

TEST_CASE("ctl client: no token, no Authorization header; OPTIONS and HEAD have no body") {
  {
    OneShot srv(kJson);
    REQUIRE(srv.ok());
    auto r = pw::node::http_request(srv.target(), "OPTIONS", "/primary", "", "");
    srv.wait();
    CHECK(r.status == 200);
    CHECK(srv.request.rfind("OPTIONS /primary HTTP/1.1\r\n", 0) == 0);
    CHECK(srv.request.find("Authorization") == std::string::npos);
    CHECK(srv.request.find("Content-Length") == std::string::npos);
  }
  OneShot srv("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 40\r\n\r\n");  // HEAD: no body follows
  REQUIRE(srv.ok());
  auto r = pw::node::http_request(srv.target(), "HEAD", "/primary", "", "", 5000);
  INFO(r.error);
  CHECK(r.ok);
  CHECK(r.status == 503);
  CHECK(r.body.empty());
}

TEST_CASE("ctl client: a redirect is reported, not followed") {
  // Where the token would go if followed: nothing listens on port 1.
  OneShot srv("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.7.9:1/pause\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(srv.ok());
  auto r = pw::node::http_request(srv.target(), "POST", "/pause", "", "secret");
  INFO(r.error);
  CHECK(r.ok);
  CHECK(r.status == 307);
}

TEST_CASE("ctl client: proxy variables in the environment are ignored") {
  // A proxy that does not exist: going through it would fail to connect.
  EnvVar a("http_proxy", "http://127.0.7.9:1");
  EnvVar b("HTTP_PROXY", "http://127.0.7.9:1");
  EnvVar c("ALL_PROXY", "http://127.0.7.9:1");
  EnvVar d("all_proxy", "http://127.0.7.9:1");
  OneShot srv(kJson);
  REQUIRE(srv.ok());
  auto r = pw::node::http_request(srv.target(), "GET", "/cluster", "", "tok");
  srv.wait();
  INFO(r.error);
  CHECK(r.ok);
  CHECK(r.status == 200);
  // Straight to the node: a proxied request would name the absolute URL.
  CHECK(srv.request.rfind("GET /cluster HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("ctl client: an answer over 64 MiB, a non-HTTP answer and no answer say so with the URL") {
  {
    OneShot srv("HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n{");
    REQUIRE(srv.ok());
    auto r = pw::node::http_request(srv.target(), "GET", "/history", "", "");
    CHECK_FALSE(r.ok);
    CHECK(r.error == "the response from " + srv.target().url() + " exceeds 64 MiB");
  }
  {
    OneShot srv("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    REQUIRE(srv.ok());
    auto r = pw::node::http_request(srv.target(), "GET", "/cluster", "", "");
    CHECK_FALSE(r.ok);
    INFO(r.error);
    CHECK(r.error.rfind(srv.target().url() + " did not answer with HTTP (is it the pgwarden API port", 0) == 0);
  }
  {
    OneShot srv("");
    REQUIRE(srv.ok());
    auto r = pw::node::http_request(srv.target(), "GET", "/cluster", "", "");
    CHECK_FALSE(r.ok);
    CHECK(r.error == srv.target().url() + " closed the connection without answering");
  }
}

TEST_CASE("ctl client: an IPv6 host is bracketed in the URL") {
  OneShot srv(kJson, true);
  if (!srv.ok()) {
    WARN("no IPv6 loopback here: skipped");
    return;
  }
  HttpTarget t;
  t.host = "::1";
  t.port = srv.port();
  auto r = pw::node::http_request(t, "GET", "/cluster", "", "");
  INFO(r.error);
  CHECK(r.ok);
  CHECK(r.status == 200);
}

TEST_CASE("ctl client: HTTPS without a CA file is refused before connecting") {
  HttpTarget t;
  t.tls = true;
  t.host = "127.0.7.9";
  t.port = 1;
  auto r = pw::node::http_request(t, "GET", "/cluster", "", "tok");
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("https://127.0.7.9:1 is HTTPS but no CA file is known", 0) == 0);
  t.ca_file = "/nonexistent/ca.pem";
  r = pw::node::http_request(t, "GET", "/cluster", "", "tok");
  CHECK_FALSE(r.ok);
  INFO(r.error);
  CHECK(r.error.find("https://127.0.7.9:1") != std::string::npos);
}
