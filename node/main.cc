// node/main.cc — the pgwarden executable: hands the command line to the
// subcommand dispatcher (node/cli.cc). PGWARDEN_VERSION is defined by CMake
// for this target only, so the version string enters the program here.
#include "node/cli.h"

#ifndef PGWARDEN_VERSION
#define PGWARDEN_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  return pw::node::cli_main(argc, argv, PGWARDEN_VERSION);
}
