// consensus/codec.h — the wire format between pgwarden nodes (port 5010).
//
// A connection carries a sequence of frames:
//
//   u32 length   big-endian, bytes that follow (version + type + payload)
//   u8  version  kCodecVersion
//   u8  type     FrameType
//   ...payload   `length - 2` bytes, meaning depends on `type`
//
// The frame layer is shared by everything on the raft port: the transport's
// handshake, Raft messages (payload = encode_message) and opaque application
// messages (gossip/member status). Every decoder here is total: any byte
// string yields either a value or an error string; nothing crashes, and no
// allocation exceeds the frame size limit the caller passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/message.h"

namespace pw::consensus {

/// Version byte of every frame; a peer speaking another version is refused.
constexpr uint8_t kCodecVersion = 1;
/// Bytes before the payload: u32 length + u8 version + u8 type.
constexpr size_t kFrameHeaderSize = 6;
/// Default limit on a whole frame (header included); configurable per call.
constexpr uint64_t kDefaultMaxFrameSize = 16ull << 20;

/// What a frame carries. Values are part of the wire format: only append.
enum class FrameType : uint8_t {
  handshake = 1,  ///< transport-defined payload (version, cluster name, node name, ...)
  raft = 2,       ///< payload = encode_message(Message)
  app = 3,        ///< opaque application bytes (RaftNode::send_app/broadcast_app)
};

/// Result of looking at the start of a receive buffer.
struct FrameHead {
  enum class Status {
    need_more,  ///< fewer than kFrameHeaderSize bytes, or the frame is incomplete
    ok,         ///< a whole frame of `frame_size` bytes is available
    error,      ///< the stream is unusable (bad version/type, over the limit): close it
  };
  Status status = Status::need_more;
  FrameType type = FrameType::raft;
  size_t frame_size =
      0;  ///< whole frame incl. header; valid for ok, and for need_more once the header is in
  std::string error;  ///< set for error, e.g. "frame of 20000000 bytes exceeds limit 16777216"
};

/// Inspects `len` bytes at `data` (the start of the unread stream). Never
/// reads past `len`. Frames larger than `max_frame_size` are an error as soon
/// as their header is seen, so a peer cannot make us buffer them.
FrameHead peek_frame(const void* data, size_t len, uint64_t max_frame_size = kDefaultMaxFrameSize);

/// Builds a whole frame (header + payload).
std::string encode_frame(FrameType type, std::string_view payload);

/// Returns the payload of a whole frame previously accepted by peek_frame
/// (i.e. drops the header). `frame` must be exactly `frame_size` bytes.
inline std::string_view frame_payload(std::string_view frame) {
  return frame.size() >= kFrameHeaderSize ? frame.substr(kFrameHeaderSize) : std::string_view();
}

/// Serializes a Raft message into a frame payload (no frame header).
std::string encode_message(const Message& m);
/// Convenience: encode_frame(FrameType::raft, encode_message(m)).
std::string encode_message_frame(const Message& m);

/// Parses a frame payload produced by encode_message. Returns true and fills
/// `*out` on success; returns false and sets `*err` (e.g. "message truncated
/// at byte 41 reading entry data") on any malformed input, including unknown
/// message/entry types, trailing bytes, or counts that cannot fit. Never
/// allocates more than `payload.size()` bytes of entry/snapshot data.
bool decode_message(std::string_view payload, Message* out, std::string* err);

/// Bounds-checked big-endian writer; also used by the transport for its
/// handshake payload so the whole port speaks one style.
class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  /// u32 length + bytes.
  void bytes(std::string_view s);
  std::string& str() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// Bounds-checked big-endian reader over a byte string it does not own.
/// After the first failure every further read fails too and returns 0/empty,
/// so callers may check ok() once at the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t u8(const char* what);
  uint32_t u32(const char* what);
  uint64_t u64(const char* what);
  /// u32 length + bytes; fails if the length exceeds what is left.
  std::string bytes(const char* what);
  bool ok() const { return err_.empty(); }
  bool at_end() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  /// Marks the reader failed with `msg` (keeps the first error).
  void fail(const std::string& msg);
  const std::string& error() const { return err_; }

 private:
  bool need(size_t n, const char* what);
  std::string_view in_;
  size_t pos_ = 0;
  std::string err_;
};

}  // namespace pw::consensus
