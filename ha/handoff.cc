// ha/handoff.cc — see handoff.h.
#include "ha/handoff.h"

#include <cerrno>
#include <cstdlib>

namespace pw::node {

namespace {

// Percent-encodes what would break the record's syntax (and anything not
// printable ASCII): '%', ' ', '=', ','.
std::string escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c <= ' ' || c >= 0x7f || c == '%' || c == '=' || c == ',') {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unescape(const std::string& s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      *out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), nullptr, 10);
  if (errno != 0) return false;
  *out = v;
  return true;
}

bool parse_i64(const std::string& s, int64_t* out) {
  bool neg = !s.empty() && s[0] == '-';
  uint64_t v = 0;
  if (!parse_u64(neg ? s.substr(1) : s, &v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

}  // namespace

void HandoffFields::set_list(const std::string& key, const std::vector<std::string>& v) {
  // Items are escaped here (',' included) and the whole value again by
  // encode(): a list of one empty item and an empty list differ.
  std::string s = v.empty() ? "" : "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + escape(v[i]);
  kv_[key] = s;
}

bool HandoffFields::get(const std::string& key, std::string* out) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return false;
  *out = it->second;
  return true;
}

bool HandoffFields::get_u64(const std::string& key, uint64_t* out) const {
  std::string s;
  return get(key, &s) && parse_u64(s, out);
}

bool HandoffFields::get_i64(const std::string& key, int64_t* out) const {
  std::string s;
  return get(key, &s) && parse_i64(s, out);
}

bool HandoffFields::get_list(const std::string& key, std::vector<std::string>* out) const {
  std::string s;
  if (!get(key, &s)) return false;
  std::vector<std::string> items;
  if (!s.empty()) {
    if (s[0] != '[') return false;
    size_t start = 1;
    for (;;) {
      size_t comma = s.find(',', start);
      std::string item;
      if (!unescape(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start), &item))
        return false;
      items.push_back(std::move(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  *out = std::move(items);
  return true;
}

std::string HandoffFields::encode() const {
  std::string out = "v=" + std::to_string(kHandoffVersion) + " compat=" + std::to_string(kHandoffCompat);
  for (const auto& [k, v] : kv_) {
    if (k == "v" || k == "compat") continue;
    out += " " + escape(k) + "=" + escape(v);
  }
  return out;
}

std::optional<HandoffFields> HandoffFields::decode(const std::string& text, std::string* error) {
  HandoffFields f;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    std::string field = text.substr(pos, end - pos);
    pos = end + 1;
    if (field.empty()) continue;
    size_t eq = field.find('=');
    std::string k, v;
    if (eq == std::string::npos || !unescape(field.substr(0, eq), &k) || !unescape(field.substr(eq + 1), &v) ||
        k.empty()) {
      *error = "malformed field '" + field.substr(0, 40) + "'";
      return std::nullopt;
    }
    f.kv_[k] = v;
  }
  uint64_t version = 0, compat = 0;
  if (!f.get_u64("v", &version) || !f.get_u64("compat", &compat) || version == 0 || compat > version) {
    *error = "not a hand-off record (no valid v= and compat=)";
    return std::nullopt;
  }
  if (compat > kHandoffVersion) {
    *error = "written for readers of version " + std::to_string(compat) + " or later; this build reads " +
             std::to_string(kHandoffVersion);
    return std::nullopt;
  }
  return f;
}

void AgentHandoff::write(HandoffFields* f) const {
  f->set_u64("epoch", epoch);
  f->set_i64("lease_until_ms", lease_until_ms);
  f->set_u64("applied_index", applied_index);
  f->set_u64("made_primary", made_primary ? 1 : 0);
  f->set_u64("pg_running", pg_running ? 1 : 0);
  f->set_u64("needs_rewind", needs_rewind ? 1 : 0);
  f->set("following", following);
  f->set_u64("prepared_epoch", prepared_epoch);
  f->set_u64("slots_roster_epoch", slots_roster_epoch);
  f->set_u64("sync_epoch", sync_epoch);
  f->set_list("sync_names", sync_names);
  f->set_u64("sync_k", sync_k);
}

AgentHandoff AgentHandoff::read(const HandoffFields& f) {
  AgentHandoff h;
  uint64_t b = 0;
  f.get_u64("epoch", &h.epoch);
  f.get_i64("lease_until_ms", &h.lease_until_ms);
  f.get_u64("applied_index", &h.applied_index);
  if (f.get_u64("made_primary", &b)) h.made_primary = b != 0;
  if (f.get_u64("pg_running", &b)) h.pg_running = b != 0;
  // Unknown: rewind rather than follow with a directory that may have run ahead.
  h.needs_rewind = !f.get_u64("needs_rewind", &b) || b != 0;
  f.get("following", &h.following);
  f.get_u64("prepared_epoch", &h.prepared_epoch);
  f.get_u64("slots_roster_epoch", &h.slots_roster_epoch);
  f.get_u64("sync_epoch", &h.sync_epoch);
  f.get_list("sync_names", &h.sync_names);
  if (!f.get_u64("sync_k", &h.sync_k)) h.sync_k = 1;  // an older writer's ANY 1
  // A lease without its epoch (or the reverse) is no lease.
  if (h.epoch == 0 || h.lease_until_ms <= 0) {
    h.epoch = 0;
    h.lease_until_ms = 0;
  }
  return h;
}

}  // namespace pw::node
