// ha/op_result.h — the outcome of an operator request (switchover,
// pause, member add, ...): ok or an error an HTTP handler returns as is.
#pragma once

#include <functional>
#include <string>

namespace pw::node {

struct OpResult {
  int http_status = 200;
  std::string message;
};
using OpDone = std::function<void(const OpResult&)>;

}  // namespace pw::node
