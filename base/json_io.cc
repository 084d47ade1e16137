// base/json_io.cc — see json_io.h: bounded parsing, non-throwing writing,
// total readers over nlohmann-json.
#include "base/json_io.h"

#include <limits>

namespace pw {

namespace {

// Thrown by the parse callback at the first container past the depth limit,
// so parsing stops there instead of building (and later walking) the rest.
struct TooDeep {};

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ...":
// the bracketed id means nothing to an operator.
std::string without_id(const char* what) {
  std::string_view w(what);
  if (!w.empty() && w.front() == '[') {
    size_t close = w.find("] ");
    if (close != std::string_view::npos) w.remove_prefix(close + 2);
  }
  return std::string(w);
}

}  // namespace

std::optional<Json> parse_json(std::string_view text, std::string* error, JsonLimits limits) {
  auto fail = [error](std::string what) -> std::optional<Json> {
    if (error) *error = std::move(what);
    return std::nullopt;
  };
  if (text.size() > limits.max_size)
    return fail("document larger than " + std::to_string(limits.max_size) + " bytes");
  // `depth` counts the containers already open around the one starting.
  auto bound = [&limits](int depth, Json::parse_event_t ev, Json&) {
    bool opens = ev == Json::parse_event_t::object_start || ev == Json::parse_event_t::array_start;
    if (opens && static_cast<size_t>(depth) >= limits.max_depth) throw TooDeep{};
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), bound);
  } catch (const TooDeep&) {
    return fail("nested deeper than " + std::to_string(limits.max_depth) + " levels");
  } catch (const Json::exception& e) {
    return fail(without_id(e.what()));
  }
}

std::string json_text(const JsonOut& v) { return v.dump(-1, ' ', false, JsonOut::error_handler_t::replace); }

const Json* json_member(const Json& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  auto it = v.find(key);
  return it == v.end() ? nullptr : &*it;
}

std::optional<uint64_t> json_as_uint(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

std::optional<int64_t> json_as_int(const Json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

std::string json_str(const Json& v, std::string_view key, const std::string& dflt) {
  const Json* m = json_member(v, key);
  return m && m->is_string() ? m->get<std::string>() : dflt;
}

uint64_t json_uint(const Json& v, std::string_view key, uint64_t dflt) {
  const Json* m = json_member(v, key);
  return m ? json_as_uint(*m).value_or(dflt) : dflt;
}

int64_t json_int(const Json& v, std::string_view key, int64_t dflt) {
  const Json* m = json_member(v, key);
  return m ? json_as_int(*m).value_or(dflt) : dflt;
}

bool json_bool(const Json& v, std::string_view key, bool dflt) {
  const Json* m = json_member(v, key);
  return m && m->is_boolean() ? m->get<bool>() : dflt;
}

}  // namespace pw
