// pgctl/result.h — outcome of a pgctl operation: ok, or an error text that
// carries its context (which step, which file, the tool's last output lines).
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace pw::pgctl {

/// Outcome of an operation: ok, or an error with the child's last output.
struct Result {
  bool ok = true;
  std::string error;
  static Result success() { return {}; }
  static Result failure(std::string e) { return {false, std::move(e)}; }
};
using Done = std::function<void(const Result&)>;

}  // namespace pw::pgctl
