// tests/integration/pgctl_owner_helper.cc — a tiny daemon stand-in for the
// PDEATHSIG test: it initdb's and starts a PostgreSQL through pgctl, prints
// "POSTMASTER <pid>" and then just runs its event loop until it is killed.
// Usage: pgctl_owner_helper <root-dir> <listen-address>
#include <cstdio>

#include "pgctl/postgres.h"
#include "support/pgctl_harness.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <root-dir> <listen-address>\n", argv[0]);
    return 2;
  }
  pw::test::Loop loop;
  auto o = pw::test::node_options(argv[1], "owner", argv[2], {argv[2]});
  auto pg = pw::pgctl::Postgres::create(loop.base, o);
  auto r = pw::test::wait_op(loop.base, [&](pw::pgctl::Done d) { pg->initdb(d); });
  if (!r.ok) {
    fprintf(stderr, "initdb failed: %s\n", r.error.c_str());
    return 1;
  }
  r = pw::test::wait_op(loop.base,
                        [&](pw::pgctl::Done d) { pg->start(pw::pgctl::Role::primary, {}, d); });
  if (!r.ok) {
    fprintf(stderr, "start failed: %s\n", r.error.c_str());
    return 1;
  }
  printf("POSTMASTER %d\n", static_cast<int>(pg->postmaster_pid()));
  fflush(stdout);
  event_base_loop(loop.base, EVLOOP_NO_EXIT_ON_EMPTY);
  return 0;
}
