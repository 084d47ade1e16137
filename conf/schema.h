// conf/schema.h — the table of every section and key of the INI file: its
// type (through a parser), default, meaning and where it lands in Config.
//
// One table drives loading (unknown keys, "did you mean", required keys),
// printing (render_config) and the README reference (reference_markdown),
// so the three cannot drift apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace pw::conf {

/// Free-form pass-through section: every key is a postgresql.conf parameter.
inline constexpr const char* kParametersSection = "postgresql.parameters";

struct KeySpec {
  const char* section;
  const char* key;
  bool required;
  /// Default shown in docs when it is not simply the field's initial value
  /// (e.g. "this member's host"); nullptr = use show(Config{}).
  const char* default_doc;
  const char* meaning;
  /// Parses `value` into `c`; returns "" or what is wrong with the value.
  std::string (*apply)(Config& c, const std::string& value);
  /// The current value as INI text; "" when unset (optional and empty).
  std::string (*show)(const Config& c);
};

/// Keys that may be given several times (each occurrence adds to a list;
/// `show` then returns one value per line).
bool repeatable_key(std::string_view section, std::string_view key);

/// Every key, grouped by section in the order sections are printed.
const std::vector<KeySpec>& schema();
/// Every section name in print order (includes kParametersSection).
const std::vector<std::string>& section_names();
/// nullptr when unknown.
const KeySpec* find_key(std::string_view section, std::string_view key);
bool is_known_section(std::string_view section);

/// The closest candidate within a small edit distance, or "".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

/// Parameters pgwarden writes itself; setting them in [postgresql.parameters]
/// is an error. Returns what to use instead, or nullptr if the name is free.
const char* managed_parameter(std::string_view name);

}  // namespace pw::conf
