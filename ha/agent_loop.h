// ha/agent_loop.h — the production AgentWorld: libevent timers on the
// control thread's event_base (a loop tick every ha.loop_interval, coalesced
// wake-ups), the real clocks, the proxy's route, and the bootstrap marker
// file under state_dir. The simulation has its own world (tests/sim/).
#pragma once

#include <functional>
#include <string>

#include "conf/config.h"
#include "ha/agent_world.h"

struct event_base;
struct event;

namespace pw::node {

class Agent;

class AgentLoop : public AgentWorld {
 public:
  AgentLoop(event_base* base, const conf::Config& cfg, std::function<void(const proxy::Route&)> publish);
  ~AgentLoop() override;
  AgentLoop(const AgentLoop&) = delete;
  AgentLoop& operator=(const AgentLoop&) = delete;

  /// Starts the agent and its tick timer.
  void start(Agent* agent);

  int64_t mono_ms() const override;
  int64_t wall_ms() const override;
  void wake(int64_t delay_ms) override;
  void publish_route(const proxy::Route& r) override;
  std::optional<uint64_t> read_marker() const override;
  void write_marker(uint64_t system_id) override;
  void remove_marker() override;

 private:
  static void on_tick(int, short, void* arg);
  static void on_kick(int, short, void* arg);
  std::string marker_path() const;

  event_base* base_;
  const conf::Config& cfg_;
  std::function<void(const proxy::Route&)> publish_;
  Agent* agent_ = nullptr;
  event* tick_ev_ = nullptr;
  event* kick_ev_ = nullptr;
  event* later_ev_ = nullptr;  // one delayed wake-up at a time
};

}  // namespace pw::node
