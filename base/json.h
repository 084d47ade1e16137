// base/json.h — the API's JSON: a writer that cannot produce invalid text
// (commas, escaping and nesting are its job, not the caller's) and a small
// total parser for request bodies and for `pgwarden ctl` reading responses.
// No external library: the API needs objects of strings, numbers and
// booleans, and a parser that never crashes on hostile input.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pw::node {

/// Appends JSON to a string. Keys and values alternate inside objects; the
/// writer inserts separators. Misuse (a value without a key in an object)
/// is a programming error caught by the unit tests, not checked at runtime.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int64_t n);
  JsonWriter& value(uint64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  JsonWriter& value(double d);  // non-finite values are written as null
  JsonWriter& null();
  /// Shorthands for one member of the current object.
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  JsonWriter& null_field(std::string_view k) {
    key(k);
    return null();
  }
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

/// Appends `s` as a quoted JSON string (control characters escaped; bytes
/// that are not valid UTF-8 are replaced by U+FFFD so the output stays valid).
void json_quote(std::string& out, std::string_view s);

/// A parsed JSON value. Numbers keep their double value and, when the text
/// was an integer that fits, the exact integer (LSNs exceed 2^53).
class JsonValue {
 public:
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool b = false;
  double num = 0;
  std::optional<int64_t> integer;
  std::optional<uint64_t> uinteger;
  std::string s;
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;  // in text order

  bool is_null() const { return type == Type::null; }
  bool is_object() const { return type == Type::object; }
  bool is_array() const { return type == Type::array; }
  bool is_string() const { return type == Type::string; }
  bool is_bool() const { return type == Type::boolean; }
  bool is_number() const { return type == Type::number; }
  /// Member `k` of an object (the last one if repeated), or nullptr.
  const JsonValue* get(std::string_view k) const;
  /// Convenience readers with a fallback when absent or of another type.
  std::string str_or(std::string_view k, const std::string& dflt = "") const;
  int64_t int_or(std::string_view k, int64_t dflt = 0) const;
  uint64_t uint_or(std::string_view k, uint64_t dflt = 0) const;
  bool bool_or(std::string_view k, bool dflt = false) const;
};

struct JsonLimits {
  size_t max_depth = 32;
  size_t max_size = 16u << 20;
};

/// Parses `text` completely (trailing garbage is an error). Never throws;
/// on failure returns nullopt and sets *error to what and where
/// ("expected ':' at offset 12").
std::optional<JsonValue> parse_json(std::string_view text, std::string* error, JsonLimits limits = {});

}  // namespace pw::node
