// pgctl/result.h — outcome of a pgctl operation: ok, or an error text that
// carries its context (which step, which file, the tool's last output lines).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace pw::pgctl {

/// Outcome of an operation: ok, or an error with the child's last output.
struct Result {
  bool ok = true;
  std::string error;
  /// Failure that left the data directory exactly as it was (e.g. the rewind
  /// source was unreachable): the caller may retry, and must not treat the
  /// directory as damaged.
  bool untouched = false;
  /// promote(): the timeline the server writes on afterwards (0 = unknown).
  uint32_t timeline = 0;
  static Result success() { return {}; }
  static Result failure(std::string e) { return {false, std::move(e), false, 0}; }
  static Result failure_untouched(std::string e) { return {false, std::move(e), true, 0}; }
};
using Done = std::function<void(const Result&)>;

}  // namespace pw::pgctl
