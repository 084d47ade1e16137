// tests/unit/node_ctl_day2_test.cc — the day-two ctl commands (restart,
// reload, flush, switchover --scheduled) run in-process against a real API
// server over a fake backend (127.0.7.10, ephemeral port): what they send,
// their usage errors; and what `ctl list` shows of pending restarts and
// scheduled operations.
#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>

#include "api/server.h"
#include "api/view.h"
#include "base/json_io.h"
#include "ctl/ctl.h"
#include "support/api_fake_backend.h"
#include "support/api_loop.h"
#include "support/conf_fixture.h"

using pw::test::FakeApiBackend;
using pw::test::LoopThread;

namespace {
const std::string kAddr = "127.0.7.10";
const std::string kToken = "ctl-day2-token";

struct Ctl {
  int code = -1;
  std::string out, err;
};

std::string slurp(FILE* f) {
  std::string s;
  rewind(f);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

Ctl ctl(std::vector<std::string> args) {
  FILE* out = tmpfile();
  FILE* err = tmpfile();
  REQUIRE(out);
  REQUIRE(err);
  Ctl c;
  c.code = pw::node::run_ctl(args, out, err);
  c.out = slurp(out);
  c.err = slurp(err);
  return c;
}

struct Fixture {
  pw::test::ConfFixture conf;
  LoopThread loop;
  FakeApiBackend backend = FakeApiBackend::healthy("n2");
  std::unique_ptr<pw::node::ApiServer> server;
  std::string token_file = conf.secret("api.token", kToken + "\n");
  std::string url;

  Fixture() {
    pw::node::ApiServerOptions o;
    o.address = kAddr;
    o.port = 0;
    o.token_file = token_file;
    loop.run([&] {
      server = std::make_unique<pw::node::ApiServer>(loop.base(), o, &backend);
      server->start();
    });
    url = "http://" + kAddr + ":" + std::to_string(server->port());
  }
  ~Fixture() {
    loop.run([&] { server.reset(); });
  }
};
}  // namespace

TEST_CASE("ctl restart, reload, flush and switchover --scheduled send what the operator asked") {
  Fixture f;
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"--api", f.url, "--token-file", f.token_file};
    all.insert(all.end(), args.begin(), args.end());
    Ctl r = ctl(all);
    INFO(r.err);
    CHECK(r.code == 0);
  };
  run({"restart"});
  run({"restart", "n3", "n1", "--role", "replica", "--pending", "--scheduled", "2026-12-08T04:00:00Z"});
  run({"reload", "n2", "n3"});
  run({"flush", "restart"});
  run({"flush", "n3", "restart"});
  run({"flush", "switchover"});
  run({"switchover", "--to", "n3", "--scheduled=2026-12-08T04:00:00Z"});
  f.loop.run([&] {
    auto& c = f.backend.calls;
    REQUIRE(c.size() == 7);
    CHECK(c[0].op == "restart");
    CHECK(c[0].arg == " role= at=0");
    CHECK(c[1].arg == "n3,n1 role=replica pending at=1796702400000");
    CHECK(c[2].op == "reload");
    CHECK(c[2].arg == "n2,n3");
    CHECK(c[3].arg == "restart:");
    CHECK(c[4].arg == "restart:n3");
    CHECK(c[5].arg == "switchover:");
    CHECK(c[6].op == "scheduled_switchover");
    CHECK(c[6].arg == "n3 at=1796702400000");
  });

  struct Case {
    std::vector<std::string> args;
    const char* msg;
  } cases[] = {
      {{"restart", "--role", "leader"}, "--role takes primary, replica or any"},
      {{"restart", "--scheduled"}, "--scheduled needs a value"},
      {{"reload", "--pending"}, "unexpected argument '--pending' for reload"},
      {{"flush"}, "flush needs [MEMBER] restart|switchover"},
      {{"flush", "n2", "everything"}, "flush needs [MEMBER] restart|switchover"},
      {{"flush", "n2", "switchover"}, "flush switchover takes no MEMBER"},
  };
  for (const Case& x : cases) {
    std::vector<std::string> all = {"--api", f.url};
    all.insert(all.end(), x.args.begin(), x.args.end());
    Ctl r = ctl(all);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(x.msg) != std::string::npos);
  }
}

TEST_CASE("ctl list shows pending restarts (with the parameters) and what is scheduled") {
  auto b = FakeApiBackend::healthy("n1");
  b.cluster_facts.members[2].status.pending_restart_known = true;
  b.cluster_facts.members[2].status.pending_restart = {"max_connections", "shared_buffers"};
  b.cluster_facts.state.restarts = {{"n3", 1796702400000, true}, {"n1", 1796702400000, true}};
  b.cluster_facts.state.scheduled_switchover = pw::node::ScheduledSwitchover{"n1", "n2", 1796706000000};
  std::string err;
  auto v = pw::parse_json(pw::node::cluster_json(b.cluster_facts, pw::node::member_rows(b.cluster_facts)), &err);
  REQUIRE(v);
  std::string t = pw::node::render_list(*v);
  INFO(t);
  CHECK(t.find("Scheduled switchover: n1 -> n2 at 2026-12-08T05:00:00.000Z\n") != std::string::npos);
  CHECK(t.find("Scheduled restart: n3, n1 from 2026-12-08T04:00:00.000Z, in this order, only those with a pending "
               "restart\n") != std::string::npos);
  CHECK(t.find("| n3     | 127.0.7.13 | Replica | streaming |  3 |         3 | pending restart: max_connections "
               "shared_buffers |") != std::string::npos);
  CHECK(t.find("| n2     | 127.0.7.12 | Replica | streaming |  3 |         0 |      ") != std::string::npos);
}
