// proxy/pg_wire.cc — see pg_wire.h.
#include "proxy/pg_wire.h"

#include <algorithm>

namespace pw::proxy::wire {

namespace {
void put32(std::string& s, uint32_t v) {
  s.push_back(static_cast<char>(v >> 24));
  s.push_back(static_cast<char>(v >> 16));
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void field(std::string& s, char code, const std::string& value) {
  s.push_back(code);
  s.append(value);
  s.push_back('\0');
}
}  // namespace

std::string error_response(const char* severity, const char* sqlstate, const std::string& message) {
  std::string body;
  field(body, 'S', severity);
  field(body, 'V', severity);  // non-localized severity (protocol 3.0, PG >= 9.6)
  field(body, 'C', sqlstate);
  field(body, 'M', message);
  body.push_back('\0');
  std::string out;
  out.push_back('E');
  put32(out, static_cast<uint32_t>(body.size() + 4));
  out.append(body);
  return out;
}

PacketHead packet_head(const uint8_t* p, size_t n) {
  if (n < kHeaderLen) return {};
  uint32_t len = be32(p), code = be32(p + 4);
  if (code == kCancelRequestCode) {
    if (len != kCancelLen) return {Packet::invalid, 0, "CancelRequest with bad length"};
    return {Packet::cancel_request, kCancelLen, ""};
  }
  if (code == kSslRequestCode || code == kGssEncRequestCode) {
    if (len != kHeaderLen) return {Packet::invalid, 0, "SSL/GSS request with bad length"};
    return {code == kSslRequestCode ? Packet::ssl_request : Packet::gssenc_request, kHeaderLen, ""};
  }
  if ((code >> 16) != 3) return {Packet::invalid, 0, "unsupported protocol version or not PostgreSQL"};
  if (len < kHeaderLen || len > kMaxStartupPacket) return {Packet::invalid, 0, "StartupMessage length out of range"};
  return {Packet::startup, len, ""};
}

FirstPacketScanner::Result FirstPacketScanner::feed(const uint8_t* p, size_t n, size_t* used) {
  size_t i = 0;
  Result r = Result::need_more;
  while (r == Result::need_more && i < n && !done_) {
    if (in_body_) {
      size_t take = std::min<size_t>(skip_, n - i);
      i += take;
      skip_ -= static_cast<uint32_t>(take);
      if (skip_ == 0) {
        done_ = true;
        r = Result::startup;
      }
      continue;
    }
    // Collect the 8-byte header; past it only a CancelRequest (16 bytes)
    // is still collected, every other kind is decided by its header.
    size_t want = have_ < kHeaderLen ? kHeaderLen : kCancelLen;
    size_t take = std::min<size_t>(want - have_, n - i);
    std::copy(p + i, p + i + take, buf_ + have_);
    have_ += static_cast<uint32_t>(take);
    i += take;
    PacketHead h = packet_head(buf_, have_);
    switch (h.kind) {
      case Packet::need_more:
        break;
      case Packet::cancel_request:
        if (have_ == kCancelLen) {
          done_ = true;
          r = Result::cancel_request;
        }
        break;
      case Packet::ssl_request:
      case Packet::gssenc_request:
        if (++requests_ > 2) {
          reason_ = "too many SSL/GSS requests";
          r = Result::invalid;
        } else {
          r = h.kind;
          have_ = 0;
        }
        break;
      case Packet::startup:
        skip_ = h.size - static_cast<uint32_t>(kHeaderLen);
        in_body_ = true;
        if (skip_ == 0) {
          done_ = true;
          r = Result::startup;
        }
        break;
      case Packet::invalid:
        reason_ = h.reason;
        r = Result::invalid;
        break;
    }
    if (r == Result::invalid) done_ = true;
  }
  *used = i;
  return r;
}

}  // namespace pw::proxy::wire
