// base/json_io.h — pgwarden's JSON is nlohmann-json; this file is only its
// edges, where text crosses the network. Parsing is bounded (size, nesting
// depth) and returns errors as values instead of throwing; writing never
// throws (bytes that are not UTF-8 become U+FFFD); and the readers give a
// fallback where nlohmann's accessors would throw on an absent member or a
// member of another type. Both api/ (request bodies) and ctl/ (responses)
// read hostile text, hence base/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pw {

/// A parsed document. Objects are std::maps: O(log n) lookups, and a hostile
/// body of many keys costs no quadratic insertion (as an insertion-ordered
/// map would); no reader needs the text's key order.
using Json = nlohmann::json;
/// A document pgwarden writes: keys stay in the order they were set, so the
/// API's output reads in the order docs/api.md shows (name first, details
/// after) and is the same bytes for the same state.
using JsonOut = nlohmann::ordered_json;

struct JsonLimits {
  size_t max_depth = 32;        // arrays and objects inside each other
  size_t max_size = 16u << 20;  // bytes of text
};

/// Parses `text` completely (trailing text is an error). Never throws: on
/// failure returns nullopt and sets *error to what and where
/// ("nested deeper than 32 levels", "syntax error ... at line 1, column 7 ...").
std::optional<Json> parse_json(std::string_view text, std::string* error, JsonLimits limits = {});

/// `v` as compact text (no spaces). Never throws: strings that are not
/// valid UTF-8 (log lines, paths) get U+FFFD where a byte is invalid.
std::string json_text(const JsonOut& v);

/// Member `key` of `v`, or nullptr when absent or `v` is not an object.
const Json* json_member(const Json& v, std::string_view key);
/// `v` as an integer when it is one and fits: floats, negative numbers for
/// the unsigned form and values past INT64_MAX for the signed form do not.
std::optional<uint64_t> json_as_uint(const Json& v);
std::optional<int64_t> json_as_int(const Json& v);
/// Member `key` of object `v` when present with that type, else `dflt`.
std::string json_str(const Json& v, std::string_view key, const std::string& dflt = "");
uint64_t json_uint(const Json& v, std::string_view key, uint64_t dflt = 0);
int64_t json_int(const Json& v, std::string_view key, int64_t dflt = 0);
bool json_bool(const Json& v, std::string_view key, bool dflt = false);

}  // namespace pw
