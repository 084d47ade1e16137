// api/schedule_time.cc — see schedule_time.h.
#include "api/schedule_time.h"

#include <cctype>
#include <ctime>

namespace pw::node {

namespace {
// `n` digits at text[*i], advancing *i; -1 when they are not there.
int digits(const std::string& t, size_t* i, int n) {
  int v = 0;
  for (int k = 0; k < n; ++k, ++*i) {
    if (*i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[*i]))) return -1;
    v = v * 10 + (t[*i] - '0');
  }
  return v;
}
bool expect(const std::string& t, size_t* i, char c) {
  if (*i >= t.size() || t[*i] != c) return false;
  ++*i;
  return true;
}
}  // namespace

std::optional<int64_t> parse_schedule_time(const std::string& text, std::string* err) {
  const std::string want = "expected an ISO 8601 time with an offset, e.g. 2026-12-08T04:00:00Z or "
                           "2026-12-08T05:00:00+01:00, not '" + text + "'";
  size_t i = 0;
  tm t{};
  int year = digits(text, &i, 4);
  bool ok = year >= 1970 && expect(text, &i, '-');
  int mon = ok ? digits(text, &i, 2) : -1;
  ok = ok && mon >= 1 && mon <= 12 && expect(text, &i, '-');
  int day = ok ? digits(text, &i, 2) : -1;
  ok = ok && day >= 1 && day <= 31 && i < text.size() && (text[i] == 'T' || text[i] == ' ');
  if (ok) ++i;
  int hour = ok ? digits(text, &i, 2) : -1;
  ok = ok && hour >= 0 && hour <= 23 && expect(text, &i, ':');
  int min = ok ? digits(text, &i, 2) : -1;
  ok = ok && min >= 0 && min <= 59;
  int sec = 0, ms = 0;
  if (ok && i < text.size() && text[i] == ':') {
    ++i;
    sec = digits(text, &i, 2);
    ok = sec >= 0 && sec <= 60;
    if (ok && i < text.size() && (text[i] == '.' || text[i] == ',')) {
      ++i;
      int scale = 100, n = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        ms += (text[i] - '0') * scale;
        scale /= 10;
        ++i;
        ++n;
      }
      ok = n > 0;
    }
  }
  int64_t offset_min = 0;
  if (ok && i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (ok && i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int oh = digits(text, &i, 2);
    if (i < text.size() && text[i] == ':') ++i;
    int om = oh >= 0 ? digits(text, &i, 2) : -1;
    ok = oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
    offset_min = sign * (oh * 60 + om);
  } else {
    ok = false;  // no offset
  }
  if (!ok || i != text.size()) {
    *err = want;
    return std::nullopt;
  }
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec;
  time_t secs = timegm(&t);
  return (static_cast<int64_t>(secs) - offset_min * 60) * 1000 + ms;
}

}  // namespace pw::node
