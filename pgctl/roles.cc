// pgctl/roles.cc — see roles.h.
#include "pgctl/roles.h"

#include <libpq-fe.h>
#include <string.h>

#include <functional>
#include <memory>

#include "base/log.h"

namespace pw::pgctl {
namespace {

struct Secret {
  std::string value;
  ~Secret() { explicit_bzero(value.data(), value.size()); }
};

std::string escape(PGconn* c, const std::string& s, bool ident) {
  char* e =
      ident ? PQescapeIdentifier(c, s.c_str(), s.size()) : PQescapeLiteral(c, s.c_str(), s.size());
  if (!e) return "";
  std::string out = e;
  PQfreemem(e);
  return out;
}

const char* const kRewindGrants[] = {
    "pg_catalog.pg_ls_dir(text, boolean, boolean)",
    "pg_catalog.pg_stat_file(text, boolean)",
    "pg_catalog.pg_read_binary_file(text)",
    "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
};

// The steps before a statement that carries a password verifier: statement
// logging off for this session (and the statement kept out of error
// reports), then `next`.
void quiet_session(SqlTask& t, std::function<void(SqlTask&)> next) {
  t.run("SET log_statement = 'none'", {}, [next](SqlTask& t, const QueryResult&) {
    t.run("SET log_min_duration_statement = -1", {}, [next](SqlTask& t, const QueryResult&) {
      t.run("SET log_min_error_statement = 'panic'", {},
            [next](SqlTask& t, const QueryResult&) { next(t); });
    });
  });
}

}  // namespace

void start_ensure_superuser_password(TaskSet& tasks, const PqConn::Params& params,
                                     int64_t timeout_ms, const std::string& user,
                                     std::string password, Done cb) {
  auto secret = std::make_shared<Secret>();
  secret->value = std::move(password);
  explicit_bzero(password.data(), password.size());
  SqlTask& task = tasks.add(params, timeout_ms, "ensure_superuser_password", std::move(cb));
  task.start([secret, user](SqlTask& t) {
    quiet_session(t, [secret, user](SqlTask& t) {
      // Algorithm given explicitly: no round trip for password_encryption.
      char* verifier =
          PQencryptPasswordConn(t.pg(), secret->value.c_str(), user.c_str(), "scram-sha-256");
      if (!verifier) {
        t.finish(Result::failure("ensure_superuser_password: cannot compute the SCRAM verifier: " +
                                 std::string(PQerrorMessage(t.pg()))));
        return;
      }
      std::string sql = "ALTER ROLE " + escape(t.pg(), user, true) + " WITH PASSWORD " +
                        escape(t.pg(), verifier, false);
      PQfreemem(verifier);
      t.run(sql, {}, [user](SqlTask& t, const QueryResult&) {
        PW_INFO("pgctl", "superuser password set user=%s", user.c_str());
        t.finish(Result::success());
      });
      explicit_bzero(sql.data(), sql.size());
    });
  });
}

void start_ensure_replication_role(TaskSet& tasks, const PqConn::Params& params, int64_t timeout_ms,
                                   const std::string& user, std::string password, Done cb) {
  auto secret = std::make_shared<Secret>();
  secret->value = std::move(password);
  explicit_bzero(password.data(), password.size());
  SqlTask& task = tasks.add(params, timeout_ms, "ensure_replication_role", std::move(cb));
  task.start([secret, user](SqlTask& t) {
    // Statement logging off for this session: the next statements carry a
    // password verifier (not the password, but still not for log files).
    quiet_session(t, [secret, user](SqlTask& t) {
      t.run("SELECT 1 FROM pg_roles WHERE rolname = $1", {user},
            [secret, user](SqlTask& t, const QueryResult& r) {
              bool exists = !r.rows.empty();
              // Algorithm given explicitly: no extra round trip asking the
              // server for password_encryption (that call would block).
              char* verifier = PQencryptPasswordConn(t.pg(), secret->value.c_str(), user.c_str(),
                                                     "scram-sha-256");
              if (!verifier) {
                t.finish(
                    Result::failure("ensure_replication_role: cannot compute the SCRAM "
                                    "verifier: " +
                                    std::string(PQerrorMessage(t.pg()))));
                return;
              }
              std::string sql = std::string(exists ? "ALTER" : "CREATE") + " ROLE " +
                                escape(t.pg(), user, true) + " WITH LOGIN REPLICATION PASSWORD " +
                                escape(t.pg(), verifier, false);
              PQfreemem(verifier);
              t.run(sql, {}, [exists, user](SqlTask& t, const QueryResult&) {
                PW_INFO("pgctl", "replication role %s user=%s", exists ? "updated" : "created",
                        user.c_str());
                std::string grants;
                for (const char* fn : kRewindGrants)
                  grants += "GRANT EXECUTE ON FUNCTION " + std::string(fn) + " TO " +
                            escape(t.pg(), user, true) + "; ";
                // Several statements, no parameters: sent as one simple query.
                t.run("DO $$BEGIN " + grants + "END$$", {},
                      [](SqlTask& t, const QueryResult&) { t.finish(Result::success()); });
              });
              explicit_bzero(sql.data(), sql.size());
            });
    });
  });
}

}  // namespace pw::pgctl
