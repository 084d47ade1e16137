// base/json.cc — see json.h: the JSON writer and the total parser.
#include "base/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace pw::node {

// ---- writer ------------------------------------------------------------------

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3) {
    uint32_t cp = ((c & 0x0fu) << 12) | ((b(1) & 0x3fu) << 6) | (b(2) & 0x3fu);
    if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  }
  if (n == 4) {
    uint32_t cp = ((c & 0x07u) << 18) | ((b(1) & 0x3fu) << 12) | ((b(2) & 0x3fu) << 6) | (b(3) & 0x3fu);
    if (cp < 0x10000 || cp > 0x10ffff) return 0;
  }
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

void json_quote(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        }
      }
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      size_t n = utf8_len(s, i);
      if (n == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD: log lines and paths may hold any bytes
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
    }
  }
  out.push_back('"');
}

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  json_quote(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  json_quote(out_, s);
  return *this;
}
JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::value(int64_t n) {
  separate();
  out_ += std::to_string(n);
  return *this;
}
JsonWriter& JsonWriter::value(uint64_t n) {
  separate();
  out_ += std::to_string(n);
  return *this;
}
JsonWriter& JsonWriter::value(double d) {
  separate();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
  out_.append(buf, r.ptr);
  return *this;
}
JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

// ---- value accessors --------------------------------------------------------

const JsonValue* JsonValue::get(std::string_view k) const {
  if (type != Type::object) return nullptr;
  const JsonValue* found = nullptr;
  for (const auto& [name, v] : members)
    if (name == k) found = &v;
  return found;
}
std::string JsonValue::str_or(std::string_view k, const std::string& dflt) const {
  const JsonValue* v = get(k);
  return v && v->is_string() ? v->s : dflt;
}
int64_t JsonValue::int_or(std::string_view k, int64_t dflt) const {
  const JsonValue* v = get(k);
  return v && v->integer ? *v->integer : dflt;
}
uint64_t JsonValue::uint_or(std::string_view k, uint64_t dflt) const {
  const JsonValue* v = get(k);
  return v && v->uinteger ? *v->uinteger : dflt;
}
bool JsonValue::bool_or(std::string_view k, bool dflt) const {
  const JsonValue* v = get(k);
  return v && v->is_bool() ? v->b : dflt;
}

// ---- parser -------------------------------------------------------------------

namespace {

class Parser {
 public:
  Parser(std::string_view t, JsonLimits l) : t_(t), lim_(l) {}

  std::optional<JsonValue> run(std::string* error) {
    JsonValue v;
    bool ok = t_.size() <= lim_.max_size || fail("document larger than " + std::to_string(lim_.max_size) + " bytes");
    ok = ok && value(v, 0);
    if (ok) {
      ws();
      if (i_ != t_.size()) ok = fail("unexpected text after the JSON value");
    }
    if (!ok) {
      if (error) *error = err_ + " at offset " + std::to_string(err_at_);
      return std::nullopt;
    }
    return v;
  }

 private:
  bool fail(const std::string& what) {
    if (err_.empty()) {
      err_ = what;
      err_at_ = i_;
    }
    return false;
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return fail("invalid literal");
    i_ += word.size();
    return true;
  }

  bool value(JsonValue& v, size_t depth) {
    ws();
    if (i_ >= t_.size()) return fail("unexpected end of input");
    char c = t_[i_];
    switch (c) {
      case '{': return object(v, depth + 1);
      case '[': return array(v, depth + 1);
      case '"': v.type = JsonValue::Type::string; return string(v.s);
      case 't': v.type = JsonValue::Type::boolean; v.b = true; return literal("true");
      case 'f': v.type = JsonValue::Type::boolean; v.b = false; return literal("false");
      case 'n': v.type = JsonValue::Type::null; return literal("null");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number(v);
        return fail(std::string("unexpected character '") + printable(c) + "'");
    }
  }

  static std::string printable(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  bool object(JsonValue& v, size_t depth) {
    if (depth > lim_.max_depth) return fail("nested deeper than " + std::to_string(lim_.max_depth) + " levels");
    v.type = JsonValue::Type::object;
    ++i_;  // '{'
    ws();
    if (i_ < t_.size() && t_[i_] == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      ws();
      if (i_ >= t_.size() || t_[i_] != '"') return fail("expected a string key");
      std::string k;
      if (!string(k)) return false;
      ws();
      if (i_ >= t_.size() || t_[i_] != ':') return fail("expected ':'");
      ++i_;
      JsonValue m;
      if (!value(m, depth)) return false;
      v.members.emplace_back(std::move(k), std::move(m));
      ws();
      if (i_ >= t_.size()) return fail("unterminated object");
      if (t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (t_[i_] == '}') {
        ++i_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(JsonValue& v, size_t depth) {
    if (depth > lim_.max_depth) return fail("nested deeper than " + std::to_string(lim_.max_depth) + " levels");
    v.type = JsonValue::Type::array;
    ++i_;  // '['
    ws();
    if (i_ < t_.size() && t_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      JsonValue item;
      if (!value(item, depth)) return false;
      v.items.push_back(std::move(item));
      ws();
      if (i_ >= t_.size()) return fail("unterminated array");
      if (t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (t_[i_] == ']') {
        ++i_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t* out) {
    if (t_.size() - i_ < 4) return fail("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return fail("invalid \\u escape");
    }
    *out = v;
    return true;
  }

  bool string(std::string& out) {
    ++i_;  // opening quote
    for (;;) {
      if (i_ >= t_.size()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= t_.size()) return fail("unterminated escape");
      char e = t_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (t_.substr(i_, 2) != "\\u") return fail("unpaired surrogate");
            i_ += 2;
            if (!hex4(&lo)) return false;
            if (lo < 0xdc00 || lo > 0xdfff) return fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --i_;
          return fail(std::string("invalid escape '\\") + printable(e) + "'");
      }
    }
  }

  bool number(JsonValue& v) {
    size_t start = i_;
    bool integral = true;
    if (t_[i_] == '-') ++i_;
    auto digits = [&] {
      size_t s = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      return i_ - s;
    };
    if (i_ < t_.size() && t_[i_] == '0') {
      ++i_;
    } else if (digits() == 0) {
      return fail("invalid number");
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      integral = false;
      if (digits() == 0) return fail("invalid number: digits expected after '.'");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      integral = false;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (digits() == 0) return fail("invalid number: digits expected in the exponent");
    }
    std::string text(t_.substr(start, i_ - start));
    v.type = JsonValue::Type::number;
    v.num = strtod(text.c_str(), nullptr);
    if (integral) {
      int64_t si;
      auto r = std::from_chars(text.data(), text.data() + text.size(), si);
      if (r.ec == std::errc() && r.ptr == text.data() + text.size()) v.integer = si;
      uint64_t ui;
      auto r2 = std::from_chars(text.data(), text.data() + text.size(), ui);
      if (r2.ec == std::errc() && r2.ptr == text.data() + text.size()) v.uinteger = ui;
    }
    return true;
  }

  std::string_view t_;
  JsonLimits lim_;
  size_t i_ = 0;
  std::string err_;
  size_t err_at_ = 0;
};

}  // namespace

std::optional<JsonValue> parse_json(std::string_view text, std::string* error, JsonLimits limits) {
  return Parser(text, limits).run(error);
}

}  // namespace pw::node
