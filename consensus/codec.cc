// consensus/codec.cc — see codec.h. Message payload layout (big-endian):
//   u8 type, u64 from, to, term, log_term, index, commit,
//   u8 flags (bit0 reject, bit1 transfer; other bits must be 0),
//   u64 reject_hint, proposal_id, target,
//   u32 n, n x entry {u64 term, u64 index, u8 type, u32 len, data},
//   u8 has_snapshot (0 none, 1 present, 2 present with a membership),
//   [u64 index, u64 term, u32 len, data [, u32 len, membership]],
//   u32 len, reason
// Counts are checked against the bytes left before anything is reserved, so
// a hostile count can never make us allocate more than the payload size.
#include "consensus/codec.h"

#include <cstring>

namespace pw::consensus {

const char* msg_type_name(MsgType t) {
  switch (t) {
    case MsgType::app:
      return "app";
    case MsgType::app_resp:
      return "app_resp";
    case MsgType::vote:
      return "vote";
    case MsgType::vote_resp:
      return "vote_resp";
    case MsgType::pre_vote:
      return "pre_vote";
    case MsgType::pre_vote_resp:
      return "pre_vote_resp";
    case MsgType::heartbeat:
      return "heartbeat";
    case MsgType::heartbeat_resp:
      return "heartbeat_resp";
    case MsgType::snap:
      return "snap";
    case MsgType::prop:
      return "prop";
    case MsgType::prop_resp:
      return "prop_resp";
    case MsgType::timeout_now:
      return "timeout_now";
    case MsgType::transfer_leader:
      return "transfer_leader";
  }
  return "unknown";
}

void Writer::u32(uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<char>((v >> s) & 0xff));
}
void Writer::u64(uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<char>((v >> s) & 0xff));
}
void Writer::bytes(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  out_.append(s.data(), s.size());
}

void Reader::fail(const std::string& msg) {
  if (err_.empty()) err_ = msg;
}
bool Reader::need(size_t n, const char* what) {
  if (!err_.empty()) return false;
  if (in_.size() - pos_ < n) {
    fail("truncated at byte " + std::to_string(pos_) + " reading " + what);
    return false;
  }
  return true;
}
uint8_t Reader::u8(const char* what) {
  if (!need(1, what)) return 0;
  return static_cast<uint8_t>(in_[pos_++]);
}
uint32_t Reader::u32(const char* what) {
  if (!need(4, what)) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
  return v;
}
uint64_t Reader::u64(const char* what) {
  if (!need(8, what)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
  return v;
}
std::string Reader::bytes(const char* what) {
  uint32_t n = u32(what);
  if (!need(n, what)) return {};
  std::string s(in_.substr(pos_, n));
  pos_ += n;
  return s;
}

FrameHead peek_frame(const void* data, size_t len, uint64_t max_frame_size) {
  FrameHead h;
  if (len < kFrameHeaderSize) return h;  // need_more
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t body = (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) | (uint64_t(p[2]) << 8) | p[3];
  uint8_t version = p[4];
  uint8_t type = p[5];
  if (version != kCodecVersion) {
    h.status = FrameHead::Status::error;
    h.error = "unsupported frame version " + std::to_string(version) + " (this node speaks " +
              std::to_string(kCodecVersion) + ")";
    return h;
  }
  if (type < static_cast<uint8_t>(FrameType::handshake) ||
      type > static_cast<uint8_t>(FrameType::app)) {
    h.status = FrameHead::Status::error;
    h.error = "unknown frame type " + std::to_string(type);
    return h;
  }
  if (body < 2) {
    h.status = FrameHead::Status::error;
    h.error = "frame length " + std::to_string(body) + " shorter than its header";
    return h;
  }
  uint64_t total = body + 4;
  if (total > max_frame_size) {
    h.status = FrameHead::Status::error;
    h.error = "frame of " + std::to_string(total) + " bytes exceeds limit " +
              std::to_string(max_frame_size);
    return h;
  }
  h.type = static_cast<FrameType>(type);
  h.frame_size = static_cast<size_t>(total);
  h.status = len >= total ? FrameHead::Status::ok : FrameHead::Status::need_more;
  return h;
}

std::string encode_frame(FrameType type, std::string_view payload) {
  Writer w;
  w.str().reserve(kFrameHeaderSize + payload.size());
  w.u32(static_cast<uint32_t>(payload.size() + 2));
  w.u8(kCodecVersion);
  w.u8(static_cast<uint8_t>(type));
  w.str().append(payload.data(), payload.size());
  return w.take();
}

std::string encode_message(const Message& m) {
  Writer w;
  size_t hint = 100 + m.snapshot.data.size() + m.snapshot.config.size() + m.reason.size();
  for (const auto& e : m.entries) hint += 21 + e.data.size();
  w.str().reserve(hint);
  w.u8(static_cast<uint8_t>(m.type));
  w.u64(m.from);
  w.u64(m.to);
  w.u64(m.term);
  w.u64(m.log_term);
  w.u64(m.index);
  w.u64(m.commit);
  w.u8(static_cast<uint8_t>((m.reject ? 1 : 0) | (m.transfer ? 2 : 0)));
  w.u64(m.reject_hint);
  w.u64(m.proposal_id);
  w.u64(m.target);
  w.u32(static_cast<uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    w.u64(e.term);
    w.u64(e.index);
    w.u8(static_cast<uint8_t>(e.type));
    w.bytes(e.data);
  }
  if (m.snapshot.index == 0 && m.snapshot.term == 0 && m.snapshot.data.empty() &&
      m.snapshot.config.empty()) {
    w.u8(0);
  } else {
    // Flag 2 only when there is a membership, so a cluster that never
    // changed its membership still talks to a version without them.
    w.u8(m.snapshot.config.empty() ? 1 : 2);
    w.u64(m.snapshot.index);
    w.u64(m.snapshot.term);
    w.bytes(m.snapshot.data);
    if (!m.snapshot.config.empty()) w.bytes(m.snapshot.config);
  }
  w.bytes(m.reason);
  return w.take();
}

std::string encode_message_frame(const Message& m) {
  return encode_frame(FrameType::raft, encode_message(m));
}

bool decode_message(std::string_view payload, Message* out, std::string* err) {
  constexpr size_t kMinEntry = 8 + 8 + 1 + 4;
  Reader r(payload);
  Message m;
  uint8_t type = r.u8("message type");
  if (r.ok() && (type < 1 || type > kMaxMsgType))
    r.fail("unknown message type " + std::to_string(type));
  m.type = static_cast<MsgType>(type);
  m.from = r.u64("from");
  m.to = r.u64("to");
  m.term = r.u64("term");
  m.log_term = r.u64("log_term");
  m.index = r.u64("index");
  m.commit = r.u64("commit");
  uint8_t flags = r.u8("flags");
  if (r.ok() && (flags & ~3u)) r.fail("unknown flag bits " + std::to_string(flags));
  m.reject = flags & 1;
  m.transfer = flags & 2;
  m.reject_hint = r.u64("reject_hint");
  m.proposal_id = r.u64("proposal_id");
  m.target = r.u64("target");
  uint32_t n = r.u32("entry count");
  if (r.ok() && n > r.remaining() / kMinEntry)
    r.fail("entry count " + std::to_string(n) + " cannot fit in " + std::to_string(r.remaining()) +
           " bytes");
  if (r.ok()) m.entries.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Entry e;
    e.term = r.u64("entry term");
    e.index = r.u64("entry index");
    uint8_t et = r.u8("entry type");
    if (r.ok() && et > static_cast<uint8_t>(EntryType::config))
      r.fail("unknown entry type " + std::to_string(et));
    e.type = static_cast<EntryType>(et);
    e.data = r.bytes("entry data");
    m.entries.push_back(std::move(e));
  }
  uint8_t has_snap = r.u8("snapshot flag");
  if (r.ok() && has_snap > 2) r.fail("bad snapshot flag " + std::to_string(has_snap));
  if (has_snap >= 1) {
    m.snapshot.index = r.u64("snapshot index");
    m.snapshot.term = r.u64("snapshot term");
    m.snapshot.data = r.bytes("snapshot data");
    if (has_snap == 2) {
      m.snapshot.config = r.bytes("snapshot membership");
      if (r.ok() && m.snapshot.config.empty()) r.fail("empty membership marked present");
    }
    // The encoder writes an empty snapshot as absent; accepting it as
    // present would give one message two encodings (found by the fuzzer).
    if (r.ok() && m.snapshot.index == 0 && m.snapshot.term == 0 && m.snapshot.data.empty() &&
        m.snapshot.config.empty())
      r.fail("empty snapshot marked present");
  }
  m.reason = r.bytes("reason");
  if (r.ok() && !r.at_end())
    r.fail(std::to_string(r.remaining()) + " trailing bytes after message");
  if (!r.ok()) {
    if (err) *err = "bad raft message: " + r.error();
    return false;
  }
  *out = std::move(m);
  return true;
}

}  // namespace pw::consensus
