// tests/unit/conf_secrets_test.cc — secret files (replication password, API
// token, TLS key) and certificates named by the config: present, non-empty,
// private (no group/other access), readable by the daemon's user.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "conf/validate.h"
#include "support/conf_fixture.h"

using namespace pw::conf;
using pw::test::all_errors;
using pw::test::ConfFixture;
using pw::test::find_error;

TEST_CASE("a world- or group-accessible secret is refused with the chmod to run",
          "[conf][secrets]") {
  ConfFixture fx;
  for (mode_t mode : {0644, 0640, 0604, 0620, 0601, 0700 | 0010}) {
    std::string path = fx.write("pass", "pw\n", mode);
    INFO("mode " << std::oct << mode);
    LoadResult r = fx.load(
        "[node]\nname = n1\nstate_dir = /s\nrun_as_user = " + ConfFixture::current_user() +
        "\n[cluster]\nname = c\nmembers = n1=127.0.0.1\n[postgresql]\nbin_dir = /b\ndata_dir = /d\n"
        "replication_password_file = " +
        path + "\n");
    REQUIRE(r.errors.size() == 1);
    CHECK(find_error(r, 11, "postgresql", "replication_password_file",
                     "accessible by group or others"));
    CHECK(r.errors[0].message.find("run: chmod 600 " + path) != std::string::npos);
  }
  std::string ok = fx.write("ok", "pw\n", 0400);
  CHECK(secret_file_problem(ok, geteuid(), geteuid(), ConfFixture::current_user()).empty());
}

TEST_CASE("missing, empty and non-regular secret files", "[conf][secrets]") {
  ConfFixture fx;
  const uid_t me = geteuid();
  const std::string user = ConfFixture::current_user();
  std::string missing = fx.dir() + "/nope";
  CHECK(secret_file_problem(missing, me, me, user) ==
        missing + " does not exist; create it with the secret on one line, then: chmod 600 " +
            missing);
  std::string empty = fx.secret("empty", "");
  CHECK(secret_file_problem(empty, me, me, user).find("is empty") != std::string::npos);
  CHECK(secret_file_problem(fx.dir(), me, me, user).find("is not a regular file") !=
        std::string::npos);
}

TEST_CASE("started as root, secrets must belong to run_as_user", "[conf][secrets]") {
  // The check only applies when the checker is root (the daemon will drop
  // to run_as_user); simulated here by passing euid 0 and another target uid.
  ConfFixture fx;
  std::string path = fx.secret("pass");
  const uid_t owner = geteuid();
  const uid_t other = owner + 4242;
  std::string p = secret_file_problem(path, /*euid=*/0, other, "pgdaemon");
  CHECK(p.find("but pgwarden runs as 'pgdaemon' and could not read it; run: chown pgdaemon " +
               path) != std::string::npos);
  CHECK(secret_file_problem(path, /*euid=*/0, owner, "me").empty());
  // The user does not exist (reported on run_as_user instead): no double report.
  CHECK(secret_file_problem(path, /*euid=*/0, std::nullopt, "ghost").empty());
  // Not root: the daemon runs as whoever starts it, so ownership is not judged.
  CHECK(secret_file_problem(path, /*euid=*/owner == 0 ? 1000 : owner, other, "pgdaemon").empty());
}

TEST_CASE("certificates must be readable by run_as_user when started as root", "[conf][secrets]") {
  ConfFixture fx;
  const uid_t owner = geteuid();
  std::string priv = fx.write("ca.pem", "ca\n", 0600);
  std::string pub = fx.write("cert.pem", "cert\n", 0644);
  CHECK(readable_file_problem(priv, 0, owner, "me").empty());
  CHECK(readable_file_problem(pub, 0, owner + 4242, "pgdaemon").empty());
  CHECK(readable_file_problem(priv, 0, owner + 4242, "pgdaemon")
            .find("is not readable by 'pgdaemon'") != std::string::npos);
  CHECK(readable_file_problem(fx.dir() + "/none.pem", 0, owner, "me").find("does not exist") !=
        std::string::npos);
}

TEST_CASE("every secret key is checked, each error at its own line", "[conf][secrets]") {
  ConfFixture fx;
  std::string token = fx.write("api.token", "t\n", 0644);
  std::string key = fx.write("node.key", "k\n", 0640);
  std::string ca = fx.write("ca.pem", "ca\n");
  LoadResult r =
      fx.load(fx.minimal("[api]\ntoken_file = " + token + "\n[tls]\nca_file = " + ca +
                         "\ncert_file = " + fx.dir() + "/missing.pem\nkey_file = " + key + "\n"));
  INFO(all_errors(r));
  CHECK(find_error(r, 13, "api", "token_file", "chmod 600 " + token));
  CHECK(find_error(r, 16, "tls", "cert_file", "missing.pem does not exist"));
  CHECK(find_error(r, 17, "tls", "key_file", "chmod 600 " + key));
  CHECK(r.errors.size() == 3);
}

TEST_CASE("as root, an unknown run_as_user is an error", "[conf][secrets]") {
  ConfFixture fx;
  std::string text =
      "[node]\nname = n1\nstate_dir = /s\nrun_as_user = no_such_user_pgw\n"
      "[cluster]\nname = c\nmembers = n1=127.0.0.1\n[postgresql]\nbin_dir = /b\ndata_dir = /d\n"
      "replication_password_file = " +
      fx.password_file() + "\n";
  LoadResult r = fx.load(text);
  if (geteuid() == 0) {
    CHECK(find_error(r, 4, "node", "run_as_user", "no such user 'no_such_user_pgw'"));
    CHECK(r.errors.size() == 1);
  } else {
    // Not root: nobody switches users, so the name is not looked at.
    INFO(all_errors(r));
    CHECK(r.ok());
  }
}
