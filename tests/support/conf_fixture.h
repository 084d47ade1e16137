// tests/support/conf_fixture.h — helpers for the conf tests (header-only:
// pw_test_support does not link conf). Writes configs and secret files into
// a temporary directory and finds errors in a LoadResult.
#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "conf/config.h"
#include "support/tmpdir.h"

namespace pw::test {

class ConfFixture {
 public:
  ConfFixture() : dir_("pgwarden-conf") { secret_ = secret("replication.pass", "s3cret\n"); }

  /// Writes `name` with `text` and `mode`; returns its path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    std::string path = dir_ / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    if (chmod(path.c_str(), mode) != 0) throw std::runtime_error("chmod " + path);
    return path;
  }
  /// A secret file the current user owns, mode 0600.
  std::string secret(const std::string& name, const std::string& text = "token\n") const {
    return write(name, text, 0600);
  }
  const std::string& password_file() const { return secret_; }
  std::string dir() const { return dir_.path(); }

  /// The current user's name: configs run_as it, so secrets we create pass
  /// the ownership check also when the tests run as root.
  static std::string current_user() {
    struct passwd* pw = getpwuid(geteuid());
    return pw ? pw->pw_name : "root";
  }

  /// A minimal valid config; `extra` is appended (sections may repeat, but
  /// a key set again is an error, so tests override through their own text).
  std::string minimal(const std::string& extra = "") const {
    return "[node]\n"
           "name = n1\n"
           "state_dir = /var/lib/pgwarden/n1\n"
           "run_as_user = " +
           current_user() +
           "\n"
           "[cluster]\n"
           "name = test\n"
           "members = n1=127.0.0.21, n2=127.0.0.22, n3=127.0.0.23\n"
           "[postgresql]\n"
           "bin_dir = /usr/lib/postgresql/15/bin\n"
           "data_dir = /var/lib/pgwarden/n1/data\n"
           "replication_password_file = " +
           secret_ + "\n" + extra;
  }

  /// Writes `text` as a config file and loads it.
  conf::LoadResult load(const std::string& text, const std::string& name = "pgwarden.ini") const {
    return conf::load_config(write(name, text));
  }

 private:
  TempDir dir_;
  std::string secret_;
};

/// The error at `line` about [section] key whose message contains `needle`,
/// or nullptr. (line < 0: any line.)
inline const conf::ConfigError* find_error(const conf::LoadResult& r, int line,
                                           const std::string& section, const std::string& key,
                                           const std::string& needle = "") {
  for (const auto& e : r.errors)
    if ((line < 0 || e.line == line) && e.section == section && e.key == key &&
        e.message.find(needle) != std::string::npos)
      return &e;
  return nullptr;
}

/// Every error, one per line, for failure messages.
inline std::string all_errors(const conf::LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out.empty() ? "(no errors)\n" : out;
}

}  // namespace pw::test
