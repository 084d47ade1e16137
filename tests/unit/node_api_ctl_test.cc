// tests/unit/node_api_ctl_test.cc — `pgwarden ctl` run in-process against a
// real API server (127.0.7.10, ephemeral port) over a fake backend: the
// `list` table's structure, history, status --json, changes with and
// without a token, finding the API through the config file, usage errors
// (exit 2) and an unreachable API (exit 1, naming the URL).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "api/handlers.h"
#include "api/server.h"
#include "api/view.h"
#include "base/json_io.h"
#include "ctl/ctl.h"
#include "support/conf_fixture.h"
#include "support/api_fake_backend.h"
#include "support/api_loop.h"

using pw::test::FakeApiBackend;
using pw::test::LoopThread;

namespace {

const std::string kAddr = "127.0.7.10";
const std::string kToken = "ctl-token-7";

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

// A served fake cluster for one test.
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

// Not the API: a loopback server that answers every connection with `body`
// (status 200), as a hostile or broken server could, until destroyed.
struct CannedServer {
  int fd = -1;
  uint16_t port = 0;
  std::string response;
  std::thread thread;

  explicit CannedServer(const std::string& body) {
    response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, kAddr.c_str(), &a.sin_addr);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] {
      for (int c; (c = accept(fd, nullptr, nullptr)) >= 0;) {
        std::string req;
        char buf[4096];
        ssize_t n;
        while (req.find("\r\n\r\n") == std::string::npos && (n = recv(c, buf, sizeof buf, 0)) > 0) req.append(buf, n);
        for (size_t off = 0; off < response.size() && (n = send(c, response.data() + off, response.size() - off,
                                                                 MSG_NOSIGNAL)) > 0;)
          off += static_cast<size_t>(n);
        close(c);
      }
    });
  }
  ~CannedServer() {
    shutdown(fd, SHUT_RDWR);  // wakes accept(), which then fails: the thread ends
    thread.join();
    close(fd);
  }
  std::string url() const { return "http://" + kAddr + ":" + std::to_string(port); }
};

std::string cluster_json(FakeApiBackend& b) {
  return pw::node::cluster_json(b.cluster_facts, pw::node::member_rows(b.cluster_facts));
}

}  // namespace

TEST_CASE("render_table: borders, alignment, UTF-8 widths") {
  std::string t = pw::node::render_table({"A", "Num"}, {{"x\xc3\xa9", "7"}, {"long cell", "12345"}}, {false, true});
  CHECK(t ==
        "+-----------+-------+\n"
        "| A         | Num   |\n"
        "+-----------+-------+\n"
        "| x\xc3\xa9        |     7 |\n"
        "| long cell | 12345 |\n"
        "+-----------+-------+\n");
}

TEST_CASE("render_list: summary, diagnostics and the member table like patronictl list") {
  auto b = FakeApiBackend::healthy("n2");
  b.cluster_facts.diagnostics.push_back({"no_failover_candidate", "no standby can take over from n1",
                                         "bring n2 or n3 back in sync"});
  b.cluster_facts.members[2].status.nofailover = true;
  b.cluster_facts.members[2].status.priority = 2;
  b.cluster_facts.members[0].status.version = "0.2.0";
  b.cluster_facts.members[1].status.version = "0.1.0";
  b.cluster_facts.state.paused = true;
  std::string err;
  auto v = pw::parse_json(cluster_json(b), &err);
  REQUIRE(v);
  CHECK(pw::node::render_list(*v) ==
        "Cluster: demo  epoch 4  primary n1  decider n2  raft term 7\n"
        "Initialized: by n1, system id 7300000000000000001\n"
        "Maintenance mode: on (paused: no automatic failover)\n"
        "Seen from: n2\n"
        "Diagnostics:\n"
        "  [no_failover_candidate] no standby can take over from n1\n"
        "      action: bring n2 or n3 back in sync\n"
        "+--------+------------+---------+-----------+----+-----------+-------------------------------+---------+\n"
        "| Member | Host       | Role    | State     | TL | Lag in MB | Tags                          | Version |\n"
        "+--------+------------+---------+-----------+----+-----------+-------------------------------+---------+\n"
        "| n1     | 127.0.7.11 | Primary | running   |  3 |           |                               | 0.2.0   |\n"
        "| n2     | 127.0.7.12 | Replica | streaming |  3 |         0 |                               | 0.1.0   |\n"
        "| n3     | 127.0.7.13 | Replica | streaming |  3 |         3 | nofailover: true, priority: 2 | ?       |\n"
        "+--------+------------+---------+-----------+----+-----------+-------------------------------+---------+\n");
  // /cluster carries each member's version (null: not announced).
  auto members = v->at("members");
  CHECK(members.at(0).at("version") == "0.2.0");
  CHECK(members.at(2).at("version").is_null());

  // A member marked by `member remove` (phase 1): shown in the tags column
  // and in /cluster until the raft leader ends the removal.
  b.cluster_facts.state.removing = "n3";
  b.cluster_facts.state.removal_note = "the removal of n2 was withdrawn: test";
  v = pw::parse_json(cluster_json(b), &err);
  REQUIRE(v);
  CHECK(pw::node::render_list(*v).find("| nofailover: true, priority: 2, removing |") != std::string::npos);
  CHECK(v->at("removing") == "n3");
  CHECK(v->at("removal_note") == "the removal of n2 was withdrawn: test");
  CHECK(v->at("members").at(2).at("removing") == true);
  CHECK(v->at("members").at(1).at("removing") == false);
  b.cluster_facts.state.removing.clear();

  // A member without fresh status: unknown lag, role from what is known.
  b.cluster_facts.members[1].fresh = false;
  b.cluster_facts.state.paused = false;
  b.cluster_facts.state.switchover = std::make_pair(std::string("n1"), std::string(""));
  b.cluster_facts.diagnostics.clear();
  v = pw::parse_json(cluster_json(b), &err);
  REQUIRE(v);
  std::string t = pw::node::render_list(*v);
  CHECK(t.find("Maintenance mode: off\n") != std::string::npos);
  CHECK(t.find("Switchover in progress: n1 -> best standby\n") != std::string::npos);
  CHECK(t.find("Diagnostics") == std::string::npos);
  CHECK(t.find("| n2     | 127.0.7.12 | Unknown | unreachable |  3 |   unknown |") != std::string::npos);
}

TEST_CASE("render_list: synchronous mode shows the committed set, its quorum rule and each standby's role") {
  auto b = FakeApiBackend::healthy("n1");
  b.cluster_facts.synchronous_mode = true;
  b.cluster_facts.state.sync = {"n2"};
  b.cluster_facts.state.sync_acks = 1;
  std::string err;
  auto v = pw::parse_json(cluster_json(b), &err);
  REQUIRE(v);
  std::string t = pw::node::render_list(*v);
  INFO(t);
  CHECK(t.find("Synchronous mode: on, 1 synchronous standby(s) wanted; committed ANY 1 of (n2): a failover must "
               "hear 1 of them\n") != std::string::npos);
  CHECK(t.find("| n2     | 127.0.7.12 | Sync Standby  |") != std::string::npos);
  CHECK(t.find("| n3     | 127.0.7.13 | Async Standby |") != std::string::npos);
  b.cluster_facts.state.sync.clear();
  v = pw::parse_json(cluster_json(b), &err);
  REQUIRE(v);
  CHECK(pw::node::render_list(*v).find("committed set empty") != std::string::npos);
}

TEST_CASE("ctl list, status --json and history against a live API") {
  Fixture f;
  Ctl l = ctl({"--api", f.url, "list"});
  INFO(l.err);
  CHECK(l.code == 0);
  CHECK(l.out.rfind("Cluster: demo  epoch 4  primary n1  decider n2", 0) == 0);
  CHECK(l.out.find("| Member | Host       | Role    | State     | TL | Lag in MB | Tags |") != std::string::npos);
  CHECK(l.out.find("| n3     | 127.0.7.13 | Replica | streaming |  3 |         3 |      |") != std::string::npos);

  Ctl s = ctl({"status", "--json", "--api=" + f.url});
  CHECK(s.code == 0);
  std::string err;
  auto v = pw::parse_json(s.out, &err);
  REQUIRE(v);
  CHECK(v->at("primary") == "n1");

  Ctl h = ctl({"--api", f.url, "history"});
  CHECK(h.code == 0);
  CHECK(h.out.find("| Epoch | Member | TL | LSN       | Time                     | Reason                     |") !=
        std::string::npos);
  CHECK(h.out.find("|     4 | n1     |  3 | 0/3000060 | 2025-11-25T19:00:00.123Z | failover: n2 lease expired |") !=
        std::string::npos);
}

TEST_CASE("ctl refuses an answer nested too deep or too large, with the reason, exit 1") {
  {
    CannedServer deep(std::string(100000, '[') + std::string(100000, ']'));
    Ctl l = ctl({"--api", deep.url(), "list"});
    CHECK(l.code == 1);
    CHECK(l.err == "pgwarden ctl list: " + deep.url() + "/cluster answered invalid JSON: nested deeper than 32 levels\n");
    Ctl m = ctl({"--api", deep.url(), "member", "list"});
    CHECK(m.code == 1);
    CHECK(m.err.find("nested deeper than 32 levels") != std::string::npos);
  }
  CannedServer huge("[" + std::string(17u << 20, ' ') + "]");
  Ctl h = ctl({"--api", huge.url(), "history"});
  CHECK(h.code == 1);
  CHECK(h.err.find("answered invalid JSON: document larger than 16777216 bytes") != std::string::npos);
}

TEST_CASE("ctl list --watch redraws in place, like watch(1)") {
  Fixture f;
  Ctl w = ctl({"--api", f.url, "list", "--watch", "0.05", "--count", "3"});
  INFO(w.err);
  CHECK(w.code == 0);
  size_t clears = 0, tables = 0;
  for (size_t p = 0; (p = w.out.find("\033[H\033[2JEvery 0.05s: pgwarden ctl list", p)) != std::string::npos; ++p) ++clears;
  for (size_t p = 0; (p = w.out.find("Cluster: demo  epoch 4  primary n1", p)) != std::string::npos; ++p) ++tables;
  CHECK(clears == 3);
  CHECK(tables == 3);
  CHECK(ctl({"--api", f.url, "list", "--watch", "0"}).code == 2);
  CHECK(ctl({"--api", f.url, "list", "--count", "2"}).code == 2);  // --count needs --watch
}

TEST_CASE("ctl changes: token from --token-file, refusals explained, exit codes") {
  Fixture f;
  f.backend.result = {200, "switchover from n1 to n3 started"};
  Ctl ok = ctl({"--api", f.url, "--token-file", f.token_file, "switchover", "--to", "n3", "--force"});
  INFO(ok.err);
  CHECK(ok.code == 0);
  CHECK(ok.out == "switchover from n1 to n3 started\n");
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "failover", "--to=n2"}).code == 0);
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "pause"}).code == 0);
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "resume"}).code == 0);
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "reinit", "n3"}).code == 0);
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "reset-cluster", "--confirm", "demo"}).code == 0);
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "failover", "--to", "n3", "--accept-data-loss", "--confirm",
             "demo"})
            .code == 0);
  CHECK(ctl({"--api", f.url, "--token-file", f.token_file, "failover", "--to", "n3", "--accept-data-loss", "--confirm",
             "other"})
            .code == 1);  // the API refuses a name that is not the cluster's
  f.loop.run([&] {
    REQUIRE(f.backend.calls.size() == 7);
    CHECK(f.backend.calls[6].op == "failover");
    CHECK(f.backend.calls[6].arg == "n3");
    CHECK(f.backend.calls[6].force);  // accept_data_loss
    CHECK(f.backend.calls[6].confirm == "demo");
    CHECK_FALSE(f.backend.calls[1].force);
    CHECK(f.backend.calls[0].op == "switchover");
    CHECK(f.backend.calls[0].arg == "n3");
    CHECK(f.backend.calls[0].force);
    CHECK(f.backend.calls[1].op == "failover");
    CHECK(f.backend.calls[1].arg == "n2");
    CHECK(f.backend.calls[2].op == "pause");
    CHECK(f.backend.calls[3].op == "resume");
    CHECK(f.backend.calls[4].op == "reinit");
    CHECK(f.backend.calls[4].arg == "n3");
    CHECK(f.backend.calls[5].op == "reset_cluster");
    CHECK(f.backend.calls[5].arg == "demo");
  });

  Ctl no_token = ctl({"--api", f.url, "pause"});
  CHECK(no_token.code == 1);
  CHECK(no_token.err.find("refused (HTTP 401 from " + f.url + "/pause)") != std::string::npos);
  CHECK(no_token.err.find("hint: give the API token") != std::string::npos);

  f.backend.result = {409, "n3 cannot take over: no recent status (unreachable?)"};
  Ctl refused = ctl({"--api", f.url, "--token-file", f.token_file, "switchover", "--to", "n3"});
  CHECK(refused.code == 1);
  CHECK(refused.err == "pgwarden ctl switchover: refused (HTTP 409 from " + f.url +
                           "/switchover): n3 cannot take over: no recent status (unreachable?)\n");
  Ctl unknown = ctl({"--api", f.url, "--token-file", f.token_file, "reinit", "n9"});
  CHECK(unknown.code == 1);
  CHECK(unknown.err.find("unknown member 'n9'") != std::string::npos);
}

TEST_CASE("ctl finds the API, token and address from the config file") {
  Fixture f;
  std::string ini = f.conf.write("pgwarden.ini", f.conf.minimal("[api]\nlisten_address = " + kAddr + "\nport = " +
                                                                std::to_string(f.server->port()) + "\ntoken_file = " +
                                                                f.token_file + "\n"));
  Ctl l = ctl({"-c", ini, "list"});
  INFO(l.err);
  CHECK(l.code == 0);
  CHECK(l.out.find("| n1     | 127.0.7.11 | Primary |") != std::string::npos);
  Ctl p = ctl({"pause", "--config", ini});
  INFO(p.err);
  CHECK(p.code == 0);
  f.loop.run([&] { CHECK(f.backend.calls.size() == 1); });

  Ctl bad = ctl({"-c", f.conf.write("bad.ini", "[node]\nname = x\n"), "list"});
  CHECK(bad.code == 2);
}

TEST_CASE("ctl usage errors exit 2; an unreachable API exits 1 naming the URL") {
  struct Case {
    std::vector<std::string> args;
    const char* msg;
  } cases[] = {
      {{}, "no command given"},
      {{"--api", "http://127.0.7.10:1", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"--api", "http://127.0.7.10:1", "failover"}, "failover needs --to MEMBER"},
      {{"--api", "http://127.0.7.10:1", "failover", "--to", "n2", "--accept-data-loss"},
       "failover --accept-data-loss needs --confirm <cluster name>"},
      {{"--api", "http://127.0.7.10:1", "failover", "--to", "n2", "--confirm", "demo"},
       "--confirm goes with failover --accept-data-loss"},
      {{"--api", "http://127.0.7.10:1", "reinit"}, "reinit needs the MEMBER"},
      {{"--api", "http://127.0.7.10:1", "reset-cluster"}, "needs --confirm <cluster name>"},
      {{"--api", "http://127.0.7.10:1", "switchover", "--to"}, "--to needs a value"},
      {{"--api", "http://127.0.7.10:1", "list", "extra"}, "unexpected argument 'extra' for list"},
      {{"--api", "http://127.0.7.10:1", "pause", "--force"}, "unexpected argument '--force' for pause"},
      {{"--bogus", "list"}, "unknown option '--bogus'"},
      {{"--api"}, "option --api needs a value"},
      {{"--api", "ftp://x", "list"}, "unsupported scheme"},
      {{"--timeout", "0", "--api", "http://x", "list"}, "--timeout takes whole seconds"},
  };
  for (const Case& c : cases) {
    Ctl r = ctl(c.args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.msg) != std::string::npos);
  }
  Ctl help = ctl({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("switchover [--to N] [--force]") != std::string::npos);

  Ctl down = ctl({"--api", "http://127.0.7.10:1", "list"});
  CHECK(down.code == 1);
  CHECK(down.err == "pgwarden ctl list: cannot connect to http://127.0.7.10:1: Connection refused\n");
  Ctl down2 = ctl({"--api", "http://127.0.7.10:1", "--token-file", "/nonexistent/token", "pause"});
  CHECK(down2.code == 1);
  CHECK(down2.err.find("cannot read token file /nonexistent/token") != std::string::npos);
}
