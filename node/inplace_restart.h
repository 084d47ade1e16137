// node/inplace_restart.h — `pgwarden`'s in-place restart (SIGUSR2), the
// leaving image's side: replaces the daemon with a new image of its
// program — the same binary, or the upgraded one at the same path —
// without stopping PostgreSQL, without a failover and without a new epoch.
//
//   1. preflight: `<program> check-config -c <file>` must succeed, so a
//      binary that does not run (or an INI the new image would refuse)
//      never costs the running node anything: refused, and it goes on;
//   2. the agent settles, hands raft leadership over and renews its lease
//      (Agent::prepare_handoff, ha/handoff_controller.h);
//   3. raft stops (its commit index persisted, so the new image replays
//      everything this one applied), and the process execve()s itself with
//      the record of node/handoff.h, keeping the fencer's pipe and the
//      postmaster's output pipe open (node/reexec.h).
// The new image (run_daemon) takes the fencer, the postmaster and the
// agent's state over, and renews the lease before the fence margin.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct event_base;

namespace pw::conf {
struct Config;
}
namespace pw::consensus {
class RaftNode;
}
namespace pw::pgctl {
class Child;
class Postgres;
}

namespace pw::node {

class Agent;
class ApiServer;
class Fencer;
struct AgentHandoff;

class InPlaceRestart {
 public:
  struct Parts {
    event_base* base = nullptr;
    const conf::Config* cfg = nullptr;
    Agent* agent = nullptr;
    Fencer* fencer = nullptr;
    pgctl::Postgres* pg = nullptr;
    consensus::RaftNode* raft = nullptr;
    ApiServer* api = nullptr;
  };
  explicit InPlaceRestart(Parts p);
  ~InPlaceRestart();
  InPlaceRestart(const InPlaceRestart&) = delete;
  InPlaceRestart& operator=(const InPlaceRestart&) = delete;

  /// Starts an in-place restart (a second request while one runs is
  /// logged and ignored). Refusals are logged; the daemon goes on.
  void request();

 private:
  void preflight_done(bool ok, const std::string& why);
  /// Replaces the image; returns only if that failed (then the process exits).
  [[noreturn]] void replace_image(const AgentHandoff& carry);

  Parts p_;
  bool running_ = false;
  std::string program_;
  std::vector<std::string> argv_;
  std::unique_ptr<pgctl::Child> preflight_;
};

}  // namespace pw::node
