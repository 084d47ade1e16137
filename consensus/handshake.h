// consensus/handshake.h — the transport's wire framing and its connection
// handshake. Every frame on a raft connection is a 4-byte big-endian length
// followed by that many bytes, which start with u8 wire version and u8 frame
// type (codec.h's layout: the transport and the codec share one framing).
// The first frame in each direction is a handshake (type 1); after that,
// frames are opaque to the transport (the codec gives them meaning). A
// zero-length frame is a transport keepalive and never leaves the transport.
//
// Handshake frame body (after the length; integers big-endian):
//   u8 version=1 | u8 type=1 | magic "PGWR" | u8 kind | body
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

/// Raised on incompatible wire changes; peers with a different version are
/// refused. Equals codec.h's kCodecVersion (checked where both are seen).
inline constexpr uint8_t kProtocolVersion = 1;
/// Frame type byte of handshake frames (codec.h FrameType::handshake).
inline constexpr uint8_t kHandshakeFrameType = 1;
/// Bytes of the length prefix in front of every frame.
inline constexpr size_t kLengthPrefixSize = 4;
/// Handshake frames are small; a larger first frame is refused before the
/// configured (much larger) frame limit applies.
inline constexpr size_t kMaxHandshakeFrame = 4096;

enum class HandshakeKind : uint8_t { hello = 1, accept = 2, reject = 3 };

struct HandshakeMsg {
  HandshakeKind kind = HandshakeKind::hello;
  uint8_t version = kProtocolVersion;
  uint64_t node_id = 0;   // hello / accept
  std::string cluster;    // hello / accept
  std::string node_name;  // hello / accept
  std::string reason;     // reject
};

/// Writes the 4-byte length prefix for a payload of `len` bytes into `out`.
void put_frame_header(uint8_t out[kLengthPrefixSize], uint32_t len);
/// Reads a length prefix.
uint32_t get_frame_header(const uint8_t in[kLengthPrefixSize]);

/// Serializes a handshake message (payload only, without the length prefix).
/// Strings longer than 1024 bytes are truncated (names are far shorter).
std::string encode_handshake(const HandshakeMsg& m);

/// Parses a handshake payload. Returns nullopt and sets `*error` on any
/// malformed input (wrong magic, short read, unknown kind, trailing bytes).
/// A version other than ours still decodes (so the caller can say which
/// version the peer speaks) as long as the header is intact.
std::optional<HandshakeMsg> decode_handshake(std::string_view data, std::string* error);

}  // namespace pw::consensus
