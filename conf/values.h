// conf/values.h — parsers for the typed values of the INI file (durations,
// sizes, percentages, booleans, ports, host:port, the member list) and the
// formatters that print them back in a form the parsers accept.
//
// Every parser is a total function of its text: it returns the value, or an
// error message saying what is wrong and which forms are accepted. Nothing
// here knows about files, lines or keys; conf/load.cc adds that context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace pw::conf {

/// A parsed value or the reason it could not be parsed.
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // set when !value
  static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
  static Parsed fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
};

/// "500ms", "4s", "1m", "1h", "1d", or a sum of them ("1m30s"). A bare number
/// is rejected: a unit is always required so "3" cannot mean 3 ms by mistake.
Parsed<int64_t> parse_duration_ms(std::string_view text);
/// Bytes: a bare integer, or with a unit B, kB, MB, GB, TB (1024-based, as
/// PostgreSQL counts; units are case-insensitive).
Parsed<uint64_t> parse_size_bytes(std::string_view text);
/// "5%" or "2.5%" → 0.05 / 0.025; between 0% and 100%.
Parsed<double> parse_percent(std::string_view text);
/// on/off, true/false, yes/no, 1/0 (case-insensitive).
Parsed<bool> parse_bool(std::string_view text);
/// A TCP port 1..65535 (0 only when allow_zero, meaning "disabled").
Parsed<uint16_t> parse_port(std::string_view text, bool allow_zero = false);
/// A decimal integer in [min, max].
Parsed<int64_t> parse_int(std::string_view text, int64_t min, int64_t max);

/// A host name or address: a DNS name, IPv4 or IPv6 literal (no brackets).
bool valid_host(std::string_view host);

struct HostPort {
  std::string host;
  uint16_t port = 0;  // 0 when the port was omitted and optional
};
/// "host:port", "[v6addr]:port"; with port_optional also "host" / "[v6]".
Parsed<HostPort> parse_host_port(std::string_view text, bool port_optional = false);

/// "name=host[:raft_port], name=host[:raft_port], ...". Members whose port is
/// omitted get raft_port = 0; the loader fills in [raft] port afterwards.
/// Names: letters, digits, '.', '_', '-'.
Parsed<std::vector<Member>> parse_members(std::string_view text);
bool valid_member_name(std::string_view name);

// Formatters: their output parses back to the same value.
std::string format_duration(int64_t ms);   // largest exact unit: 3000 → "3s"
std::string format_size(uint64_t bytes);   // largest exact unit: 1048576 → "1MB"
std::string format_percent(double ratio);  // 0.05 → "5%"
std::string format_bool(bool b);           // "on" / "off"
std::string format_host_port(const std::string& host, uint16_t port);  // brackets v6
std::string format_members(const std::vector<Member>& members);

/// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace pw::conf
