// consensus/handshake.cc — see handshake.h. Bounds-checked reader over the
// payload; every accessor fails instead of reading past the end.
#include "consensus/handshake.h"

#include <cstdio>
#include <cstring>

namespace pw::consensus {
namespace {

constexpr char kMagic[4] = {'P', 'G', 'W', 'R'};
constexpr size_t kMaxStr = 1024;

void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
void put_u64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_str(std::string& s, const std::string& v) {
  size_t n = v.size() < kMaxStr ? v.size() : kMaxStr;
  put_u16(s, static_cast<uint16_t>(n));
  s.append(v, 0, n);
}

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool u8(uint8_t* v) {
    if (d_.size() - pos_ < 1) return false;
    *v = static_cast<uint8_t>(d_[pos_++]);
    return true;
  }
  bool u16(uint16_t* v) {
    if (d_.size() - pos_ < 2) return false;
    *v = static_cast<uint16_t>((static_cast<uint8_t>(d_[pos_]) << 8) |
                               static_cast<uint8_t>(d_[pos_ + 1]));
    pos_ += 2;
    return true;
  }
  bool u64(uint64_t* v) {
    if (d_.size() - pos_ < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(d_[pos_ + i]);
    pos_ += 8;
    *v = r;
    return true;
  }
  bool str(std::string* v) {
    uint16_t n;
    if (!u16(&n) || n > kMaxStr || d_.size() - pos_ < n) return false;
    v->assign(d_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool bytes(size_t n, std::string_view* v) {
    if (d_.size() - pos_ < n) return false;
    *v = d_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == d_.size(); }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

}  // namespace

void put_frame_header(uint8_t out[kLengthPrefixSize], uint32_t len) {
  out[0] = static_cast<uint8_t>(len >> 24);
  out[1] = static_cast<uint8_t>(len >> 16);
  out[2] = static_cast<uint8_t>(len >> 8);
  out[3] = static_cast<uint8_t>(len);
}

uint32_t get_frame_header(const uint8_t in[kLengthPrefixSize]) {
  return (static_cast<uint32_t>(in[0]) << 24) | (static_cast<uint32_t>(in[1]) << 16) |
         (static_cast<uint32_t>(in[2]) << 8) | static_cast<uint32_t>(in[3]);
}

std::string encode_handshake(const HandshakeMsg& m) {
  std::string s;
  s.push_back(static_cast<char>(m.version));
  s.push_back(static_cast<char>(kHandshakeFrameType));
  s.append(kMagic, sizeof kMagic);
  s.push_back(static_cast<char>(m.kind));
  if (m.kind == HandshakeKind::reject) {
    put_str(s, m.reason);
  } else {
    put_u64(s, m.node_id);
    put_str(s, m.cluster);
    put_str(s, m.node_name);
    if (m.cluster_id) put_u64(s, *m.cluster_id);
  }
  return s;
}

std::string cluster_id_text(uint64_t id) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string cluster_id_mismatch(const std::string& self, uint64_t ours, const std::string& peer,
                                uint64_t theirs) {
  return std::string(kClusterIdMismatch) + ": member '" + peer + "' has cluster id " +
         cluster_id_text(theirs) + ", this node '" + self + "' has " + cluster_id_text(ours) +
         ": one of the two state directories was left from an earlier cluster with the same "
         "name and members, and its Raft log must not be merged into this one. The stale one is "
         "on the node the other members refuse too (usually '" +
         peer +
         "'): stop pgwarden on that node, move its state_dir aside, start it again: it will be "
         "caught up";
}

std::optional<HandshakeMsg> decode_handshake(std::string_view data, std::string* error) {
  Reader r(data);
  HandshakeMsg m;
  uint8_t type = 0, kind = 0;
  std::string_view magic;
  if (!r.u8(&m.version) || !r.u8(&type) || !r.bytes(sizeof kMagic, &magic) ||
      memcmp(magic.data(), kMagic, sizeof kMagic) != 0) {
    *error = "bad handshake magic: not a pgwarden raft peer";
    return std::nullopt;
  }
  if (type != kHandshakeFrameType) {
    *error = "first frame is of type " + std::to_string(type) + ", not a handshake";
    return std::nullopt;
  }
  if (!r.u8(&kind)) {
    *error = "truncated handshake header";
    return std::nullopt;
  }
  if (m.version != kProtocolVersion) {
    // Do not parse a body whose layout we may not know; report the version.
    m.kind = static_cast<HandshakeKind>(kind);
    return m;
  }
  switch (kind) {
    case static_cast<uint8_t>(HandshakeKind::hello):
    case static_cast<uint8_t>(HandshakeKind::accept):
      m.kind = static_cast<HandshakeKind>(kind);
      if (!r.u64(&m.node_id) || !r.str(&m.cluster) || !r.str(&m.node_name)) {
        *error = "truncated handshake body";
        return std::nullopt;
      }
      if (!r.done()) {  // optional trailer: the cluster id
        uint64_t id = 0;
        if (!r.u64(&id)) {
          *error = "truncated cluster id";
          return std::nullopt;
        }
        m.cluster_id = id;
      }
      break;
    case static_cast<uint8_t>(HandshakeKind::reject):
      m.kind = HandshakeKind::reject;
      if (!r.str(&m.reason)) {
        *error = "truncated handshake reject";
        return std::nullopt;
      }
      break;
    default:
      *error = "unknown handshake kind " + std::to_string(kind);
      return std::nullopt;
  }
  if (!r.done()) {
    *error = kTrailingBytesError;
    return std::nullopt;
  }
  return m;
}

}  // namespace pw::consensus
