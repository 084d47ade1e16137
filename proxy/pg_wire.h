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

/// Scans the client's opening packets without keeping them: an optional
/// SSLRequest/GSSENCRequest (which the caller answers with 'N'), then either
/// a StartupMessage or a CancelRequest. Total: any byte sequence yields one
/// of the results below, never a crash or an unbounded buffer.
class FirstPacketScanner {
 public:
  enum class Result {
    need_more,       // feed more bytes
    ssl_request,     // answer 'N'; the scanner then expects the next packet
    gssenc_request,  // answer 'N'; same
    cancel_request,  // 16-byte CancelRequest complete (cancel_packet())
    startup,         // StartupMessage fully consumed
    invalid,         // not PostgreSQL: reason() says why
  };
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
