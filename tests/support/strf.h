// tests/support/strf.h — building test strings with printf formats. Tests
// use it instead of `"lit" + std::to_string(n)`, which g++ 12 -O2 flags with
// a false -Wrestrict warning (an error under -Werror).
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>

namespace pw::test {

/// printf into a std::string (at most 511 characters).
inline std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string strf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

/// "prefix<n>", e.g. label("n", 3) == "n3".
inline std::string label(const char* prefix, uint64_t n) {
  return strf("%s%llu", prefix, static_cast<unsigned long long>(n));
}

}  // namespace pw::test
