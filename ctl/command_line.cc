// ctl/command_line.cc — see command_line.h: the helpers every subcommand uses.
#include "ctl/command_line.h"

#include <cstdio>
#include <cstring>
#include <utility>

namespace pw::node {

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

}  // namespace pw::node
