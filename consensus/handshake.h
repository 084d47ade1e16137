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
//   kind 1 Hello  (dialer → acceptor): u64 node_id, str cluster, str node_name [, u64 cluster_id]
//   kind 2 Accept (acceptor → dialer): u64 node_id, str cluster, str node_name [, u64 cluster_id]
//   kind 3 Reject (acceptor → dialer): str reason
// where str = u16 length + bytes. Decoding is total: any byte string yields
// either a message or an error text, never a crash.
//
// The trailing cluster_id (the random id a cluster is given once, see
// identity.h; 0 = not known yet) is optional so that versions without it
// still talk to this one: a hello without it decodes with cluster_id unset,
// and an acceptor answers such a hello without it. Older acceptors refuse a
// hello that carries it ("trailing bytes after handshake"); the dialer then
// redials that peer without it (Transport).
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
  /// hello / accept: the sender's cluster id (0 = not known yet); nullopt =
  /// field absent (a peer from before cluster ids, or for such a peer).
  std::optional<uint64_t> cluster_id;
  std::string reason;  // reject
};

/// Reject reason an acceptor without cluster ids gives for a hello that has
/// one (decode_handshake's error for it): the dialer retries without the field.
inline constexpr char kTrailingBytesError[] = "trailing bytes after handshake";

/// Start of cluster_id_mismatch()'s text (peers recognise the refusal by it).
inline constexpr char kClusterIdMismatch[] = "cluster id mismatch";

/// The refusal text for a peer whose cluster id differs from ours: names both
/// ids, what it means and the fix. `peer` is the member name of the other side.
std::string cluster_id_mismatch(const std::string& self, uint64_t ours, const std::string& peer,
                                uint64_t theirs);
/// "0x0123456789abcdef".
std::string cluster_id_text(uint64_t id);

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
