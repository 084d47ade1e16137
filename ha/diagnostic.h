// ha/diagnostic.h — a named condition that keeps the cluster from making
// progress, with a plain explanation and the command that resolves it.
// Kept in the agent's state (the API shows them) and logged once per change.
#pragma once

#include <string>
#include <vector>

namespace pw::node {

struct Diagnostic {
  std::string code;     // stable identifier, e.g. "no_quorum", "init_done_no_data"
  std::string message;  // what is wrong, in plain words, with names
  std::string action;   // what to do / what to type
  bool operator==(const Diagnostic&) const = default;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace pw::node
