// tests/unit/proxy_wire_test.cc — the PostgreSQL first-packet parser
// (packet_head and the FirstPacketScanner built on it) and the ErrorResponse
// encoder, including arbitrary input (both must be total).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "proxy/pg_wire.h"
#include "support/pg_packets.h"

using pw::proxy::wire::FirstPacketScanner;
using pw::proxy::wire::packet_head;
using R = FirstPacketScanner::Result;
using pw::proxy::wire::Packet;

namespace {
std::vector<uint8_t> packet(uint32_t code, const std::string& body = "") {
  std::string p = pw::test::pg_packet(code, body);
  return {p.begin(), p.end()};
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

TEST_CASE("packet_head decides from the first 8 bytes and gives the length") {
  auto startup = packet(196608, std::string("user\0u\0\0", 8));
  for (size_t n = 0; n < 8; ++n) REQUIRE(packet_head(startup.data(), n).kind == Packet::need_more);
  auto h = packet_head(startup.data(), 8);
  CHECK(h.kind == Packet::startup);
  CHECK(h.size == startup.size());
  CHECK(packet_head(packet(80877103).data(), 8).kind == Packet::ssl_request);
  CHECK(packet_head(packet(80877104).data(), 8).kind == Packet::gssenc_request);
  auto cancel = packet(80877102, std::string(8, '\x01'));
  h = packet_head(cancel.data(), 8);  // the key is not needed to know
  CHECK(h.kind == Packet::cancel_request);
  CHECK(h.size == 16);
}

TEST_CASE("packet_head rejects bad lengths and foreign protocols") {
  auto at = [](std::vector<uint8_t> p) { return packet_head(p.data(), p.size()); };
  auto cancel_short = packet(80877102, "1234");  // length 12, not 16
  CHECK(at(cancel_short).kind == Packet::invalid);
  CHECK(std::string(at(cancel_short).reason) == "CancelRequest with bad length");
  CHECK(at(packet(80877103, "x")).kind == Packet::invalid);
  CHECK(at(packet(0x00020000)).kind == Packet::invalid);  // protocol 2.0
  auto at_limit = packet(196608, std::string(10000 - 8, 'a'));
  CHECK(at(at_limit).kind == Packet::startup);
  CHECK(at(at_limit).size == 10000);
  auto over = packet(196608, std::string(10001 - 8, 'a'));
  CHECK(at(over).kind == Packet::invalid);
  CHECK(std::string(at(over).reason) == "StartupMessage length out of range");
  auto tiny = packet(196608);
  tiny[3] = 4;  // declares less than its own header
  CHECK(at(tiny).kind == Packet::invalid);
}

TEST_CASE("CancelRequest fed one byte at a time ends at its 16th byte") {
  auto c = packet(80877102, std::string("\x00\x00\x30\x39\x11\x22\x33\x44", 8));
  FirstPacketScanner s;
  for (size_t i = 0; i < c.size(); ++i) {
    size_t used = 0;
    R r = s.feed(&c[i], 1, &used);
    REQUIRE(used == 1);
    REQUIRE(r == (i + 1 == c.size() ? R::cancel_request : R::need_more));
  }
  REQUIRE(std::vector<uint8_t>(s.cancel_packet(), s.cancel_packet() + 16) == c);
}

TEST_CASE("a StartupMessage of the largest allowed length, byte by byte") {
  auto startup = packet(196608, std::string(10000 - 8, 'a'));
  FirstPacketScanner s;
  size_t total = 0;
  R r = R::need_more;
  for (size_t i = 0; i < startup.size() && r == R::need_more; ++i) {
    size_t used = 0;
    r = s.feed(&startup[i], 1, &used);
    total += used;
  }
  REQUIRE(r == R::startup);
  REQUIRE(total == startup.size());
}

TEST_CASE("garbage after an SSLRequest is refused with the parser's reason") {
  auto all = packet(80877103);
  std::string http = "GET / HTTP/1.1\r\n";
  all.insert(all.end(), http.begin(), http.end());
  FirstPacketScanner s;
  std::vector<R> results;
  for (uint8_t b : all) {
    size_t used = 0;
    R r = s.feed(&b, 1, &used);
    if (r != R::need_more) results.push_back(r);
    if (r == R::invalid) break;
  }
  REQUIRE(results == std::vector<R>{R::ssl_request, R::invalid});
  REQUIRE(std::string(s.reason()) == "unsupported protocol version or not PostgreSQL");
}

TEST_CASE("the scanner and packet_head agree on any first packet") {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> buf(8 + rng() % 24);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    // Mostly plausible headers: small lengths, protocol 3 or a request code.
    buf[0] = buf[1] = 0;
    if (rng() % 2) {
      const uint8_t lens[] = {8, 16, 12, 20, 30};
      buf[2] = 0;
      buf[3] = lens[rng() % 5];
    }
    uint32_t codes[] = {196608, 80877102, 80877103, 80877104, static_cast<uint32_t>(rng())};
    uint32_t code = codes[rng() % 5];
    for (int k = 0; k < 4; ++k) buf[4 + k] = static_cast<uint8_t>(code >> (24 - 8 * k));
    auto h = packet_head(buf.data(), buf.size());
    FirstPacketScanner s;
    size_t used = 0;
    R r = s.feed(buf.data(), buf.size(), &used);
    if (h.kind == Packet::invalid) {
      REQUIRE(r == R::invalid);
      REQUIRE(std::string(s.reason()) == h.reason);
    } else if (h.size <= buf.size()) {
      REQUIRE(r == h.kind);
      REQUIRE(used == h.size);
    } else {
      REQUIRE(r == R::need_more);
      REQUIRE(used == buf.size());
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
