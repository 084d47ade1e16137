// conf/values.cc — see values.h. Scalar parsers and formatters; the host,
// host:port and member-list parsers live in conf/values_net.cc.
#include "conf/values.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace pw::conf {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads a run of digits starting at *i into *out; false on none or overflow.
bool take_uint(std::string_view s, size_t* i, uint64_t* out) {
  size_t start = *i;
  uint64_t v = 0;
  while (*i < s.size() && is_digit(s[*i])) {
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, uint64_t(s[*i] - '0'), &v))
      return false;
    ++*i;
  }
  *out = v;
  return *i > start;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

Parsed<int64_t> parse_duration_ms(std::string_view text) {
  const std::string forms =
      "expected a number with a unit: 500ms, 4s, 1m, 1h, 1d, or a sum like 1m30s";
  if (text.empty()) return Parsed<int64_t>::fail("empty duration; " + forms);
  uint64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    uint64_t n = 0;
    if (!take_uint(text, &i, &n))
      return Parsed<int64_t>::fail(quoted(text) + " is not a duration; " + forms);
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = lower(text.substr(ustart, i - ustart));
    uint64_t mult = 0;
    if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m" || unit == "min")
      mult = 60 * 1000;
    else if (unit == "h")
      mult = 3600 * 1000;
    else if (unit == "d")
      mult = 86400 * 1000;
    else if (unit.empty())
      return Parsed<int64_t>::fail(quoted(text) + " has no unit; " + forms);
    else
      return Parsed<int64_t>::fail(quoted(text) + " has an unknown unit " + quoted(unit) + "; " +
                                   forms);
    uint64_t part = 0;
    if (__builtin_mul_overflow(n, mult, &part) || __builtin_add_overflow(total, part, &total) ||
        total > uint64_t(INT64_MAX))
      return Parsed<int64_t>::fail(quoted(text) + " is too large");
  }
  return Parsed<int64_t>::ok(static_cast<int64_t>(total));
}

Parsed<uint64_t> parse_size_bytes(std::string_view text) {
  const std::string forms = "expected bytes or a number with a unit: 8192, 512kB, 1MB, 1GB, 1TB";
  size_t i = 0;
  uint64_t n = 0;
  if (!take_uint(text, &i, &n))
    return Parsed<uint64_t>::fail(quoted(text) + " is not a size; " + forms);
  while (i < text.size() && text[i] == ' ') ++i;
  std::string unit = lower(text.substr(i));
  uint64_t mult = 0;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "kb")
    mult = 1ull << 10;
  else if (unit == "mb")
    mult = 1ull << 20;
  else if (unit == "gb")
    mult = 1ull << 30;
  else if (unit == "tb")
    mult = 1ull << 40;
  else
    return Parsed<uint64_t>::fail(quoted(text) + " has an unknown unit; " + forms);
  uint64_t v = 0;
  if (__builtin_mul_overflow(n, mult, &v))
    return Parsed<uint64_t>::fail(quoted(text) + " is too large");
  return Parsed<uint64_t>::ok(v);
}

Parsed<double> parse_percent(std::string_view text) {
  const std::string forms = "expected a percentage between 0% and 100%, like 5% or 2.5%";
  if (text.size() < 2 || text.back() != '%')
    return Parsed<double>::fail(quoted(text) + " is not a percentage; " + forms);
  std::string num(text.substr(0, text.size() - 1));
  while (!num.empty() && num.back() == ' ') num.pop_back();
  size_t dots = std::count(num.begin(), num.end(), '.');
  bool chars_ok =
      !num.empty() && dots <= 1 && num.front() != '.' && num.back() != '.' &&
      std::all_of(num.begin(), num.end(), [](char c) { return is_digit(c) || c == '.'; });
  if (!chars_ok) return Parsed<double>::fail(quoted(text) + " is not a percentage; " + forms);
  double v = std::strtod(num.c_str(), nullptr);
  if (v > 100.0) return Parsed<double>::fail(quoted(text) + " is over 100%; " + forms);
  return Parsed<double>::ok(v / 100.0);
}

Parsed<bool> parse_bool(std::string_view text) {
  std::string t = lower(text);
  if (t == "on" || t == "true" || t == "yes" || t == "1") return Parsed<bool>::ok(true);
  if (t == "off" || t == "false" || t == "no" || t == "0") return Parsed<bool>::ok(false);
  return Parsed<bool>::fail(quoted(text) +
                            " is not a boolean; expected on/off, true/false, yes/no or 1/0");
}

Parsed<int64_t> parse_int(std::string_view text, int64_t min, int64_t max) {
  const std::string range =
      "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
  size_t i = 0;
  bool neg = !text.empty() && text[0] == '-';
  if (neg || (!text.empty() && text[0] == '+')) i = 1;
  uint64_t n = 0;
  if (!take_uint(text, &i, &n) || i != text.size())
    return Parsed<int64_t>::fail(quoted(text) + " is not an integer; " + range);
  if (n > uint64_t(INT64_MAX))
    return Parsed<int64_t>::fail(quoted(text) + " is out of range; " + range);
  int64_t v = neg ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
  if (v < min || v > max) return Parsed<int64_t>::fail(quoted(text) + " is out of range; " + range);
  return Parsed<int64_t>::ok(v);
}

Parsed<uint16_t> parse_port(std::string_view text, bool allow_zero) {
  auto n = parse_int(text, allow_zero ? 0 : 1, 65535);
  if (!n.value) {
    std::string what =
        allow_zero ? "a port from 1 to 65535, or 0 to disable" : "a port from 1 to 65535";
    return Parsed<uint16_t>::fail(quoted(text) + " is not a valid port; expected " + what);
  }
  return Parsed<uint16_t>::ok(static_cast<uint16_t>(*n.value));
}

std::string format_duration(int64_t ms) {
  if (ms == 0) return "0s";
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static const Unit units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  for (const Unit& u : units)
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  return std::to_string(ms) + "ms";
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  struct Unit {
    int shift;
    const char* name;
  };
  static const Unit units[] = {{40, "TB"}, {30, "GB"}, {20, "MB"}, {10, "kB"}};
  for (const Unit& u : units)
    if (bytes % (1ull << u.shift) == 0) return std::to_string(bytes >> u.shift) + u.name;
  return std::to_string(bytes);
}

std::string format_percent(double ratio) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.10g%%", ratio * 100.0);
  return buf;
}

std::string format_bool(bool b) {
  return b ? "on" : "off";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and
  // transpositions of neighbours ("prot" → "port") each cost one.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace pw::conf
