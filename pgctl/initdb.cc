// pgctl/initdb.cc — see initdb.h.
#include "pgctl/initdb.h"

namespace pw::pgctl {

std::vector<std::string> initdb_argv(const PgOptions& o) {
  std::vector<std::string> argv = {
      o.bin_dir + "/initdb",       "-D", o.data_dir, "--data-checksums", "--auth-local=peer",
      "--auth-host=scram-sha-256", "-U", o.superuser};
  for (const auto& a : o.initdb_args) argv.push_back(a);
  return argv;
}

}  // namespace pw::pgctl
