// tests/unit/node_api_server_test.cc — the API's evhttp server on real
// sockets (127.0.7.1–9, ephemeral ports) over a fake backend: requests
// through ctl's HTTP client, raw garbage and oversize bodies that must be
// refused while the server keeps answering, operator requests that finish
// later / time out / outlive their client or the server, bind and token
// file errors, and HTTPS verified against a test CA and the name the
// certificate carries (a CA-signed certificate for another name gets no token).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "api/server.h"
#include "base/json_io.h"
#include "ctl/http_client.h"
#include "support/api_fake_backend.h"
#include "support/api_loop.h"
#include "support/tmpdir.h"

using pw::node::ApiServer;
using pw::node::ApiServerOptions;
using pw::node::HttpTarget;
using pw::test::FakeApiBackend;
using pw::test::LoopThread;

namespace {

const std::string kToken = "unit-token-42";

// The daemon ignores SIGPIPE (node/daemon.cc); this process hosts the
// server, whose TLS writes to a client that hung up (one that refused the
// certificate right after the handshake) would otherwise kill it.
const bool kIgnoreSigpipe = (signal(SIGPIPE, SIG_IGN), true);

// openssl(1) in `dir`: self-signed CAs, and certificates they sign.
struct TestPki {
  const pw::test::TempDir& dir;
  void sh(const std::string& cmd) const {
    std::string full = "cd " + dir.path() + " && " + cmd + " >/dev/null 2>&1";
    REQUIRE(std::system(full.c_str()) == 0);
  }
  static constexpr const char* kEc = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  void ca(const std::string& name) const {
    sh(std::string("openssl req -x509 ") + kEc + " -keyout " + name + ".key -out " + name + ".pem -days 2 -subj /CN=" +
       name);
  }
  // `name`.pem/.key for subject CN=cn with subjectAltName `san`, signed by ca.pem.
  void cert(const std::string& name, const std::string& cn, const std::string& san) const {
    std::ofstream(dir / (name + ".ext"))
        << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n";
    sh(std::string("openssl req -new ") + kEc + " -keyout " + name + ".key -out " + name + ".csr -subj /CN=" + cn);
    sh("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out " + name +
       ".pem -extfile " + name + ".ext");
  }
};

std::string write_file(const pw::test::TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir / name;
  std::ofstream(path) << text;
  return path;
}

// A server on `addr` over `backend`, started and stopped on the loop.
struct Served {
  LoopThread& loop;
  std::unique_ptr<ApiServer> server;
  Served(LoopThread& l, ApiServerOptions o, pw::node::ApiBackend* b) : loop(l) {
    loop.run([&] {
      server = std::make_unique<ApiServer>(loop.base(), o, b);
      server->start();
    });
  }
  ~Served() {
    loop.run([&] { server.reset(); });
  }
  HttpTarget target(const std::string& addr) const {
    HttpTarget t;
    t.host = addr;
    t.port = server->port();
    return t;
  }
};

// Sends raw bytes, reads until the server closes (or 10 s pass), returns what came back.
std::string raw_exchange(const std::string& addr, uint16_t port, const std::string& bytes, bool half_close = false) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (oversize): read what it said
    off += static_cast<size_t>(n);
  }
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

bool have_ipv6_loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  close(fd);
  return ok;
}

int status_of(const std::string& raw) { return raw.rfind("HTTP/1.", 0) == 0 ? atoi(raw.c_str() + 9) : 0; }

ApiServerOptions options(const std::string& addr, const std::string& token_file) {
  ApiServerOptions o;
  o.address = addr;
  o.port = 0;
  o.token_file = token_file;
  return o;
}

void expect_alive(const HttpTarget& t) {
  auto r = pw::node::http_request(t, "GET", "/liveness", "", "");
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.status == 200);
}

// The same over HTTPS, verifying `name`.
void expect_alive(HttpTarget t, const std::string& ca_file, const std::string& name) {
  t.tls = true;
  t.ca_file = ca_file;
  t.server_name = name;
  expect_alive(t);
}

}  // namespace

TEST_CASE("server: endpoints over real HTTP, HEAD without a body, OPTIONS for HAProxy") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  Served s(loop, options("127.0.7.1", write_file(dir, "token", kToken + "\n")), &b);
  HttpTarget t = s.target("127.0.7.1");

  auto r = pw::node::http_request(t, "GET", "/cluster", "", "");
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  std::string err;
  auto v = pw::parse_json(r.body, &err);
  REQUIRE(v);
  CHECK(v->at("primary") == "n1");

  CHECK(pw::node::http_request(t, "GET", "/primary", "", "").status == 200);
  CHECK(pw::node::http_request(t, "OPTIONS", "/primary", "", "").status == 200);
  CHECK(pw::node::http_request(t, "GET", "/replica", "", "").status == 503);
  CHECK(pw::node::http_request(t, "GET", "/replica?lag=1MB", "", "").status == 503);

  std::string head = raw_exchange("127.0.7.1", t.port, "HEAD /primary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(status_of(head) == 200);
  REQUIRE(head.find("\r\n\r\n") != std::string::npos);
  CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());

  // HAProxy's check, byte for byte (HTTP/1.0, no Host).
  std::string chk = raw_exchange("127.0.7.1", t.port, "OPTIONS /primary HTTP/1.0\r\n\r\n");
  CHECK(status_of(chk) == 200);
  CHECK(chk.find("Content-Type: application/json") != std::string::npos);

  auto m = pw::node::http_request(t, "GET", "/metrics", "", "");
  CHECK(m.status == 200);
  CHECK(m.body.find("pgwarden_epoch 4\n") != std::string::npos);
}

TEST_CASE("server: authentication over the wire") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  Served s(loop, options("127.0.7.2", write_file(dir, "token", kToken)), &b);
  HttpTarget t = s.target("127.0.7.2");
  auto none = pw::node::http_request(t, "POST", "/pause", "", "");
  CHECK(none.status == 401);
  auto wrong = pw::node::http_request(t, "POST", "/pause", "", "nope");
  CHECK(wrong.status == 403);
  auto right = pw::node::http_request(t, "POST", "/switchover", "{\"to\":\"n2\"}", kToken);
  CHECK(right.status == 200);
  loop.run([&] {
    REQUIRE(b.calls.size() == 1);
    CHECK(b.calls[0].op == "switchover");
    CHECK(b.calls[0].arg == "n2");
  });
}

TEST_CASE("server: no token file configured refuses every change with 403") {
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  Served s(loop, options("127.0.7.3", ""), &b);
  auto r = pw::node::http_request(s.target("127.0.7.3"), "POST", "/pause", "", "anything");
  CHECK(r.status == 403);
  CHECK(r.body.find("token_file") != std::string::npos);
}

TEST_CASE("server: garbage request lines and headers are refused; the server keeps answering") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  Served s(loop, options("127.0.7.4", write_file(dir, "token", kToken)), &b);
  HttpTarget t = s.target("127.0.7.4");
  std::string random_bytes;
  srand(7);
  for (int i = 0; i < 3000; ++i) random_bytes.push_back(static_cast<char>(rand() % 256));
  const std::string inputs[] = {
      "GARBAGE\r\n\r\n",
      std::string("\x00\x01\x02\xff\xfe\r\n\r\n", 9),
      "GET\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "FOO /cluster HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /cluster HTTP/1.1\r\nX-Big: " + std::string(40000, 'b') + "\r\n\r\n",
      "GET /cluster HTTP/1.1\r\nno colon here\r\n\r\n",
      "POST /pause HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /pause HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /pause HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /cluster HTTP/1.1\r\nHost: x\r\n",  // cut short
      random_bytes,
      "\r\n\r\n\r\n",
  };
  for (const std::string& in : inputs) {
    INFO("input starts with: " << in.substr(0, 40));
    std::string out = raw_exchange("127.0.7.4", t.port, in, true);
    int st = status_of(out);
    INFO("answer: " << out.substr(0, 300));
    // Refused with a 4xx (501 for a method HTTP does not define, as RFC 9110
    // says), or the connection simply closed; never a success or a crash.
    CHECK((out.empty() || (st >= 400 && st < 500) || st == 501));
    expect_alive(t);
  }
  loop.run([&] { CHECK(b.calls.empty()); });
}

TEST_CASE("server: a body over 64 KiB is refused (1 MB, declared or chunked); the server keeps answering") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  Served s(loop, options("127.0.7.5", write_file(dir, "token", kToken)), &b);
  HttpTarget t = s.target("127.0.7.5");
  std::string body = "{\"to\":\"" + std::string(1000000, 'x') + "\"}";
  std::string declared = "POST /switchover HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  CHECK(status_of(raw_exchange("127.0.7.5", t.port, declared)) == 413);
  expect_alive(t);
  std::string chunked = "POST /switchover HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                        "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked += "2000\r\n" + std::string(0x2000, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  int st = status_of(raw_exchange("127.0.7.5", t.port, chunked));
  CHECK(st == 413);
  expect_alive(t);
  auto r = pw::node::http_request(t, "POST", "/switchover", body, kToken);
  CHECK((r.ok ? r.status == 413 : true));  // refused, or cut off while we were still sending
  expect_alive(t);
  // Just under the limit: read, parsed, refused as JSON.
  auto under = pw::node::http_request(t, "POST", "/switchover", std::string(60000, ' ') + "[]", kToken);
  CHECK(under.status == 400);
  CHECK(under.body.find("must be a JSON object") != std::string::npos);
  loop.run([&] { CHECK(b.calls.empty()); });
}

namespace {
// Polls (on the loop) until the fake backend holds `n` deferred requests.
void wait_deferred(LoopThread& loop, FakeApiBackend& b, size_t n) {
  for (int i = 0; i < 6000; ++i) {  // 30 s deadline
    bool seen = false;
    loop.run([&] { seen = b.deferred.size() >= n; });
    if (seen) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("the request never reached the backend");
}

int send_request_no_wait(const std::string& addr, uint16_t port, const std::string& req) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  return fd;
}
}  // namespace

TEST_CASE("server: operator requests answer when committed, survive their client and the server") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  b.defer = true;
  auto s = std::make_unique<Served>(loop, options("127.0.7.6", write_file(dir, "token", kToken)), &b);
  HttpTarget t = s->target("127.0.7.6");

  // Committed while the client waits.
  auto fut = std::async(std::launch::async, [&] { return pw::node::http_request(t, "POST", "/pause", "", kToken); });
  wait_deferred(loop, b, 1);
  loop.run([&] {
    b.deferred[0]({200, "paused"});
    b.deferred.clear();
  });
  auto r = fut.get();
  CHECK(r.status == 200);
  CHECK(r.body.find("paused") != std::string::npos);

  // The client goes away before the result: the answer goes nowhere.
  int fd = send_request_no_wait(
      "127.0.7.6", t.port,
      "POST /resume HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken + "\r\nContent-Length: 0\r\n\r\n");
  wait_deferred(loop, b, 1);
  close(fd);
  expect_alive(t);  // a full round trip: the loop has run since the close
  loop.run([&] {
    b.deferred[0]({200, "late"});
    b.deferred.clear();
  });
  expect_alive(t);

  // The server stops while a request waits: the result comes after it is gone.
  auto orphan = std::async(std::launch::async,
                           [&] { return pw::node::http_request(t, "POST", "/pause", "", kToken, 10000); });
  wait_deferred(loop, b, 1);
  s.reset();
  CHECK_FALSE(orphan.get().ok);  // the connection died with the server
  loop.run([&] {
    REQUIRE(b.deferred.size() == 1);
    b.deferred[0]({200, "after stop"});
  });
}

TEST_CASE("server: an operator request not committed in time answers 504; the late result is ignored") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  b.defer = true;
  ApiServerOptions o = options("127.0.7.6", write_file(dir, "token", kToken));
  o.op_timeout_ms = 300;
  Served s(loop, o, &b);
  HttpTarget t = s.target("127.0.7.6");
  auto late = pw::node::http_request(t, "POST", "/resume", "", kToken);
  CHECK(late.status == 504);
  CHECK(late.body.find("may still take effect") != std::string::npos);
  loop.run([&] {
    REQUIRE(b.deferred.size() == 1);
    b.deferred[0]({200, "resumed"});
  });
  expect_alive(t);
}

TEST_CASE("server: start() errors name the address:port or the file") {
  pw::test::TempDir dir("pgwarden-api");
  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  Served first(loop, options("127.0.7.7", ""), &b);
  ApiServerOptions o = options("127.0.7.7", "");
  o.port = first.server->port();
  loop.run([&] {
    ApiServer again(loop.base(), o, &b);
    try {
      again.start();
      FAIL("second bind succeeded");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "cannot listen on 127.0.7.7:" + std::to_string(o.port) +
                                         " for the API: Address already in use");
    }
    ApiServer missing(loop.base(), options("127.0.7.7", dir / "absent.token"), &b);
    CHECK_THROWS_WITH(missing.start(), Catch::Contains("absent.token") && Catch::Contains("No such file"));
    ApiServer empty(loop.base(), options("127.0.7.7", write_file(dir, "empty.token", "\n")), &b);
    CHECK_THROWS_WITH(empty.start(), Catch::Contains("is empty"));
    ApiServerOptions bad = options("192.0.2.1", "");
    ApiServer unbindable(loop.base(), bad, &b);
    CHECK_THROWS_WITH(unbindable.start(), Catch::Contains("cannot listen on 192.0.2.1:0 for the API"));
  });
  expect_alive(first.target("127.0.7.7"));
}

TEST_CASE("server: HTTPS with the node certificate, verified against the cluster CA") {
  pw::test::TempDir dir("pgwarden-api");
  TestPki pki{dir};
  pki.ca("ca");
  pki.ca("other");
  // The member's name, and the address ctl reaches it at when given no
  // server name (the host of the URL is then what is verified).
  pki.cert("n1", "n1", "DNS:n1,IP:127.0.7.8");

  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  ApiServerOptions o = options("127.0.7.8", write_file(dir, "token", kToken));
  o.tls = true;
  o.cert_file = dir / "n1.pem";
  o.key_file = dir / "n1.key";
  Served s(loop, o, &b);
  HttpTarget t = s.target("127.0.7.8");
  t.tls = true;
  t.ca_file = dir / "ca.pem";
  auto r = pw::node::http_request(t, "GET", "/primary", "", "");
  INFO(r.error);
  CHECK(r.ok);
  CHECK(r.status == 200);
  t.server_name = "n1";
  CHECK(pw::node::http_request(t, "POST", "/pause", "", kToken).status == 200);

  t.server_name = "n2";  // the certificate names n1 (and the address, which no longer counts)
  auto wrong_name = pw::node::http_request(t, "GET", "/primary", "", "");
  CHECK_FALSE(wrong_name.ok);
  INFO(wrong_name.error);
  CHECK(wrong_name.error.find("certificate not trusted: it does not name 'n2'") != std::string::npos);

  t.server_name.clear();
  t.ca_file = dir / "other.pem";
  auto foreign = pw::node::http_request(t, "GET", "/primary", "", "");
  CHECK_FALSE(foreign.ok);
  CHECK(foreign.error.find("TLS handshake with https://127.0.7.8:") != std::string::npos);
  CHECK(foreign.error.find("certificate not trusted") != std::string::npos);

  // The name checked and the address connected to are separate: also for
  // an IPv6 address (brackets in curl's connect-to).
  if (have_ipv6_loopback()) {
    ApiServerOptions o6 = o;
    o6.address = "::1";
    o6.port = 0;
    Served s6(loop, o6, &b);
    HttpTarget t6 = s6.target("::1");
    t6.tls = true;
    t6.ca_file = dir / "ca.pem";
    t6.server_name = "n1";
    auto v6 = pw::node::http_request(t6, "GET", "/liveness", "", "");
    INFO(v6.error);
    CHECK(v6.status == 200);
  } else {
    WARN("no IPv6 loopback here: the [::1] case is skipped");
  }

  HttpTarget plain = s.target("127.0.7.8");  // plain HTTP to the TLS port
  auto p = pw::node::http_request(plain, "GET", "/primary", "", "", 3000);
  CHECK_FALSE(p.ok);
  t.ca_file = dir / "ca.pem";
  CHECK(pw::node::http_request(t, "GET", "/liveness", "", "").status == 200);

  ApiServerOptions badkey = o;
  badkey.port = 0;
  badkey.key_file = dir / "ca.key";
  loop.run([&] {
    ApiServer x(loop.base(), badkey, &b);
    CHECK_THROWS_WITH(x.start(), Catch::Contains("ca.key") && Catch::Contains("API TLS"));
  });
}

TEST_CASE("server: HTTPS with a CA-signed certificate for another name: refused, the token is never sent") {
  pw::test::TempDir dir("pgwarden-api");
  TestPki pki{dir};
  pki.ca("ca");
  pki.cert("other", "other.example", "DNS:other.example");  // signed by the cluster CA, but not for 127.0.7.8

  LoopThread loop;
  auto b = FakeApiBackend::healthy("n1");
  ApiServerOptions o = options("127.0.7.8", write_file(dir, "token", kToken));
  o.tls = true;
  o.cert_file = dir / "other.pem";
  o.key_file = dir / "other.key";
  Served s(loop, o, &b);
  HttpTarget t = s.target("127.0.7.8");
  t.tls = true;
  t.ca_file = dir / "ca.pem";

  // As `ctl --api https://127.0.7.8:PORT`: no server name, so the URL's host must be named.
  auto r = pw::node::http_request(t, "POST", "/pause", "", kToken);
  INFO(r.error);
  CHECK_FALSE(r.ok);
  CHECK(r.status == 0);
  CHECK(r.error.rfind("TLS handshake with https://127.0.7.8:" + std::to_string(t.port) + " failed: ", 0) == 0);
  CHECK(r.error.find("certificate not trusted: it does not name '127.0.7.8'") != std::string::npos);
  expect_alive(s.target("127.0.7.8"), dir / "ca.pem", "other.example");
  loop.run([&] { CHECK(b.calls.empty()); });  // the pause (and its token) never reached the server

  // The same request, told the name the certificate carries: connects to
  // 127.0.7.8 all the same, and this time the server acts on it.
  t.server_name = "other.example";
  auto named = pw::node::http_request(t, "POST", "/pause", "", kToken);
  INFO(named.error);
  CHECK(named.ok);
  CHECK(named.status == 200);
  loop.run([&] {
    REQUIRE(b.calls.size() == 1);
    CHECK(b.calls[0].op == "pause");
  });
}

TEST_CASE("ctl client: unreachable API and URL parsing say what failed") {
  HttpTarget t;
  t.host = "127.0.7.9";
  t.port = 1;  // nothing listens there
  auto r = pw::node::http_request(t, "GET", "/cluster", "", "");
  CHECK_FALSE(r.ok);
  CHECK(r.error == "cannot connect to http://127.0.7.9:1: Connection refused");

  std::string err;
  auto u = pw::node::parse_api_url("https://[::1]:9000/", &err);
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->host == "::1");
  CHECK(u->port == 9000);
  CHECK(u->url() == "https://[::1]:9000");
  u = pw::node::parse_api_url("10.0.0.1", &err);
  REQUIRE(u);
  CHECK(u->port == 8008);
  CHECK(!u->tls);
  CHECK_FALSE(pw::node::parse_api_url("ftp://x", &err));
  CHECK_FALSE(pw::node::parse_api_url("http://x:99999", &err));
  CHECK(err.find("bad port") != std::string::npos);
  CHECK_FALSE(pw::node::parse_api_url("http://x/cluster", &err));
  CHECK_FALSE(pw::node::parse_api_url("http://:80", &err));
}
