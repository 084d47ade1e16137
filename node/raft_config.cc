// node/raft_config.cc — see raft_config.h.
#include "node/raft_config.h"

#include <algorithm>

namespace pw::node {

consensus::RaftOptions raft_options(const conf::Config& c) {
  consensus::RaftOptions o;
  o.cluster_name = c.cluster_name;
  for (size_t i = 0; i < c.members.size(); ++i) {
    const auto& m = c.members[i];
    o.peers.push_back({i + 1, m.name, m.host, m.raft_port});
    if (m.name == c.node_name) o.self_id = i + 1;
  }
  o.state_dir = c.state_dir;
  o.tick_ms = c.raft_tick_ms;
  o.election_ticks = static_cast<int>(std::max<int64_t>(2, c.raft_election_timeout_ms / c.raft_tick_ms));
  o.heartbeat_ticks = static_cast<int>(std::max<int64_t>(1, c.raft_heartbeat_interval_ms / c.raft_tick_ms));
  o.max_frame_size = c.raft_max_frame_size;
  o.snapshot_entries = c.raft_snapshot_entries;
  o.tls = {c.tls_ca_file, c.tls_cert_file, c.tls_key_file};
  return o;
}

}  // namespace pw::node
