// node/cli.cc — see cli.h: global flags and dispatch to subcommands.
#include "node/cli.h"

#include <cstdio>
#include <cstring>
#include <utility>

namespace pw::node {
namespace {

// One line per subcommand; `run` and `ctl` join here when they exist.
const Subcommand kSubcommands[] = {
    {"run", "run the daemon for this host (raft, PostgreSQL, proxy, API)", cmd_run},
    {"ctl", "see and steer the cluster through a node's HTTP API (list, switchover, ...)", cmd_ctl},
    {"recover", "get out of a lost quorum: keep only the surviving members (daemon stopped)",
     cmd_recover},
    {"check-config", "validate a configuration file and print the effective settings",
     cmd_check_config},
};

const char* g_version = "unknown";

void print_help(FILE* out) {
  fprintf(
      out,
      "pgwarden %s — PostgreSQL high availability: consensus, failover and routing in one daemon\n"
      "\n"
      "Usage: pgwarden <command> [options]\n"
      "       pgwarden --help | --version\n"
      "\n"
      "Commands:\n",
      g_version);
  for (const Subcommand& s : kSubcommands) fprintf(out, "  %-14s %s\n", s.name, s.summary);
  fprintf(out,
          "\n"
          "Run 'pgwarden <command> --help' for a command's options.\n"
          "Exit status: 0 success, 1 failure, 2 bad usage or invalid configuration.\n");
}

}  // namespace

const char* cli_version() {
  return g_version;
}

int cli_main(int argc, char** argv, const char* version) {
  if (version) g_version = version;
  if (argc < 2) {
    print_help(stderr);
    return kExitUsage;
  }
  const char* first = argv[1];
  if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
    print_help(stdout);
    return kExitOk;
  }
  if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0 ||
      strcmp(first, "version") == 0) {
    printf("pgwarden %s\n", g_version);
    return kExitOk;
  }
  for (const Subcommand& s : kSubcommands)
    if (strcmp(first, s.name) == 0) return s.run(argc - 1, argv + 1);
  if (first[0] == '-') return usage_error(nullptr, std::string("unknown option '") + first + "'");
  return usage_error(nullptr, std::string("unknown command '") + first + "'");
}

}  // namespace pw::node
