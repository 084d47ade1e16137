// ctl/cmd_check_config.cc — `pgwarden check-config`: loads and validates a
// configuration file without starting anything. Prints the effective
// configuration (exit 0) or every error, one per line (exit 2).
#include <cstdio>
#include <cstring>

#include "conf/config.h"
#include "ctl/command_line.h"

namespace pw::node {
namespace {

void print_help() {
  printf(
      "Usage: pgwarden check-config [-c FILE] [--quiet]\n"
      "       pgwarden check-config --reference\n"
      "\n"
      "Validates a configuration file without starting anything. On success prints\n"
      "the effective configuration (every key, defaults included; secrets appear as\n"
      "the paths of the files holding them, never their contents) and exits 0.\n"
      "Otherwise prints every error as FILE:LINE: [section] key: message and exits 2.\n"
      "Secret files are checked as the daemon will read them: they must exist, be\n"
      "non-empty, mode 0600 (no group/other access) and, when run as root, owned by\n"
      "[node] run_as_user.\n"
      "\n"
      "Options:\n"
      "  -c, --config FILE  configuration file (default %s)\n"
      "  -q, --quiet        print nothing on success\n"
      "      --reference    print the configuration reference (Markdown) and exit\n"
      "  -h, --help         this help\n",
      kDefaultConfigPath);
}

}  // namespace

int cmd_check_config(int argc, char** argv) {
  std::string path = kDefaultConfigPath;
  bool quiet = false;
  for (int i = 1; i < argc;) {
    bool missing = false;
    if (take_option(argc, argv, &i, "-c", "--config", &path, &missing)) {
      if (missing) return usage_error("check-config", "option --config needs a file name");
      continue;
    }
    const char* a = argv[i++];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_help();
      return kExitOk;
    }
    if (strcmp(a, "--reference") == 0) {
      fputs(conf::reference_markdown().c_str(), stdout);
      return kExitOk;
    }
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      quiet = true;
      continue;
    }
    return usage_error(
        "check-config",
        std::string(a[0] == '-' ? "unknown option '" : "unexpected argument '") + a + "'");
  }

  conf::Config config;
  if (!load_config_or_report("check-config", path, &config)) return kExitUsage;
  if (!quiet) fputs(conf::render_config(config).c_str(), stdout);
  return kExitOk;
}

}  // namespace pw::node
