// node/api_agent_backend.h — the production ApiBackend: reads the HA
// agent, the raft node (through the agent) and the proxy's counters, and
// passes operator requests to the agent. Lives on the control thread.
#pragma once

#include "api/backend.h"
#include "ha/agent.h"
#include "proxy/proxy.h"

namespace pw::node {

class AgentBackend : public ApiBackend {
 public:
  /// `proxy` may be nullptr (no proxy metrics, /proxy answers 503).
  AgentBackend(Agent* agent, proxy::Proxy* proxy) : agent_(agent), proxy_(proxy) {}

  HealthFacts health() const override;
  ClusterFacts cluster() const override;
  RaftFacts raft() const override;
  std::optional<proxy::Counters> proxy_counters() const override;
  FencerFacts fencer() const override;

  void switchover(const std::string& to, bool force, OpDone done) override;
  void failover(const std::string& to, bool accept_data_loss, const std::string& confirm, OpDone done) override;
  void set_paused(bool paused, OpDone done) override;
  void reinit(const std::string& member, OpDone done) override;
  void scheduled_switchover(const std::string& to, bool force, int64_t at_ms, OpDone done) override {
    agent_->switchover(to, force, at_ms, std::move(done));
  }
  void restart(const std::vector<std::string>& members, const std::string& role, bool pending_only, int64_t at_ms,
               OpDone done) override {
    agent_->restart(members, role, pending_only, at_ms, std::move(done));
  }
  void reload(const std::vector<std::string>& members, OpDone done) override {
    agent_->reload(members, std::move(done));
  }
  void flush(const std::string& member, const std::string& what, OpDone done) override {
    agent_->flush(member, what, std::move(done));
  }
  void reset_cluster(const std::string& confirm, OpDone done) override;
  std::optional<MembershipFacts> membership() const override;
  void member_add(const std::string& name, const std::string& host, uint16_t port, bool stay_learner,
                  OpDone done) override;
  void member_remove(const std::string& name, OpDone done) override;
  void transfer_leadership(const std::string& to, OpDone done) override;

 private:
  Agent* agent_;
  proxy::Proxy* proxy_;
};

}  // namespace pw::node
