// conf/validate_files.cc — see validate.h: the files a config names. Secret
// files (replication and superuser passwords, API token, TLS key) must
// exist, be readable by the user the daemon runs as, be non-empty, and not
// be accessible to group or others; certificates and the hba_file must
// exist and be readable, and the hba_file's rules are read and checked.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "base/pg_syntax.h"
#include "conf/validate.h"

namespace pw::conf {
namespace {

std::string octal_mode(mode_t m) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::optional<uid_t> lookup_uid(const std::string& user) {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &res) != 0 || !res) return std::nullopt;
  return res->pw_uid;
}

std::string user_name(uid_t uid) {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res) return "uid " + std::to_string(uid);
  return res->pw_name;
}

// Common part: exists, is a regular file, opens for reading.
std::string open_problem(const std::string& path, struct stat* st) {
  if (stat(path.c_str(), st) != 0) {
    if (errno == ENOENT) return path + " does not exist";
    return "cannot access " + path + ": " + strerror(errno);
  }
  if (!S_ISREG(st->st_mode)) return path + " is not a regular file";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read " + path + ": " + strerror(errno);
  close(fd);
  return "";
}

// Whether `uid` (with its groups) may read a file of this stat: root checks
// on behalf of the user it will drop to.
bool readable_by(const struct stat& st, uid_t uid) {
  if (st.st_uid == uid) return st.st_mode & S_IRUSR;
  if (st.st_mode & S_IROTH) return true;
  if (!(st.st_mode & S_IRGRP)) return false;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res) return false;
  gid_t groups[256];
  int n = 256;
  if (getgrouplist(res->pw_name, res->pw_gid, groups, &n) < 0) return false;
  for (int i = 0; i < n; ++i)
    if (groups[i] == st.st_gid) return true;
  return false;
}

}  // namespace

std::string secret_file_problem(const std::string& path, uid_t euid,
                                std::optional<uid_t> run_as_uid, const std::string& run_as_name) {
  struct stat st;
  std::string p = open_problem(path, &st);
  if (!p.empty()) {
    if (p.find("does not exist") != std::string::npos)
      return p + "; create it with the secret on one line, then: chmod 600 " + path;
    return p;
  }
  if (st.st_mode & 077)
    return path + " is accessible by group or others (mode " + octal_mode(st.st_mode) +
           "); run: chmod 600 " + path;
  // Started as root, the daemon reads its secrets after dropping to
  // run_as_user, and a 0600 file of another owner is then unreadable.
  if (euid == 0 && run_as_uid && st.st_uid != *run_as_uid)
    return path + " is owned by " + user_name(st.st_uid) + ", but pgwarden runs as '" +
           run_as_name + "' and could not read it; run: chown " + run_as_name + " " + path;
  if (st.st_size == 0) return path + " is empty; write the secret into it";
  return "";
}

std::string readable_file_problem(const std::string& path, uid_t euid,
                                  std::optional<uid_t> run_as_uid, const std::string& run_as_name) {
  struct stat st;
  std::string p = open_problem(path, &st);
  if (p.empty() && euid == 0 && run_as_uid && !readable_by(st, *run_as_uid))
    return path + " is not readable by '" + run_as_name + "', the user pgwarden runs as (mode " +
           octal_mode(st.st_mode) + ", owner " + user_name(st.st_uid) + "); run: chown " +
           run_as_name + " " + path;
  return p;
}

void load_hba_file(Config& c, const KeyLines& kl, ErrorSink& sink) {
  if (c.pg_hba_file.empty() || !kl.usable("postgresql", "hba_file")) return;
  std::ifstream in(c.pg_hba_file);
  if (!in) return;  // validate_files said why
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    std::string rule = line.substr(b, line.find_last_not_of(" \t") + 1 - b);
    std::string why = pgsyntax::hba_line_problem(rule);
    if (!why.empty()) {
      sink.at(kl, "postgresql", "hba_file",
              c.pg_hba_file + ":" + std::to_string(n) + ": not a pg_hba rule: " + why);
      continue;
    }
    c.pg_hba_file_rules.push_back(rule);
  }
}

void validate_files(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  const uid_t euid = geteuid();
  std::optional<uid_t> run_uid;
  if (kl.usable("node", "run_as_user")) {
    run_uid = lookup_uid(c.run_as_user);
    // Only root switches users; for anyone else run_as_user is not used.
    if (euid == 0 && !run_uid)
      sink.at(kl, "node", "run_as_user",
              "no such user '" + c.run_as_user +
                  "'; create it or set run_as_user to the PostgreSQL OS user");
  }
  struct FileKey {
    const char* section;
    const char* key;
    const std::string& path;
    bool secret;
  };
  const FileKey files[] = {
      {"postgresql", "replication_password_file", c.pg_replication_password_file, true},
      {"postgresql", "superuser_password_file", c.pg_superuser_password_file, true},
      {"postgresql", "hba_file", c.pg_hba_file, false},
      {"postgresql", "bootstrap_sql_file", c.pg_bootstrap_sql_file, false},
      {"api", "token_file", c.api_token_file, true},
      {"tls", "ca_file", c.tls_ca_file, false},
      {"tls", "cert_file", c.tls_cert_file, false},
      {"tls", "key_file", c.tls_key_file, true},
  };
  for (const FileKey& f : files) {
    if (f.path.empty() || !kl.usable(f.section, f.key)) continue;
    std::string problem = f.secret ? secret_file_problem(f.path, euid, run_uid, c.run_as_user)
                                   : readable_file_problem(f.path, euid, run_uid, c.run_as_user);
    if (!problem.empty()) sink.at(kl, f.section, f.key, problem);
  }
}

}  // namespace pw::conf
