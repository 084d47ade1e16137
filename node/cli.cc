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

int usage_error(const char* cmd, const std::string& message) {
  if (cmd) {
    fprintf(stderr, "pgwarden %s: %s\nTry 'pgwarden %s --help'.\n", cmd, message.c_str(), cmd);
  } else {
    fprintf(stderr, "pgwarden: %s\nTry 'pgwarden --help'.\n", message.c_str());
  }
  return kExitUsage;
}

bool take_option(int argc, char** argv, int* i, const char* short_name, const char* long_name,
                 std::string* value, bool* missing) {
  const char* arg = argv[*i];
  *missing = false;
  size_t long_len = strlen(long_name);
  if (strncmp(arg, long_name, long_len) == 0 && arg[long_len] == '=') {
    *value = arg + long_len + 1;
    *i += 1;
    return true;
  }
  if (strcmp(arg, long_name) != 0 && !(short_name && strcmp(arg, short_name) == 0)) return false;
  if (*i + 1 >= argc) {
    *missing = true;
    *i += 1;
    return true;
  }
  *value = argv[*i + 1];
  *i += 2;
  return true;
}

bool load_config_or_report(const char* cmd, const std::string& path, conf::Config* out) {
  conf::LoadResult r = conf::load_config(path);
  if (!r.ok()) {
    for (const conf::ConfigError& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
    fprintf(stderr, "pgwarden %s: %zu error%s in %s\n", cmd, r.errors.size(),
            r.errors.size() == 1 ? "" : "s", path.c_str());
    return false;
  }
  *out = std::move(r.config);
  return true;
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
