// ha/agent_world.h — everything the HA agent reaches outside itself, as
// narrow interfaces, so the production agent runs unchanged both in the
// daemon (libevent, real clock, real PostgreSQL) and inside the
// deterministic simulation (tests/sim/sim_ha.cc: virtual time, simulated
// PostgreSQL, simulated Raft network).
//
// The agent is handed: an AgentWorld (clock, wake-ups, the route to the
// proxy), a consensus::RaftNode (proposals, leadership, status transport),
// a pgctl::Postgres (the local server) and a FencerPort (I2).
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/route.h"

namespace pw::node {

class AgentWorld {
 public:
  virtual ~AgentWorld() = default;
  /// Monotonic milliseconds (every timeout and lease).
  virtual int64_t mono_ms() const = 0;
  /// Wall-clock milliseconds (history entries and logs only).
  virtual int64_t wall_ms() const = 0;
  /// Asks for one Agent::kick_now() after `delay_ms` (0 = as soon as the
  /// current callback returns). Requests may be coalesced; never re-entrant.
  virtual void wake(int64_t delay_ms) = 0;
  /// Hands the route to the local proxy (atomic swap in production).
  virtual void publish_route(const proxy::Route& r) = 0;

  // The bootstrap-attempt marker (state_dir/bootstrap-attempt): survives
  // restarts, records that the data directory was made by a bootstrap
  // attempt of this node, with its system id once initdb finished (0 before).
  /// The recorded system id, or nothing when there is no marker (an
  /// unreadable marker reads as 0: "an attempt of unknown outcome").
  virtual std::optional<uint64_t> read_marker() const = 0;
  virtual void write_marker(uint64_t system_id) = 0;
  virtual void remove_marker() = 0;
};

}  // namespace pw::node
