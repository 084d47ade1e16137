// node/sync_controller.cc — see sync_controller.h.
#include "node/sync_controller.h"

#include <algorithm>
#include <iterator>

namespace pw::node {

bool SyncController::reconcile() {
  const ClusterState& s = ctx_.state();
  const uint64_t E = s.epoch;
  if (inflight_) return true;
  if (epoch_ != E) {
    // New epoch: PostgreSQL's setting is unknown (inherited from another
    // epoch); narrowing to asynchronous is always safe.
    ctx_.activity.begin(AgentState::sync_updating, "resetting synchronous_standby_names");
    ctx_.pg().set_synchronous_standby_names("", ctx_.activity.done([this, E](const pgctl::Result& r) {
      if (r.ok) {
        epoch_ = E;
        pg_sync_.clear();
      }
    }));
    return true;
  }
  std::vector<std::string> desired;
  for (const auto& sb : ctx_.local.status().standbys)
    if (sb.state == "streaming" && ctx_.member_id(sb.application_name) != 0 && sb.application_name != ctx_.self())
      desired.push_back(sb.application_name);
  std::sort(desired.begin(), desired.end());
  desired.erase(std::unique(desired.begin(), desired.end()), desired.end());
  std::vector<std::string> committed = s.sync;
  std::sort(committed.begin(), committed.end());
  std::vector<std::string> uni;
  std::set_union(committed.begin(), committed.end(), desired.begin(), desired.end(), std::back_inserter(uni));
  auto commit = [this, E](std::vector<std::string> members) {
    inflight_ = true;
    Command c;
    c.type = CmdType::set_sync;
    c.epoch = E;
    c.node = ctx_.self();
    c.members = std::move(members);
    ctx_.propose(c, [this](bool) { inflight_ = false; });
  };
  if (uni != committed) {
    ctx_.activity.set(AgentState::sync_updating, "committing the wider set");
    commit(uni);
    return true;
  }
  if (pg_sync_ != desired) {
    std::string value;
    if (!desired.empty()) {
      value = "ANY 1 (";
      for (size_t i = 0; i < desired.size(); ++i) value += (i ? ",\"" : "\"") + desired[i] + "\"";
      value += ")";
    }
    ctx_.activity.begin(AgentState::sync_updating, "synchronous_standby_names = '" + value + "'");
    ctx_.pg().set_synchronous_standby_names(value, ctx_.activity.done([this, desired](const pgctl::Result& r) {
      if (r.ok) pg_sync_ = desired;
    }));
    return true;
  }
  if (committed != desired) {
    ctx_.activity.set(AgentState::sync_updating, "committing the narrower set");
    commit(desired);
    return true;
  }
  return false;
}

}  // namespace pw::node
