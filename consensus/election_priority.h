// consensus/election_priority.h — who should stand first when the raft
// leader is lost: a hint the application gives the core
// (Core::set_election_priority, RaftNode::set_election_priority). It only
// shapes the election timeouts, so it affects liveness, never safety.
#pragma once

#include <cstdint>

namespace pw::consensus {

enum class ElectionPriority : uint8_t {
  normal,  ///< election timeout drawn in [T, 2T)
  first,   ///< exactly T: stands before everyone else (the lock holder)
  defer,   ///< drawn in [T + 2, 2T + 2): lets a `first` node stand alone
};
const char* priority_name(ElectionPriority p);

}  // namespace pw::consensus
