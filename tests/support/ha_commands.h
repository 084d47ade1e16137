// tests/support/ha_commands.h — a replicated-state command in one line, for
// the tests of ha/ (cluster state, controllers) that apply many of them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "ha/cluster_state.h"

namespace pw::node {

inline Command cmd(CmdType t, std::string node = "", uint64_t epoch = 0, std::string to = "") {
  Command c;
  c.type = t;
  c.node = std::move(node);
  c.epoch = epoch;
  c.to = std::move(to);
  return c;
}

}  // namespace pw::node
