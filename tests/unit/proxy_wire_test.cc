// tests/unit/proxy_wire_test.cc — the PostgreSQL first-packet scanner and the
// ErrorResponse encoder, including arbitrary input (the scanner must be total).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "proxy/pg_wire.h"

using pw::proxy::wire::FirstPacketScanner;
using R = FirstPacketScanner::Result;

namespace {
std::vector<uint8_t> packet(uint32_t code, const std::string& body = "") {
  uint32_t len = static_cast<uint32_t>(8 + body.size());
  std::vector<uint8_t> p = {uint8_t(len >> 24), uint8_t(len >> 16), uint8_t(len >> 8), uint8_t(len),
                            uint8_t(code >> 24), uint8_t(code >> 16), uint8_t(code >> 8), uint8_t(code)};
  p.insert(p.end(), body.begin(), body.end());
  return p;
}
}  // namespace

TEST_CASE("SSLRequest then StartupMessage, fed one byte at a time") {
  auto ssl = packet(80877103);
  auto startup = packet(196608, std::string("user\0alice\0database\0db\0\0", 25));
  FirstPacketScanner s;
  std::vector<R> results;
  std::vector<uint8_t> all = ssl;
  all.insert(all.end(), startup.begin(), startup.end());
  for (uint8_t b : all) {
    size_t used = 0;
    R r = s.feed(&b, 1, &used);
    REQUIRE(used == 1);
    if (r != R::need_more) results.push_back(r);
  }
  REQUIRE(results == std::vector<R>{R::ssl_request, R::startup});
}

TEST_CASE("whole stream in one feed stops after each packet") {
  auto gss = packet(80877104);
  auto startup = packet(196608, "abc");
  std::vector<uint8_t> all = gss;
  all.insert(all.end(), startup.begin(), startup.end());
  FirstPacketScanner s;
  size_t used = 0;
  REQUIRE(s.feed(all.data(), all.size(), &used) == R::gssenc_request);
  REQUIRE(used == 8);
  size_t used2 = 0;
  REQUIRE(s.feed(all.data() + used, all.size() - used, &used2) == R::startup);
  REQUIRE(used + used2 == all.size());
}

TEST_CASE("CancelRequest is recognised with its key") {
  auto c = packet(80877102, std::string("\x00\x00\x30\x39\x11\x22\x33\x44", 8));
  FirstPacketScanner s;
  size_t used = 0;
  REQUIRE(s.feed(c.data(), 10, &used) == R::need_more);
  size_t used2 = 0;
  REQUIRE(s.feed(c.data() + 10, 6, &used2) == R::cancel_request);
  REQUIRE(s.cancel_packet()[15] == 0x44);
}

TEST_CASE("invalid first packets") {
  FirstPacketScanner a;
  size_t used = 0;
  auto huge = packet(196608);
  huge[0] = 0x7f;  // length far above 10000
  REQUIRE(a.feed(huge.data(), huge.size(), &used) == R::invalid);
  FirstPacketScanner b;
  auto http = std::string("GET / HTTP/1.1\r\n");
  REQUIRE(b.feed(reinterpret_cast<const uint8_t*>(http.data()), http.size(), &used) == R::invalid);
  FirstPacketScanner c;
  auto bad_ssl = packet(80877103, "x");
  REQUIRE(c.feed(bad_ssl.data(), bad_ssl.size(), &used) == R::invalid);
  FirstPacketScanner d;  // three SSL requests in a row
  auto ssl = packet(80877103);
  REQUIRE(d.feed(ssl.data(), 8, &used) == R::ssl_request);
  REQUIRE(d.feed(ssl.data(), 8, &used) == R::ssl_request);
  REQUIRE(d.feed(ssl.data(), 8, &used) == R::invalid);
}

TEST_CASE("random bytes never crash and always end or ask for more") {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> buf(rng() % 64);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (!buf.empty() && (rng() % 2)) buf[0] = 0;  // plausible lengths now and then
    FirstPacketScanner s;
    size_t off = 0;
    for (int k = 0; k < 100 && off < buf.size(); ++k) {
      size_t used = 0;
      R r = s.feed(buf.data() + off, buf.size() - off, &used);
      REQUIRE(used <= buf.size() - off);
      off += used;
      if (r == R::invalid || r == R::startup || r == R::cancel_request) break;
    }
  }
}

TEST_CASE("ErrorResponse layout") {
  std::string e = pw::proxy::wire::error_response("FATAL", "57P03", "pgwarden: no primary");
  REQUIRE(e[0] == 'E');
  uint32_t len = pw::proxy::wire::be32(reinterpret_cast<const uint8_t*>(e.data() + 1));
  REQUIRE(len == e.size() - 1);
  REQUIRE(e.find(std::string("C57P03\0", 7)) != std::string::npos);
  REQUIRE(e.find(std::string("Mpgwarden: no primary\0", 22)) != std::string::npos);
  REQUIRE(e.back() == '\0');
}
