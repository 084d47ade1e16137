// ha/agent_state.cc — names and text of AgentState.
#include "ha/agent_state.h"

namespace pw::node {

const char* agent_state_name(AgentState s) {
  switch (s) {
    case AgentState::starting: return "starting";
    case AgentState::stopping: return "stopping";
    case AgentState::handing_off: return "handing_off";
    case AgentState::resuming: return "resuming";
    case AgentState::waiting_bootstrap_decision: return "waiting_bootstrap_decision";
    case AgentState::waiting_for_claimant: return "waiting_for_claimant";
    case AgentState::bootstrap_confirming_claim: return "bootstrap_confirming_claim";
    case AgentState::bootstrapping: return "bootstrapping";
    case AgentState::bootstrap_failed: return "bootstrap_failed";
    case AgentState::moving_aside: return "moving_aside";
    case AgentState::data_dir_unusable: return "data_dir_unusable";
    case AgentState::refusing_foreign_data: return "refusing_foreign_data";
    case AgentState::acquiring_lease: return "acquiring_lease";
    case AgentState::released_pg_died: return "released_pg_died";
    case AgentState::waiting_epoch_acks: return "waiting_epoch_acks";
    case AgentState::starting_primary: return "starting_primary";
    case AgentState::promoting: return "promoting";
    case AgentState::preparing_primary: return "preparing_primary";
    case AgentState::announcing_ready: return "announcing_ready";
    case AgentState::primary: return "primary";
    case AgentState::sync_updating: return "sync_updating";
    case AgentState::fencing: return "fencing";
    case AgentState::switchover_draining: return "switchover_draining";
    case AgentState::switchover_stopping: return "switchover_stopping";
    case AgentState::switchover_waiting_replay: return "switchover_waiting_replay";
    case AgentState::switchover_handing_over: return "switchover_handing_over";
    case AgentState::reinit: return "reinit";
    case AgentState::empty_waiting_primary: return "empty_waiting_primary";
    case AgentState::cloning: return "cloning";
    case AgentState::rewinding: return "rewinding";
    case AgentState::rewind_waiting: return "rewind_waiting";
    case AgentState::starting_standby: return "starting_standby";
    case AgentState::standby_no_primary: return "standby_no_primary";
    case AgentState::following: return "following";
    case AgentState::streaming: return "streaming";
    case AgentState::standby_connecting: return "standby_connecting";
    case AgentState::stopping_to_rewind: return "stopping_to_rewind";
    case AgentState::stopping_pg: return "stopping_pg";
    case AgentState::restarting_pg: return "restarting_pg";
  }
  return "unknown";
}

std::string describe(AgentState s, const std::string& d) {
  auto with = [&](const char* base, const char* sep) {
    return d.empty() ? std::string(base) : std::string(base) + sep + d;
  };
  switch (s) {
    case AgentState::starting: return "starting";
    case AgentState::stopping: return "stopping";
    case AgentState::handing_off: return with("restarting pgwarden in place", ": ");
    case AgentState::resuming: return with("resuming after a restart of pgwarden in place", ": ");
    case AgentState::waiting_bootstrap_decision:
      return with("waiting for the bootstrap decision", " (") + (d.empty() ? "" : ")");
    case AgentState::waiting_for_claimant: return "waiting for " + d + " to bootstrap";
    case AgentState::bootstrap_confirming_claim: return "bootstrap claim: confirming it is current";
    case AgentState::bootstrapping: return with("bootstrap", ": ");
    case AgentState::bootstrap_failed: return "bootstrap failed; waiting for the claim to move to another member";
    case AgentState::moving_aside: return with("moving the data directory aside", ": ");
    case AgentState::data_dir_unusable: return "data directory unusable";
    case AgentState::refusing_foreign_data: return "refusing a foreign data directory";
    case AgentState::acquiring_lease: return "acquiring the lease";
    case AgentState::released_pg_died: return "released the lock: PostgreSQL died";
    case AgentState::waiting_epoch_acks: return "waiting for members to acknowledge the new epoch";
    case AgentState::starting_primary: return with("starting as primary", " ");
    case AgentState::promoting: return "promoting";
    case AgentState::preparing_primary: return with("preparing the primary", " ");
    case AgentState::announcing_ready: return "primary: announcing ready";
    case AgentState::primary: return "primary";
    case AgentState::sync_updating: return with("synchronous mode", ": ");
    case AgentState::fencing: return "fencing: demoting PostgreSQL";
    case AgentState::switchover_draining: return with("switchover: draining connections", ", ");
    case AgentState::switchover_stopping: return "switchover: stopping PostgreSQL";
    case AgentState::switchover_waiting_replay: return "switchover: waiting for " + d + " to replay the final WAL";
    case AgentState::switchover_handing_over: return "switchover: handing over to " + d;
    case AgentState::reinit: return with("reinit", ": ");
    case AgentState::empty_waiting_primary:
      return d.empty() ? "empty, waiting for a primary" : "empty, waiting for " + d + " to be ready";
    case AgentState::cloning: return "cloning from " + d;
    case AgentState::rewinding: return "rewinding from " + d;
    case AgentState::rewind_waiting: return "former primary: waiting for " + d + " to be ready to rewind from it";
    case AgentState::starting_standby: return d.empty() ? "starting as standby (no primary yet)" : "starting as standby of " + d;
    case AgentState::standby_no_primary: return d.empty() ? "standby, no primary" : "standby, waiting for " + d;
    case AgentState::following: return "following " + d;
    case AgentState::streaming: return "streaming from " + d;
    case AgentState::standby_connecting: return "standby, connecting to " + d;
    case AgentState::stopping_to_rewind: return "stopping to rewind";
    case AgentState::stopping_pg: return with("stopping PostgreSQL", " ");
    case AgentState::restarting_pg: return with("restarting PostgreSQL", " ");
  }
  return "unknown";
}

bool is_copying(AgentState s) {
  return s == AgentState::cloning || s == AgentState::rewinding || s == AgentState::rewind_waiting;
}

}  // namespace pw::node
