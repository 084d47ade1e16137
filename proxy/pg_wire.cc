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
    // Collect the 8-byte header (16 bytes for a CancelRequest).
    uint32_t want = kHeaderLen;
    if (have_ >= kHeaderLen && be32(buf_ + 4) == kCancelRequestCode) want = kCancelLen;
    size_t take = std::min<size_t>(want - have_, n - i);
    std::copy(p + i, p + i + take, buf_ + have_);
    have_ += static_cast<uint32_t>(take);
    i += take;
    if (have_ < want) continue;
    uint32_t len = be32(buf_), code = be32(buf_ + 4);
    if (want == kCancelLen) {
      done_ = true;
      r = Result::cancel_request;
    } else if (code == kCancelRequestCode) {
      if (len != kCancelLen) {
        reason_ = "CancelRequest with bad length";
        r = Result::invalid;
      }
      // else: loop again to collect the 8 key bytes
    } else if (code == kSslRequestCode || code == kGssEncRequestCode) {
      if (len != kHeaderLen || ++requests_ > 2) {
        reason_ = len != kHeaderLen ? "SSL/GSS request with bad length" : "too many SSL/GSS requests";
        r = Result::invalid;
      } else {
        r = code == kSslRequestCode ? Result::ssl_request : Result::gssenc_request;
        have_ = 0;
      }
    } else if ((code >> 16) != 3) {
      reason_ = "unsupported protocol version or not PostgreSQL";
      r = Result::invalid;
    } else if (len < kHeaderLen || len > kMaxStartupPacket) {
      reason_ = "StartupMessage length out of range";
      r = Result::invalid;
    } else {
      skip_ = len - static_cast<uint32_t>(kHeaderLen);
      in_body_ = true;
      if (skip_ == 0) {
        done_ = true;
        r = Result::startup;
      }
    }
    if (r == Result::invalid) done_ = true;
  }
  *used = i;
  return r;
}

}  // namespace pw::proxy::wire
