// ha/agent_state.h — what the agent is doing, as one enum (STYLE §3).
// Diagnostics and the API read the enum; the gossiped/API text is rendered
// from it (plus a detail such as the member being cloned from).
#pragma once

#include <cstdint>
#include <string>

namespace pw::node {

enum class AgentState : uint8_t {
  starting,
  stopping,
  // in-place restart of pgwarden (ha/handoff_controller.h)
  handing_off,                // detail: step
  resuming,                   // detail: what it waits for
  // bootstrap
  waiting_bootstrap_decision,
  waiting_for_claimant,       // detail: claimant
  bootstrap_confirming_claim, // reading the claim back through the log before initdb
  bootstrapping,              // detail: step
  bootstrap_failed,
  moving_aside,               // detail: why
  // data directory problems
  data_dir_unusable,
  refusing_foreign_data,
  // primary
  acquiring_lease,
  released_pg_died,
  waiting_epoch_acks,
  starting_primary,
  promoting,
  preparing_primary,
  announcing_ready,
  primary,
  sync_updating,              // detail: what
  fencing,
  // switchover (old primary)
  switchover_draining,
  switchover_stopping,
  switchover_waiting_replay,  // detail: target
  switchover_handing_over,    // detail: target
  // standby
  reinit,
  empty_waiting_primary,      // detail: primary or ""
  cloning,                    // detail: source
  rewinding,                  // detail: source
  rewind_waiting,             // detail: primary
  starting_standby,           // detail: upstream or ""
  standby_no_primary,         // detail: primary not ready or ""
  following,                  // detail: primary
  streaming,                  // detail: primary
  standby_connecting,         // detail: primary
  stopping_to_rewind,
  stopping_pg,                // detail: why
  restarting_pg,              // `ctl restart`: stopping PostgreSQL to start it again (detail: why)
};

const char* agent_state_name(AgentState s);
/// Human text for logs, the API and `ctl list`, e.g. "cloning from n2".
std::string describe(AgentState s, const std::string& detail);
/// True for states whose failure means "this member cannot get a copy of
/// the data" (the clone_failing diagnostic).
bool is_copying(AgentState s);

}  // namespace pw::node
