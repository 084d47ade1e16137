// ha/agent_loop.cc — see agent_loop.h.
#include "ha/agent_loop.h"

#include <event2/event.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "ha/agent.h"

namespace pw::node {

AgentLoop::AgentLoop(event_base* base, const conf::Config& cfg, std::function<void(const proxy::Route&)> publish)
    : base_(base), cfg_(cfg), publish_(std::move(publish)) {}

AgentLoop::~AgentLoop() {
  if (tick_ev_) event_free(tick_ev_);
  if (kick_ev_) event_free(kick_ev_);
  if (later_ev_) event_free(later_ev_);
}

void AgentLoop::start(Agent* agent) {
  agent_ = agent;
  tick_ev_ = event_new(base_, -1, EV_PERSIST, &AgentLoop::on_tick, this);
  kick_ev_ = event_new(base_, -1, 0, &AgentLoop::on_kick, this);
  later_ev_ = event_new(base_, -1, 0, &AgentLoop::on_kick, this);
  timeval tv{cfg_.ha_loop_interval_ms / 1000, static_cast<suseconds_t>((cfg_.ha_loop_interval_ms % 1000) * 1000)};
  event_add(tick_ev_, &tv);
  agent_->start();
}

void AgentLoop::on_tick(int, short, void* arg) { static_cast<AgentLoop*>(arg)->agent_->tick(); }
void AgentLoop::on_kick(int, short, void* arg) { static_cast<AgentLoop*>(arg)->agent_->kick_now(); }

int64_t AgentLoop::mono_ms() const { return pw::mono_ms(); }
int64_t AgentLoop::wall_ms() const { return pw::wall_ms(); }

void AgentLoop::wake(int64_t delay_ms) {
  if (delay_ms <= 0) {
    if (kick_ev_ && !event_pending(kick_ev_, EV_TIMEOUT, nullptr)) {
      timeval zero{0, 0};
      event_add(kick_ev_, &zero);
    }
    return;
  }
  if (!later_ev_) return;
  // One delayed wake-up at a time: a request made while one is pending is
  // served by it or, at the latest, by the next loop tick (the only delayed
  // request today is the switchover's drain, well above a tick).
  if (event_pending(later_ev_, EV_TIMEOUT, nullptr)) return;
  timeval tv{delay_ms / 1000, static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
  event_add(later_ev_, &tv);
}

void AgentLoop::publish_route(const proxy::Route& r) {
  if (publish_) publish_(r);
}

// The bootstrap marker (state_dir/bootstrap-attempt) records that this
// node's data directory was made by a bootstrap attempt of its own, with the
// system id once initdb finished. A directory so marked that did not become
// the cluster is the remains of a failed attempt: it is moved aside (never
// deleted) instead of being reported for adoption or refused as foreign.
std::string AgentLoop::marker_path() const { return cfg_.state_dir + "/bootstrap-attempt"; }

std::optional<uint64_t> AgentLoop::read_marker() const {
  FILE* f = fopen(marker_path().c_str(), "r");
  if (!f) return std::nullopt;
  unsigned long long id = 0;
  int n = fscanf(f, "system_id=%llu", &id);
  fclose(f);
  return n == 1 ? id : 0;
}

void AgentLoop::write_marker(uint64_t system_id) {
  std::string tmp = marker_path() + ".tmp";
  if (FILE* f = fopen(tmp.c_str(), "w")) {
    fprintf(f, "system_id=%llu\n", static_cast<unsigned long long>(system_id));
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    if (rename(tmp.c_str(), marker_path().c_str()) != 0)
      PW_WARN("agent", "cannot rename %s: %s", tmp.c_str(), strerror(errno));
  } else {
    PW_WARN("agent", "cannot write %s: %s", marker_path().c_str(), strerror(errno));
  }
}

void AgentLoop::remove_marker() {
  if (unlink(marker_path().c_str()) != 0 && errno != ENOENT)
    PW_WARN("agent", "cannot remove %s: %s", marker_path().c_str(), strerror(errno));
}

}  // namespace pw::node
