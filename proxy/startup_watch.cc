// proxy/startup_watch.cc — see startup_watch.h.
#include "proxy/startup_watch.h"

#include <string_view>

#include "proxy/pg_wire.h"

namespace pw::proxy {

namespace {

// A startup packet is at most kMaxStartupPacket; two SSL/GSS requests may come first.
constexpr size_t kMaxClientBytes = wire::kMaxStartupPacket + 2 * wire::kHeaderLen;
// A server's refusal is a short ErrorResponse; a longer first message is no refusal.
constexpr uint32_t kMaxErrorLen = 4096;

bool is_encryption_request(const std::string& c, size_t at) {
  if (c.size() < at) return false;
  wire::Packet k = wire::packet_head(reinterpret_cast<const uint8_t*>(c.data() + at), c.size() - at).kind;
  return k == wire::Packet::ssl_request || k == wire::Packet::gssenc_request;
}

}  // namespace

bool StartupWatch::client_bytes(const uint8_t* p, size_t n) {
  if (client_.size() + n > kMaxClientBytes) return false;
  client_.append(reinterpret_cast<const char*>(p), n);
  return true;
}

StartupWatch::Step StartupWatch::server_bytes(const uint8_t* p, size_t n, std::string* forward,
                                              std::string* to_server) {
  // One-byte answers to SSLRequest/GSSENCRequest, one per request (libpq may
  // send a GSSENCRequest, get 'N', then an SSLRequest). The server answers
  // only after reading a whole packet, so the client bytes it answers are here.
  while (n > 0 && held_.empty() && is_encryption_request(client_, answered_)) {
    bool replayed = answered_ < replayed_prefix_;  // the client had this answer already
    char c = static_cast<char>(*p);
    if (c != 'N') {
      if (replayed) return Step::mismatch;  // the client was told 'N' by another server
      if (c == 'S' || c == 'G') {           // TLS from here on: nothing more to read
        encrypted_ = true;
        forward->append(reinterpret_cast<const char*>(p), n);
        return Step::done;
      }
      break;  // an ErrorResponse to the request itself (old servers): a first message
    }
    if (!replayed) forward->push_back('N');
    ++p;
    --n;
    answered_ += wire::kHeaderLen;
    // The rest of a replay goes only now: PostgreSQL refuses bytes that
    // arrive with an SSL request ("received unencrypted data after SSL
    // request"), and the next request, if any, also waits for its answer.
    if (replayed && !pending_rest_.empty()) {
      size_t next = answered_ < replayed_prefix_ ? wire::kHeaderLen : pending_rest_.size();
      to_server->append(pending_rest_, 0, next);
      pending_rest_.erase(0, next);
    }
  }
  if (n == 0) return Step::watching;
  held_.append(reinterpret_cast<const char*>(p), n);
  return parse_first_message(forward);
}

StartupWatch::Step StartupWatch::parse_first_message(std::string* forward) {
  const auto* h = reinterpret_cast<const uint8_t*>(held_.data());  // not empty here
  if (h[0] != 'E') return finish(forward);
  if (held_.size() < 5) return Step::watching;
  uint32_t len = wire::be32(h + 1);
  if (len < 4 || len > kMaxErrorLen) return finish(forward);
  if (held_.size() < 1 + static_cast<size_t>(len)) return Step::watching;
  bool cannot_connect_now = false;
  // Fields: a type byte and a NUL-terminated string each, then a 0 byte.
  for (size_t i = 5, end = 1 + static_cast<size_t>(len); i < end && h[i] != 0;) {
    char type = static_cast<char>(h[i++]);
    size_t start = i;
    while (i < end && h[i] != 0) ++i;
    std::string_view value(held_.data() + start, i - start);
    ++i;
    if (type == 'C') cannot_connect_now = value == "57P03";
    if (type == 'M') message_ = value;
  }
  return cannot_connect_now ? Step::refused : finish(forward);
}

StartupWatch::Step StartupWatch::finish(std::string* forward) {
  forward->append(release());
  return Step::done;
}

std::string StartupWatch::release() {
  std::string out;
  out.swap(held_);
  return out;
}

std::string StartupWatch::begin_replay() {
  held_.clear();
  replayed_prefix_ = answered_;
  // client_ stays whole: the next server gets all of it again (prefix, then
  // the rest as queued bytes), and its answers are matched from the start.
  std::string rest = client_.substr(answered_);
  answered_ = 0;
  return rest;
}

std::string StartupWatch::replay_start() {
  // Requests are answered one at a time: send the first and keep the rest.
  size_t first = replayed_prefix_ > 0 ? wire::kHeaderLen : client_.size();
  pending_rest_ = client_.substr(first);
  return client_.substr(0, first);
}

}  // namespace pw::proxy
