// consensus/handshake.h — the transport's wire framing and its connection
// handshake. Every frame on a raft connection is a 4-byte big-endian length
// followed by that many bytes. The first frame in each direction is a
// handshake message; after that, frames are opaque to the transport (the
// codec gives them meaning). A zero-length frame is a transport keepalive.
//
// Handshake messages (all integers big-endian):
//   magic "PGWR" | u8 version | u8 kind | body
//   kind 1 Hello  (dialer → acceptor): u64 node_id, str cluster, str node_name
//   kind 2 Accept (acceptor → dialer): u64 node_id, str cluster, str node_name
//   kind 3 Reject (acceptor → dialer): str reason
// where str = u16 length + bytes. Decoding is total: any byte string yields
// either a message or an error text, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pw::consensus {

/// Raised on incompatible wire changes; peers with a different version are refused.
inline constexpr uint8_t kProtocolVersion = 1;
/// Bytes of the length prefix in front of every frame.
inline constexpr size_t kFrameHeaderSize = 4;
/// Handshake frames are small; a larger first frame is refused before the
/// configured (much larger) frame limit applies.
inline constexpr size_t kMaxHandshakeFrame = 4096;

enum class HandshakeKind : uint8_t { hello = 1, accept = 2, reject = 3 };

struct HandshakeMsg {
  HandshakeKind kind = HandshakeKind::hello;
  uint8_t version = kProtocolVersion;
  uint64_t node_id = 0;       // hello / accept
  std::string cluster;        // hello / accept
  std::string node_name;      // hello / accept
  std::string reason;         // reject
};

/// Writes the 4-byte length prefix for a payload of `len` bytes into `out`.
void put_frame_header(uint8_t out[kFrameHeaderSize], uint32_t len);
/// Reads a length prefix.
uint32_t get_frame_header(const uint8_t in[kFrameHeaderSize]);

/// Serializes a handshake message (payload only, without the length prefix).
/// Strings longer than 1024 bytes are truncated (names are far shorter).
std::string encode_handshake(const HandshakeMsg& m);

/// Parses a handshake payload. Returns nullopt and sets `*error` on any
/// malformed input (wrong magic, short read, unknown kind, trailing bytes).
/// A version other than ours still decodes (so the caller can say which
/// version the peer speaks) as long as the header is intact.
std::optional<HandshakeMsg> decode_handshake(std::string_view data, std::string* error);

}  // namespace pw::consensus
