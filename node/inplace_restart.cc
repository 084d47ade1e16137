// node/inplace_restart.cc — see inplace_restart.h.
#include "node/inplace_restart.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "api/server.h"
#include "base/clock.h"
#include "base/log.h"
#include "consensus/raft_node.h"
#include "ha/agent.h"
#include "node/fencer.h"
#include "node/handoff.h"
#include "node/reexec.h"
#include "pgctl/child.h"
#include "pgctl/defer.h"
#include "pgctl/postgres.h"

namespace pw::node {

namespace {
constexpr int64_t kPreflightTimeoutMs = 20000;
}

InPlaceRestart::InPlaceRestart(Parts p) : p_(p) {}
InPlaceRestart::~InPlaceRestart() = default;

void InPlaceRestart::request() {
  if (running_) {
    PW_INFO("node", "restart in place already in progress; request ignored");
    return;
  }
  std::string err;
  argv_ = own_command_line(&err);
  if (!argv_.empty()) program_ = reexec_program(argv_, &err);
  if (argv_.empty() || program_.empty()) {
    PW_ERROR("node", "restart in place refused: %s; going on as before", err.c_str());
    return;
  }
  running_ = true;
  PW_INFO("node", "restart in place requested: checking %s check-config -c %s", program_.c_str(),
          p_.cfg->source_file.c_str());
  pgctl::ChildOptions o;
  o.name = "preflight";
  o.argv = {program_, "check-config", "--quiet", "-c", p_.cfg->source_file};
  o.timeout_ms = kPreflightTimeoutMs;
  o.pdeathsig = SIGKILL;
  o.term_signal = SIGKILL;
  o.kill_grace_ms = 1000;
  preflight_ = pgctl::Child::spawn(
      p_.base, std::move(o),
      [this](const pgctl::ChildExit& ex) {
        // The Child is destroyed later: we are inside its exit callback.
        pgctl::Child* done = preflight_.release();
        pgctl::defer(p_.base, [done] { delete done; });
        preflight_done(ex.ok(), ex.error_text());
      },
      &err);
  if (!preflight_) preflight_done(false, err);
}

void InPlaceRestart::preflight_done(bool ok, const std::string& why) {
  if (!ok) {
    running_ = false;
    PW_ERROR("node", "restart in place refused: %s check-config failed: %s; going on as before", program_.c_str(),
             why.c_str());
    return;
  }
  p_.agent->prepare_handoff([this](const std::string& error, const AgentHandoff& carry) {
    if (!error.empty()) {
      running_ = false;  // the agent logged why
      return;
    }
    replace_image(carry);
  });
}

void InPlaceRestart::replace_image(const AgentHandoff& carry) {
  Handoff h;
  h.from_version = PGWARDEN_VERSION;
  h.fencer = p_.fencer->handle();
  h.postmaster = p_.pg->postmaster_handle();
  h.agent = carry;
  // The API first (no request must be cut by the exec half-answered), then
  // raft: stop() persists the commit index, so the new image's replay
  // reaches every entry this one applied.
  if (p_.api) p_.api->stop();
  p_.raft->stop();
  h.left_at_ms = mono_ms();
  std::vector<int> keep;
  if (h.fencer.fd >= 0) keep.push_back(h.fencer.fd);
  if (h.postmaster.output_fd >= 0) keep.push_back(h.postmaster.output_fd);
  PW_INFO("node", "restart in place: executing %s (pgwarden %s leaving) postmaster=%d fencer=%d lease_left_ms=%lld",
          program_.c_str(), PGWARDEN_VERSION, static_cast<int>(h.postmaster.pid), static_cast<int>(h.fencer.pid),
          static_cast<long long>(carry.epoch ? carry.lease_until_ms - h.left_at_ms : 0));
  std::string err = reexec(program_, argv_, {std::string(kHandoffEnv) + "=" + h.encode()}, keep);
  // Raft is stopped and cannot be restarted in this image: leave. Our
  // PostgreSQL and fencer die with the process (PDEATHSIG), as after a crash.
  PW_ERROR("node", "restart in place failed: %s; exiting", err.c_str());
  _exit(1);
}

}  // namespace pw::node
