// tests/support/pg_packets.h — the PostgreSQL client packets proxy tests
// send or feed: big-endian integers, and the framing of SSLRequest,
// CancelRequest and StartupMessage (byte strings, no sockets).
#pragma once

#include <cstdint>
#include <string>

namespace pw::test {

/// `v` as 4 big-endian bytes.
inline std::string be32s(uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

/// A first packet: int32 length (itself included), int32 code, then `body`.
inline std::string pg_packet(uint32_t code, const std::string& body = "") {
  return be32s(static_cast<uint32_t>(8 + body.size())) + be32s(code) + body;
}

inline std::string ssl_request() { return pg_packet(80877103); }

/// A CancelRequest for backend `pid` with its secret key.
inline std::string cancel_request(uint32_t pid, uint32_t secret) { return pg_packet(80877102, be32s(pid) + be32s(secret)); }

/// A protocol 3.0 StartupMessage (user u, database d).
inline std::string startup_packet() { return pg_packet(196608, std::string("user\0u\0database\0d\0\0", 20)); }

}  // namespace pw::test
