// node/daemon.cc — see daemon.h.
#include "node/daemon.h"

#include <event2/event.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "api/server.h"
#include "base/clock.h"
#include "base/log.h"
#include "consensus/raft_node.h"
#include "ha/agent.h"
#include "ha/agent_loop.h"
#include "ha/cluster_state.h"
#include "node/api_agent_backend.h"
#include "node/fencer.h"
#include "node/handoff.h"
#include "node/inplace_restart.h"
#include "node/join_discovery.h"
#include "node/raft_config.h"
#include "node/reload.h"
#include "pgctl/postgres.h"
#include "proxy/proxy.h"

namespace pw::node {

namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

pgctl::PgOptions pg_options(const conf::Config& c) {
  pgctl::PgOptions o;
  o.bin_dir = c.pg_bin_dir;
  o.data_dir = c.pg_data_dir;
  o.listen_address = c.pg_listen_address.empty() ? c.self().host : c.pg_listen_address;
  o.port = c.pg_port;
  o.socket_dir = c.pg_socket_dir.empty() ? c.state_dir : c.pg_socket_dir;
  o.superuser = c.pg_superuser;
  o.replication_user = c.pg_replication_user;
  o.replication_password_file = c.pg_replication_password_file;
  o.passfile = c.state_dir + "/pgpass";
  o.node_name = c.node_name;
  for (const auto& m : c.members) o.member_addresses.push_back(m.host);
  // On one machine (members on 127.x addresses) connections between members
  // leave from 127.0.0.1, whatever address they target.
  for (const auto& m : c.members)
    if (m.host.rfind("127.", 0) == 0) {
      o.member_addresses.push_back("127.0.0.1");
      break;
    }
  o.initdb_args = split_words(c.pg_initdb_args);
  o.hba_extra = c.hba_rules();  // [postgresql] hba_extra, then hba_file's rules
  o.superuser_password_file = c.pg_superuser_password_file;
  o.parameters = c.pg_parameters;
  return o;
}

proxy::ProxyOptions proxy_options(const conf::Config& c) {
  proxy::ProxyOptions o;
  o.listen_address = c.proxy_listen_address.empty() ? c.self().host : c.proxy_listen_address;
  o.port = c.proxy_port;
  o.readonly_port = c.proxy_readonly_port;
  o.hold_timeout_ms = c.proxy_hold_timeout_ms;
  o.connect_timeout_ms = c.proxy_connect_timeout_ms;
  o.max_client_connections = c.proxy_max_client_connections;
  o.readonly_max_lag = c.proxy_readonly_max_lag;
  o.readonly_fallback = c.proxy_readonly_fallback;
  o.shutdown_grace_ms = c.proxy_shutdown_grace_ms;
  o.threads = c.proxy_threads;
  o.pause_timeout_ms = c.proxy_pause_timeout_ms;
  o.startup_retry_max_ms = c.proxy_startup_retry_max_ms;
  // Member hosts are resolved once by Proxy::start, never per published route.
  for (const auto& m : c.members) o.backend_hosts.push_back(m.host);
  return o;
}

struct Stopper {
  event_base* base;
  Agent* agent;
  proxy::Proxy* proxy;
  consensus::RaftNode* raft;
  ApiServer* api;
  bool stopping = false;
};

// A SIGHUP that arrives while the daemon starts (before the event loop's
// handler exists) must not end it: this handler only remembers it, and the
// reload runs once the loop is up. Not SIG_IGN: ignored dispositions are
// inherited across exec, and PostgreSQL must keep its own SIGHUP.
volatile sig_atomic_t g_early_hup = 0;
void remember_hup(int) { g_early_hup = 1; }
// The same for SIGUSR2 (restart in place), whose default action would end
// the daemon: a request during start-up runs once the loop is up.
volatile sig_atomic_t g_early_usr2 = 0;
void remember_usr2(int) { g_early_usr2 = 1; }

void on_hup(evutil_socket_t, short, void* arg) {
  PW_INFO("node", "signal %d (SIGHUP): reloading the configuration", SIGHUP);
  static_cast<Reloader*>(arg)->reload();
}

void on_usr2(evutil_socket_t, short, void* arg) {
  PW_INFO("node", "signal %d (SIGUSR2): restarting pgwarden in place", SIGUSR2);
  static_cast<InPlaceRestart*>(arg)->request();
}

void on_signal(evutil_socket_t sig, short, void* arg) {
  auto* s = static_cast<Stopper*>(arg);
  if (s->stopping) {
    PW_WARN("node", "second signal %d: exiting now", static_cast<int>(sig));
    event_base_loopbreak(s->base);
    return;
  }
  s->stopping = true;
  PW_INFO("node", "signal %d: stopping gracefully", static_cast<int>(sig));
  if (s->api) s->api->stop();
  s->agent->shutdown([s] {
    if (s->proxy) s->proxy->shutdown();
    // Give the release a moment to reach the others, then leave.
    timeval tv{0, 200 * 1000};
    event_base_loopexit(s->base, &tv);
  });
}

}  // namespace

void catch_signals_early() {
  signal(SIGHUP, remember_hup);
  signal(SIGUSR2, remember_usr2);
}

std::string drop_privileges(const std::string& user) {
  if (geteuid() != 0) return "";
  struct passwd* pw = getpwnam(user.c_str());
  if (!pw) return "started as root and the user '" + user + "' ([node] run_as_user) does not exist";
  // Keep CAP_SYS_NICE alone across the switch (as the packaged service's
  // AmbientCapabilities does): the proxy threads take [proxy] thread_nice
  // with it. Never inherited by PostgreSQL (not ambient; pgctl's children
  // also clear ambient capabilities before exec).
  prctl(PR_SET_KEEPCAPS, 1);
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
    return "cannot switch to user '" + user + "': " + strerror(errno);
  prctl(PR_SET_KEEPCAPS, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  data[0].effective = data[0].permitted = 1u << CAP_SYS_NICE;
  if (syscall(SYS_capset, &hdr, data) != 0)
    PW_INFO("node", "CAP_SYS_NICE not kept after switching to %s: %s", user.c_str(), strerror(errno));
  if (setenv("HOME", pw->pw_dir, 1) != 0) return "cannot set HOME";
  prctl(PR_SET_DUMPABLE, 1);
  return "";
}

int run_daemon(const conf::Config& cfg) {
  log_set_node(cfg.node_name);
  apply_log_level(cfg.log_level);
  if (std::string err = drop_privileges(cfg.run_as_user); !err.empty()) {
    PW_ERROR("node", "%s", err.c_str());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);  // HUP and USR2 are caught from the start (cmd_run: catch_signals_early)
  // An in-place restart (node/inplace_restart.h) left a record: read it
  // before anything is started (it must not reach PostgreSQL's environment).
  std::string handoff_error;
  std::optional<Handoff> handoff = take_handoff_from_env(&handoff_error);
  if (!handoff_error.empty())
    PW_ERROR("node", "restart in place: the previous image's record is unreadable (%s); starting afresh",
             handoff_error.c_str());
  if (handoff) {
    if (std::string dropped = verify_handoff(&*handoff); !dropped.empty())
      PW_WARN("node", "restart in place: not taken over (not ours):%s", dropped.c_str());
    PW_INFO("node", "restarted in place: pgwarden %s replaced %s after %lld ms; taking over postmaster=%d fencer=%d",
            PGWARDEN_VERSION, handoff->from_version.c_str(),
            static_cast<long long>(mono_ms() - handoff->left_at_ms), static_cast<int>(handoff->postmaster.pid),
            static_cast<int>(handoff->fencer.pid));
  }
  try {
    // Forked before any thread exists, or the previous image's, still running.
    std::unique_ptr<Fencer> fencer_owner =
        handoff ? std::make_unique<Fencer>(handoff->fencer) : std::make_unique<Fencer>();
    Fencer& fencer = *fencer_owner;
    std::unique_ptr<event_base, void (*)(event_base*)> base(event_base_new(), event_base_free);
    auto pg = pgctl::Postgres::create(base.get(), pg_options(cfg));
    if (handoff) pg->inherit_postmaster(handoff->postmaster);
    ClusterStateMachine sm;
    std::unique_ptr<proxy::Proxy> px;
    AgentLoop loop(base.get(), cfg, [&px](const proxy::Route& r) {
      if (px) px->publish(r);
    });
    Agent agent(cfg, loop, sm, *pg, fencer);
    agent.set_version(PGWARDEN_VERSION);
    agent.attach_observer();
    consensus::RaftOptions ro = raft_options(cfg);
    // A node added with `ctl member add` learns its id from the cluster.
    if (never_in_raft(cfg.state_dir)) ro.joined = discover_membership(cfg);
    auto raft = consensus::RaftNode::open(base.get(), ro, &sm);
    px = proxy::Proxy::start(proxy_options(cfg));
    agent.set_raft(raft.get());
    // After the replay: what the log shows decides how much of the previous
    // image's state is still true (Agent::resume).
    if (handoff) agent.resume(handoff->agent);
    int exit_code = 0;
    raft->set_fatal_handler([&](const std::string& why) {
      // A node that cannot persist (or apply) must not vote or acknowledge: stop, and
      // let PostgreSQL die with us (PDEATHSIG) rather than run unfenced.
      PW_ERROR("node", "raft stopped, exiting: %s", why.c_str());
      exit_code = 1;
      event_base_loopbreak(base.get());
    });
    raft->start();
    AgentBackend api_backend(&agent, px.get());
    ApiServer api(base.get(), api_options_from_config(cfg), &api_backend);
    api.start();
    loop.start(&agent);
    PW_INFO("node", "pgwarden %s running cluster=%s raft=%s:%u proxy=%u api=%u", PGWARDEN_VERSION,
            cfg.cluster_name.c_str(), cfg.self().host.c_str(), cfg.self().raft_port, cfg.proxy_port, cfg.api_port);
    Stopper stopper{base.get(), &agent, px.get(), raft.get(), &api};
    event* sigterm = evsignal_new(base.get(), SIGTERM, on_signal, &stopper);
    event* sigint = evsignal_new(base.get(), SIGINT, on_signal, &stopper);
    Reloader reloader(cfg, [&api](const std::string& token_file) { api.reload_token(token_file); });
    event* sighup = evsignal_new(base.get(), SIGHUP, on_hup, &reloader);
    InPlaceRestart inplace({base.get(), &cfg, &agent, &fencer, pg.get(), raft.get(), &api});
    event* sigusr2 = evsignal_new(base.get(), SIGUSR2, on_usr2, &inplace);
    event_add(sigterm, nullptr);
    event_add(sigint, nullptr);
    event_add(sighup, nullptr);
    event_add(sigusr2, nullptr);
    if (g_early_hup) reloader.reload();
    if (g_early_usr2) inplace.request();
    event_base_dispatch(base.get());
    event_free(sigterm);
    event_free(sigint);
    event_free(sighup);
    event_free(sigusr2);
    px->shutdown();
    raft->stop();
    PW_INFO("node", "stopped");
    if (exit_code != 0) return exit_code;
  } catch (const std::exception& e) {
    PW_ERROR("node", "cannot start: %s", e.what());
    return 1;
  }
  return 0;
}

}  // namespace pw::node
