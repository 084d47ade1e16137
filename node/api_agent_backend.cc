// node/api_agent_backend.cc — see api_agent_backend.h.
#include "node/api_agent_backend.h"

namespace pw::node {

HealthFacts AgentBackend::health() const {
  HealthFacts h;
  h.pg = agent_->pg_status();
  h.ready_as_primary = agent_->pg_ready_as_primary();
  h.holds_lease = agent_->holds_lease();
  h.lease_remaining_ms = agent_->lease_remaining_ms();
  h.agent_state = agent_->agent_state();
  return h;
}

ClusterFacts AgentBackend::cluster() const {
  const conf::Config& cfg = agent_->config();
  ClusterFacts c;
  c.cluster_name = cfg.cluster_name;
  c.self = cfg.node_name;
  c.state = agent_->state();
  c.diagnostics = agent_->diagnostics();
  c.synchronous_mode = cfg.ha_synchronous_mode;
  c.synchronous_mode_strict = cfg.ha_synchronous_mode_strict;
  c.synchronous_node_count = cfg.ha_synchronous_node_count;
  std::map<std::string, SeenStatus> seen = agent_->seen();
  for (const auto& m : agent_->roster()) {
    MemberFacts f;
    f.name = m.name;
    f.host = m.host;
    if (auto it = seen.find(m.name); it != seen.end()) {
      f.seen = true;
      f.fresh = it->second.fresh;
      f.status = it->second.status;
    }
    c.members.push_back(std::move(f));
  }
  if (consensus::RaftNode* r = agent_->raft()) {
    c.raft_term = r->term();
    uint64_t leader = r->leader_id();
    c.decider = agent_->member_name(leader);
  }
  return c;
}

RaftFacts AgentBackend::raft() const {
  RaftFacts f;
  consensus::RaftNode* r = agent_->raft();
  if (!r) return f;
  f.running = true;
  f.self_id = r->self_id();
  f.leader_id = r->leader_id();
  f.term = r->term();
  f.commit_index = r->commit_index();
  f.applied_index = r->applied_index();
  f.is_leader = r->is_leader();
  return f;
}

std::optional<proxy::Counters> AgentBackend::proxy_counters() const {
  if (!proxy_) return std::nullopt;
  return proxy_->counters();
}

FencerFacts AgentBackend::fencer() const {
  const FencerHealth& h = agent_->fencer_health();
  return {true, h.alive, h.restarts};
}

void AgentBackend::switchover(const std::string& to, bool force, OpDone done) {
  agent_->switchover(to, force, std::move(done));
}
void AgentBackend::failover(const std::string& to, bool accept_data_loss, const std::string& confirm, OpDone done) {
  agent_->failover(to, accept_data_loss, confirm, std::move(done));
}
void AgentBackend::set_paused(bool paused, OpDone done) { agent_->set_paused(paused, std::move(done)); }
void AgentBackend::reinit(const std::string& member, OpDone done) { agent_->reinit(member, std::move(done)); }
void AgentBackend::reset_cluster(const std::string& confirm, OpDone done) {
  agent_->reset_cluster(confirm, std::move(done));
}

std::optional<MembershipFacts> AgentBackend::membership() const {
  consensus::RaftNode* r = agent_->raft();
  if (!r) return std::nullopt;
  MembershipFacts f;
  f.committed = r->membership();
  f.pending = r->membership_in_force().epoch != f.committed.epoch;
  f.drift = r->membership_drift();
  return f;
}

void AgentBackend::member_add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
                              OpDone done) {
  agent_->member_add(name, host, port, stay_learner, std::move(done));
}

void AgentBackend::member_remove(const std::string& name, OpDone done) {
  agent_->member_remove(name, std::move(done));
}
void AgentBackend::transfer_leadership(const std::string& to, OpDone done) {
  agent_->transfer_leadership(to, std::move(done));
}

}  // namespace pw::node
