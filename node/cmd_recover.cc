// node/cmd_recover.cc — `pgwarden recover --force-members NAME[,NAME...]
// --confirm CLUSTER`: the way out of a lost quorum (consensus/recover.h).
// Run on a survivor with its daemon stopped. Without --confirm it only
// prints what would happen; with it, it copies the state directory aside
// and rewrites the membership to the survivors, so the daemon, once
// started again, forms a cluster of them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "consensus/recover.h"
#include "node/cli.h"
#include "node/daemon.h"
#include "node/raft_config.h"

namespace pw::node {
namespace {

void print_help() {
  printf(
      "Usage: pgwarden recover --force-members NAME[,NAME...] [--confirm CLUSTER] [-c FILE]\n"
      "\n"
      "Gets a cluster out of a lost quorum (most members gone for good). Run it on\n"
      "a survivor whose pgwarden daemon is stopped. It keeps only the named members\n"
      "(this node must be one of them) by writing a new membership into this node's\n"
      "Raft log; the dropped members are out for good (their ids are never reused).\n"
      "Without --confirm it prints what would be kept and lost, and changes nothing.\n"
      "With --confirm (the cluster name, as a safeguard) it first copies the state\n"
      "directory to STATE_DIR.before-recover-TIME, then writes the change. Start the\n"
      "daemon afterwards: the survivors elect a leader among themselves and the one\n"
      "with the most advanced PostgreSQL data becomes primary.\n"
      "With several survivors, run it on one of them; on each of the others, with\n"
      "its daemon stopped, move its state directory aside (mv STATE_DIR STATE_DIR.old)\n"
      "before starting it: it is caught up from the first.\n"
      "\n"
      "Options:\n"
      "  --force-members LIST  members to keep, comma-separated (this node included)\n"
      "  --confirm CLUSTER     the cluster name: carry the change out\n"
      "  -c, --config FILE     configuration file (default %s)\n"
      "  -h, --help            this help\n",
      kDefaultConfigPath);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string w; std::getline(in, w, ',');)
    if (!w.empty()) out.push_back(w);
  return out;
}

// The daemon holds its raft port while it runs; if we can bind it, it is not running here.
bool raft_port_free(const consensus::RaftOptions& o, std::string* why) {
  for (const auto& p : o.peers) {
    if (p.id != o.self_id) continue;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return true;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(p.port);
    if (inet_pton(AF_INET, p.host.c_str(), &a.sin_addr) != 1) {
      close(fd);
      return true;  // a name, not an address: cannot tell, the state check still guards
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (!ok) *why = p.host + ":" + std::to_string(p.port) + ": " + strerror(errno);
    close(fd);
    return ok;
  }
  return true;
}

}  // namespace

int cmd_recover(int argc, char** argv) {
  std::string path = kDefaultConfigPath, members, confirm;
  for (int i = 1; i < argc;) {
    bool missing = false;
    if (take_option(argc, argv, &i, "-c", "--config", &path, &missing) ||
        take_option(argc, argv, &i, nullptr, "--force-members", &members, &missing) ||
        take_option(argc, argv, &i, nullptr, "--confirm", &confirm, &missing)) {
      if (missing) return usage_error("recover", std::string("option ") + argv[i - 1] + " needs a value");
      continue;
    }
    const char* a = argv[i++];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_help();
      return kExitOk;
    }
    return usage_error("recover", std::string("unexpected argument '") + a + "'");
  }
  if (members.empty()) return usage_error("recover", "--force-members is required");
  conf::Config cfg;
  if (!load_config_or_report("recover", path, &cfg)) return kExitUsage;
  if (std::string err = drop_privileges(cfg.run_as_user); !err.empty()) {
    fprintf(stderr, "pgwarden recover: %s\n", err.c_str());
    return kExitFailure;
  }
  consensus::RaftOptions ro = raft_options(cfg);
  std::string busy;
  if (!raft_port_free(ro, &busy)) {
    fprintf(stderr,
            "pgwarden recover: the raft port is in use (%s): the daemon seems to be running on "
            "this node. Stop it first (systemctl stop pgwarden), then run this again.\n",
            busy.c_str());
    return kExitFailure;
  }
  try {
    consensus::ForcedMembershipPlan plan = consensus::plan_forced_membership(ro, split_commas(members));
    fputs(plan.describe().c_str(), stdout);
    if (confirm.empty()) {
      printf("\nNothing was changed. To carry this out, run again with --confirm %s\n",
             cfg.cluster_name.c_str());
      return kExitOk;
    }
    if (confirm != cfg.cluster_name) {
      fprintf(stderr, "pgwarden recover: --confirm '%s' is not this cluster's name ('%s'): nothing was changed\n",
              confirm.c_str(), cfg.cluster_name.c_str());
      return kExitUsage;
    }
    char stamp[32];
    time_t now = time(nullptr);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", gmtime(&now));
    std::string backup = cfg.state_dir + ".before-recover-" + stamp;
    consensus::apply_forced_membership(ro, plan, backup);
    printf("\nDone. The previous state directory is kept in %s.\n"
           "Start pgwarden on this node now (systemctl start pgwarden).\n",
           backup.c_str());
    return kExitOk;
  } catch (const std::exception& e) {
    fprintf(stderr, "pgwarden recover: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace pw::node
