// proxy/pg_wire.h — the few PostgreSQL protocol messages the proxy must
// understand: the first packet a client sends (SSLRequest, GSSENCRequest,
// CancelRequest, StartupMessage) and the ErrorResponse it answers with when
// it cannot route. Everything after the first packet is forwarded unparsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pw::proxy::wire {

constexpr uint32_t kCancelRequestCode = 80877102;  // (1234 << 16) | 5678
constexpr uint32_t kSslRequestCode = 80877103;     // (1234 << 16) | 5679
constexpr uint32_t kGssEncRequestCode = 80877104;  // (1234 << 16) | 5680
constexpr uint32_t kMaxStartupPacket = 10000;      // PostgreSQL's own limit
constexpr size_t kHeaderLen = 8;                   // int32 length + int32 code
constexpr size_t kCancelLen = 16;                  // header + pid + secret

/// Reads a big-endian uint32 from 4 bytes.
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

/// An ErrorResponse ('E') with severity, SQLSTATE and message, as a
/// PostgreSQL server would send it before closing (FATAL for connection
/// refusals so that libpq prints "FATAL:  <message>").
std::string error_response(const char* severity, const char* sqlstate, const std::string& message);

/// What a client's opening packet is, as far as its bytes tell.
enum class Packet {
  need_more,       // fewer bytes than the decision needs
  ssl_request,     // answer 'N' (or TLS); the next packet follows
  gssenc_request,  // same, for GSSAPI encryption
  cancel_request,  // a CancelRequest (16 bytes with the key)
  startup,         // a StartupMessage
  invalid,         // not PostgreSQL, or a length out of bounds: reason says why
};

/// The header of the packet starting at `p` (`n` bytes available): its kind
/// and, unless need_more/invalid, its whole length (8 for a request, 16 for
/// a CancelRequest, the declared length of a StartupMessage, at most
/// kMaxStartupPacket). Decided from the first 8 bytes alone, so a caller
/// that keeps its own bytes can ask again as they arrive. This is the one
/// place that knows the codes and length rules of a first packet.
struct PacketHead {
  Packet kind = Packet::need_more;
  uint32_t size = 0;
  const char* reason = "";
};
PacketHead packet_head(const uint8_t* p, size_t n);

/// Scans the client's opening packets without keeping them (packet_head on
/// a small buffer of its own): an optional SSLRequest/GSSENCRequest (which
/// the caller answers with 'N'), then either a StartupMessage or a
/// CancelRequest. Total: any byte sequence yields one of the results below,
/// never a crash or an unbounded buffer.
class FirstPacketScanner {
 public:
  /// need_more: feed more bytes; ssl/gssenc_request: answer, the scanner
  /// then expects the next packet; cancel_request: complete (cancel_packet());
  /// startup: the StartupMessage fully consumed; invalid: reason() says why.
  using Result = Packet;
  /// Consumes up to `n` bytes; `*used` receives how many were consumed (it
  /// stops right after a complete packet so the caller can act on it).
  Result feed(const uint8_t* p, size_t n, size_t* used);
  const char* reason() const { return reason_; }
  /// The full 16 bytes of the CancelRequest, valid after cancel_request.
  const uint8_t* cancel_packet() const { return buf_; }

 private:
  uint8_t buf_[kCancelLen] = {};
  uint32_t have_ = 0;       // header (or cancel) bytes collected
  uint32_t skip_ = 0;       // StartupMessage body bytes still to discard
  bool in_body_ = false;
  bool done_ = false;
  int requests_ = 0;        // SSL/GSS requests seen (a client sends at most 2)
  const char* reason_ = "";
};

}  // namespace pw::proxy::wire
