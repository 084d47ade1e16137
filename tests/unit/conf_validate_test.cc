// tests/unit/conf_validate_test.cc — checks across keys: this node in the
// member list, duplicate members, port clashes, timing relations, [tls].
#include <catch2/catch.hpp>

#include "support/conf_fixture.h"

using namespace pw::conf;
using pw::test::all_errors;
using pw::test::ConfFixture;
using pw::test::find_error;

namespace {
// A valid config with a custom [node] name and [cluster] members; lines:
// 1 [node], 2 name, 3 state_dir, 4 run_as_user, 5 [cluster], 6 name, 7 members,
// 8 [postgresql] ... 11 replication_password_file, 12+ extra.
std::string config(const ConfFixture& fx, const std::string& node, const std::string& members,
                   const std::string& extra = "") {
  return "[node]\nname = " + node +
         "\nstate_dir = /var/lib/pgwarden\nrun_as_user = " + ConfFixture::current_user() +
         "\n[cluster]\nname = c\nmembers = " + members +
         "\n[postgresql]\nbin_dir = /usr/lib/postgresql/15/bin\ndata_dir = "
         "/data\nreplication_password_file = " +
         fx.password_file() + "\n" + extra;
}
}  // namespace

TEST_CASE("this node must be one of the members", "[conf][validate]") {
  ConfFixture fx;
  LoadResult r =
      fx.load(config(fx, "db-postgres-04", "db-postgres-01=10.0.0.120, db-postgres-02=10.0.0.121"));
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(find_error(r, 2, "node", "name",
                   "'db-postgres-04' is not in [cluster] members (db-postgres-01, db-postgres-02); "
                   "did you mean 'db-postgres-01'?"));
  LoadResult far = fx.load(config(fx, "zeta", "a=10.0.0.1, b=10.0.0.2"));
  CHECK(find_error(far, 2, "node", "name", "add it there or fix the name"));
}

TEST_CASE("duplicate member names and addresses", "[conf][validate]") {
  ConfFixture fx;
  LoadResult r = fx.load(
      config(fx, "a", "a=10.0.0.1, b=10.0.0.2, a=10.0.0.3, c=10.0.0.2:5010, d=10.0.0.2:6000"));
  INFO(all_errors(r));
  CHECK(find_error(r, 7, "cluster", "members", "member name 'a' appears twice"));
  // c's explicit 5010 equals b's default (the [raft] port): same address.
  CHECK(find_error(r, 7, "cluster", "members",
                   "members 'b' and 'c' have the same address 10.0.0.2:5010"));
  CHECK(r.errors.size() == 2);  // d on another port of the same host is fine

  LoadResult moved =
      fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2:6010", "[raft]\nport = 6010\n"));
  INFO(all_errors(moved));
  CHECK(moved.ok());
  LoadResult clash =
      fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.1:6010", "[raft]\nport = 6010\n"));
  CHECK(find_error(clash, 7, "cluster", "members",
                   "'a' and 'b' have the same address 10.0.0.1:6010"));
}

TEST_CASE("port clashes between this node's listeners", "[conf][validate]") {
  ConfFixture fx;
  SECTION("proxy and API on the same address") {
    LoadResult r = fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2", "[api]\nport = 5432\n"));
    INFO(all_errors(r));
    REQUIRE(r.errors.size() == 1);
    CHECK(find_error(r, 13, "api", "port", "port 5432 is also used by [proxy] port on 10.0.0.1"));
  }
  SECTION("read-only port equals PostgreSQL's") {
    LoadResult r =
        fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2", "[proxy]\nreadonly_port = 15432\n"));
    INFO(all_errors(r));
    REQUIRE(r.errors.size() == 1);
    CHECK(find_error(r, 13, "proxy", "readonly_port", "also used by [postgresql] port"));
  }
  SECTION("raft port from [raft] and from the member list") {
    LoadResult r = fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2", "[raft]\nport = 8008\n"));
    CHECK(find_error(r, 13, "raft", "port", "also used by [api] port"));
    LoadResult m = fx.load(config(fx, "a", "a=10.0.0.1:15432, b=10.0.0.2"));
    CHECK(find_error(m, 7, "cluster", "members", "also used by [postgresql] port"));
  }
  SECTION("a wildcard address overlaps every address") {
    LoadResult r =
        fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2", "listen_address = *\nport = 8008\n"));
    INFO(all_errors(r));
    CHECK(find_error(r, 13, "postgresql", "port", "also used by [api] port on 10.0.0.1"));
  }
  SECTION("the same port on different addresses is fine") {
    LoadResult r = fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2",
                                  "[api]\nport = 5432\nlisten_address = 127.0.0.1\n"));
    INFO(all_errors(r));
    CHECK(r.ok());
  }
  SECTION("other members' ports never clash with ours") {
    LoadResult r = fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2:5432"));
    INFO(all_errors(r));
    CHECK(r.ok());
  }
  SECTION("a disabled read-only port clashes with nothing") {
    LoadResult r =
        fx.load(config(fx, "a", "a=10.0.0.1, b=10.0.0.2", "[proxy]\nreadonly_port = 0\n"));
    CHECK(r.ok());
  }
}

TEST_CASE("timing relations", "[conf][validate]") {
  ConfFixture fx;
  LoadResult r = fx.load(config(fx, "a", "a=10.0.0.1",
                                "[raft]\ntick = 200ms\nheartbeat_interval = 100ms\n"
                                "[ha]\nlease = 2s\nfence_margin = 2s\nloop_interval = 5s\n"));
  INFO(all_errors(r));
  CHECK(
      find_error(r, 13, "raft", "tick", "tick (200ms) must be at most heartbeat_interval (100ms)"));
  CHECK(find_error(r, 17, "ha", "fence_margin", "must be less than lease (2s)"));
  CHECK(find_error(r, 18, "ha", "loop_interval", "loop_interval (5s) must be less than lease"));
  CHECK(r.errors.size() == 3);
  LoadResult hb = fx.load(config(fx, "a", "a=10.0.0.1",
                                 "[raft]\nelection_timeout = 300ms\nheartbeat_interval = 200ms\n"));
  CHECK(
      find_error(hb, 14, "raft", "heartbeat_interval", "at most half of election_timeout (300ms)"));
  // Only the key in the file is blamed: a default lease vs. a too-large margin.
  LoadResult m = fx.load(config(fx, "a", "a=10.0.0.1", "[ha]\nfence_margin = 3s\n"));
  CHECK(find_error(m, 13, "ha", "fence_margin", "must be less than lease (3s)"));
}

TEST_CASE("raft timing must fit the lease/2 freshness window (I3)", "[conf][validate]") {
  ConfFixture fx;
  // The defaults (heartbeat 100ms, election 1s, lease 3s) fit.
  LoadResult d = fx.load(config(fx, "a", "a=10.0.0.1"));
  INFO(all_errors(d));
  CHECK(d.ok());

  // Three heartbeats (1800ms) do not fit in 1.5s; the election timeout
  // (1500ms, exactly lease/2) does.
  LoadResult hb = fx.load(config(
      fx, "a", "a=10.0.0.1", "[raft]\nelection_timeout = 1500ms\nheartbeat_interval = 600ms\n"));
  INFO(all_errors(hb));
  CHECK(find_error(hb, 14, "raft", "heartbeat_interval",
                   "3 * heartbeat_interval (1800ms) must be at most half of [ha] lease (3s)"));
  CHECK(find_error(hb, 14, "raft", "heartbeat_interval", "survive two lost heartbeats"));
  CHECK(find_error(hb, 13, "raft", "election_timeout", "before the primary's fence point"));
  CHECK(hb.errors.size() == 2);

  LoadResult el = fx.load(config(fx, "a", "a=10.0.0.1", "[raft]\nelection_timeout = 2s\n"));
  INFO(all_errors(el));
  CHECK(find_error(el, 13, "raft", "election_timeout",
                   "election_timeout (2s) must be at most half of [ha] lease (3s)"));
  CHECK(el.errors.size() == 2);  // and the fence point

  // Only the lease is in the file: it is the key blamed.
  LoadResult le = fx.load(config(fx, "a", "a=10.0.0.1", "[ha]\nlease = 900ms\nfence_margin = 300ms\n"));
  INFO(all_errors(le));
  CHECK(find_error(le, 13, "ha", "lease",
                   "election_timeout (500ms) must be at most half of [ha] lease (900ms)"));
  CHECK(find_error(le, 13, "ha", "lease", "before the primary's fence point"));
  CHECK(le.errors.size() == 2);

  // Three heartbeats exactly lease/2 is allowed; the election timeout is not.
  LoadResult both = fx.load(config(fx, "a", "a=10.0.0.1",
                                   "[raft]\nelection_timeout = 4s\nheartbeat_interval = 1s\n"
                                   "[ha]\nlease = 6s\n"));
  INFO(all_errors(both));
  CHECK(find_error(both, 13, "raft", "election_timeout", "at most half of [ha] lease (6s)"));
  CHECK_FALSE(find_error(both, -1, "raft", "heartbeat_interval"));
  CHECK(both.errors.size() == 2);  // and the fence point

  // Both at the freshness boundary: no freshness error (the fence point,
  // stricter, refuses such a slow election though).
  LoadResult edge = fx.load(config(fx, "a", "a=10.0.0.1",
                                   "[raft]\nelection_timeout = 1500ms\nheartbeat_interval = 500ms\n"
                                   "[ha]\nlease = 3s\n"));
  INFO(all_errors(edge));
  CHECK(edge.errors.size() == 1);
  CHECK(find_error(edge, 13, "raft", "election_timeout", "before the primary's fence point"));
}

TEST_CASE("an election must end before the lock holder's fence point (issue 21)", "[conf][validate]") {
  ConfFixture fx;
  // Defaults: 2 * 500ms + 2 * 100ms = 1.2s <= 3s - 1s - 500ms.
  CHECK(fx.load(config(fx, "a", "a=10.0.0.1")).ok());
  // The old default election timeout (1s): 2.2s > 1.5s.
  LoadResult old = fx.load(config(fx, "a", "a=10.0.0.1", "[raft]\nelection_timeout = 1s\n"));
  INFO(all_errors(old));
  CHECK(find_error(old, 13, "raft", "election_timeout",
                   "2 * election_timeout + 2 * heartbeat_interval (2200ms) must be at most [ha] lease - "
                   "fence_margin - lease/6 (1500ms)"));
  CHECK(old.errors.size() == 1);
  // A shorter lease is blamed when only it is in the file.
  LoadResult lease = fx.load(config(fx, "a", "a=10.0.0.1", "[ha]\nlease = 2s\n"));
  INFO(all_errors(lease));
  CHECK(find_error(lease, 13, "ha", "lease", "before the primary's fence point"));
  // ... and a longer lease makes room for a slower election.
  CHECK(fx.load(config(fx, "a", "a=10.0.0.1", "[raft]\nelection_timeout = 1s\n[ha]\nlease = 5s\n")).ok());
}

TEST_CASE("[tls] is all or nothing; the API's HTTPS needs it", "[conf][validate]") {
  ConfFixture fx;
  std::string ca = fx.write("ca.pem", "ca\n");
  LoadResult r =
      fx.load(config(fx, "a", "a=10.0.0.1", "[api]\ntls = on\n[tls]\nca_file = " + ca + "\n"));
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(find_error(r, 14, "tls", "", "set ca_file, cert_file and key_file together"));
  CHECK(r.errors[0].message.find("missing: cert_file, key_file") != std::string::npos);
  LoadResult api = fx.load(config(fx, "a", "a=10.0.0.1", "[api]\ntls = on\n"));
  CHECK(find_error(api, 13, "api", "tls", "[tls] is not configured"));
}

TEST_CASE("many errors of different kinds are all reported at once", "[conf][validate]") {
  ConfFixture fx;
  LoadResult r = fx.load(config(fx, "x", "a=10.0.0.1, a=10.0.0.2",
                                "[proxy]\nport = 8008\nhold_timeout = forever\n[ha]\nleese = 3s\n"
                                "[tls]\nkey_file = /nonexistent/key\n"));
  INFO(all_errors(r));
  CHECK(find_error(r, 2, "node", "name", "not in [cluster] members (a)"));
  CHECK(find_error(r, 7, "cluster", "members", "appears twice"));
  CHECK(find_error(r, 14, "proxy", "hold_timeout", "bad value"));
  CHECK(find_error(r, 16, "ha", "leese", "did you mean 'lease'?"));
  CHECK(find_error(r, 17, "tls", "", "missing: ca_file, cert_file"));
  CHECK(find_error(r, 18, "tls", "key_file", "/nonexistent/key does not exist"));
  CHECK(r.errors.size() == 6);
}
