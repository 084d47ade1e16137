// conf/schema_setters.h — the typed apply/show function templates the key
// table in conf/schema.cc is built from (internal to conf/). Each template is
// instantiated per Config field, so every table row is a plain function
// pointer pair and the table needs no per-key code.
#pragma once

#include <cctype>
#include <string>
#include <type_traits>

#include "conf/config.h"
#include "conf/values.h"

namespace pw::conf::setters {

inline std::string empty_error() {
  return "empty value; remove the line to use the default";
}

template <auto F, int64_t Min = 0>
std::string set_duration(Config& c, const std::string& v) {
  auto p = parse_duration_ms(v);
  if (!p.value) return p.error;
  if (*p.value < Min) return "'" + v + "' is too short; minimum is " + format_duration(Min);
  c.*F = *p.value;
  return "";
}
template <auto F>
std::string show_duration(const Config& c) {
  return format_duration(c.*F);
}

template <auto F, uint64_t Min = 0>
std::string set_size(Config& c, const std::string& v) {
  auto p = parse_size_bytes(v);
  if (!p.value) return p.error;
  if (*p.value < Min) return "'" + v + "' is too small; minimum is " + format_size(Min);
  c.*F = *p.value;
  return "";
}
template <auto F>
std::string show_size(const Config& c) {
  return format_size(c.*F);
}

template <auto F>
std::string set_percent(Config& c, const std::string& v) {
  auto p = parse_percent(v);
  if (!p.value) return p.error;
  c.*F = *p.value;
  return "";
}
template <auto F>
std::string show_percent(const Config& c) {
  return format_percent(c.*F);
}

template <auto F>
std::string set_bool(Config& c, const std::string& v) {
  auto p = parse_bool(v);
  if (!p.value) return p.error;
  c.*F = *p.value;
  return "";
}
template <auto F>
std::string show_bool(const Config& c) {
  return format_bool(c.*F);
}

template <auto F, bool AllowZero = false>
std::string set_port(Config& c, const std::string& v) {
  auto p = parse_port(v, AllowZero);
  if (!p.value) return p.error;
  c.*F = *p.value;
  return "";
}
template <auto F>
std::string show_port(const Config& c) {
  return std::to_string(c.*F);
}

template <auto F, int64_t Min, int64_t Max>
std::string set_int(Config& c, const std::string& v) {
  auto p = parse_int(v, Min, Max);
  if (!p.value) return p.error;
  c.*F = static_cast<std::remove_reference_t<decltype(c.*F)>>(*p.value);
  return "";
}
template <auto F>
std::string show_int(const Config& c) {
  return std::to_string(c.*F);
}

template <auto F>
std::string show_string(const Config& c) {
  return c.*F;
}

/// Any text, empty allowed (e.g. extra initdb arguments).
template <auto F>
std::string set_text(Config& c, const std::string& v) {
  c.*F = v;
  return "";
}

/// An absolute path: services start in "/", so a relative one is a trap.
template <auto F>
std::string set_path(Config& c, const std::string& v) {
  if (v.empty()) return empty_error();
  if (v[0] != '/')
    return "'" + v + "' is not an absolute path; write it from the root, like /var/lib/pgwarden";
  c.*F = v;
  return "";
}

/// A member or cluster name: letters, digits, '.', '_', '-'.
template <auto F>
std::string set_name(Config& c, const std::string& v) {
  if (v.empty()) return empty_error();
  if (!valid_member_name(v))
    return "'" + v + "' is not a valid name; use letters, digits, '.', '_' and '-' (at most 63)";
  c.*F = v;
  return "";
}

/// A PostgreSQL role or OS user name: a plain identifier.
template <auto F>
std::string set_identifier(Config& c, const std::string& v) {
  if (v.empty()) return empty_error();
  bool ok = !std::isdigit(static_cast<unsigned char>(v[0])) && v.size() <= 63;
  for (char ch : v)
    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-');
  if (!ok)
    return "'" + v +
           "' is not a valid name; use letters, digits, '_' and '-', not starting with a digit";
  c.*F = v;
  return "";
}

/// One address to bind: an IP literal or host name ("0.0.0.0" / "::" = all).
template <auto F>
std::string set_listen_host(Config& c, const std::string& v) {
  if (v.empty()) return empty_error();
  if (!valid_host(v))
    return "'" + v + "' is not a host name or IP address; use e.g. 10.0.0.120, 0.0.0.0 or ::";
  c.*F = v;
  return "";
}

}  // namespace pw::conf::setters
