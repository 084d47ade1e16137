// node/cmd_run.cc — `pgwarden run -c FILE`: validates the configuration
// (same errors and exit code as check-config) and runs the daemon.
#include <cstdio>
#include <cstring>
#include <string>

#include "conf/config.h"
#include "node/cli.h"
#include "node/daemon.h"

namespace pw::node {

int cmd_run(int argc, char** argv) {
  catch_signals_early();
  std::string config = kDefaultConfigPath;
  for (int i = 1; i < argc;) {
    bool missing = false;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("Usage: pgwarden run [-c FILE]\n"
             "Runs the pgwarden daemon for this host: raft on [raft] port, the proxy on [proxy] port,\n"
             "the API on [api] port, and the local PostgreSQL. Stops gracefully on SIGTERM/SIGINT;\n"
             "SIGHUP re-reads FILE (log_level and the API token apply at once, other changes are logged).\n"
             "SIGUSR2 restarts pgwarden in place: it executes its program again in the same process,\n"
             "PostgreSQL keeps running (docs/operations.md).\n"
             "Default config: %s\n", kDefaultConfigPath);
      return kExitOk;
    }
    if (take_option(argc, argv, &i, "-c", "--config", &config, &missing)) {
      if (missing) return usage_error("run", "-c needs a file");
      continue;
    }
    return usage_error("run", std::string("unknown argument '") + argv[i] + "'");
  }
  conf::LoadResult r = conf::load_config(config);
  if (!r.ok()) {
    for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
    fprintf(stderr, "pgwarden run: %zu error(s) in %s; nothing started\n", r.errors.size(), config.c_str());
    return kExitUsage;
  }
  return run_daemon(r.config);
}

}  // namespace pw::node
