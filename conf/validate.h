// conf/validate.h — checks that span several keys (members, ports, timing,
// [tls]) and checks of the files the config names (secrets). Internal to
// conf/: load_config() runs them after every key has been parsed.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conf/config.h"

namespace pw::conf {

/// Where each key came from, so a cross-key error can name a line.
struct KeyLines {
  std::map<std::string, int> section_line;  // first header line of each section
  std::map<std::string, int> key_line;      // "section.key" → line, parsed or not
  std::set<std::string> bad;                // "section.key" whose value was rejected

  /// The key's line; else its section's header line; else 0 (not in the file).
  int line(const std::string& section, const std::string& key) const;
  bool present(const std::string& section, const std::string& key) const;
  /// False when the key's own value was rejected: checks built on it would
  /// only repeat that error.
  bool usable(const std::string& section, const std::string& key) const;
};

/// Collects errors for one file.
class ErrorSink {
 public:
  ErrorSink(std::string file, std::vector<ConfigError>* out) : file_(std::move(file)), out_(out) {}
  void add(int line, std::string section, std::string key, std::string message) {
    out_->push_back({file_, line, std::move(section), std::move(key), std::move(message)});
  }
  /// Adds at the line where section/key was set (see KeyLines::line).
  void at(const KeyLines& kl, const std::string& section, const std::string& key,
          std::string message) {
    add(kl.line(section, key), section, key, std::move(message));
  }

 private:
  std::string file_;
  std::vector<ConfigError>* out_;
};

/// Members, this node, port clashes, timing relations, [tls] completeness.
void validate_cluster(const Config& c, const KeyLines& kl, ErrorSink& sink);

/// Secret files and certificates: present, readable, private. Runs with the
/// process's effective uid; when that is root the daemon will drop to
/// run_as_user, so secrets must be owned by that user.
void validate_files(const Config& c, const KeyLines& kl, ErrorSink& sink);

/// Reads [postgresql] hba_file into c.pg_hba_file_rules (blank lines and
/// # comments skipped), each rule checked like hba_extra; an error names the
/// hba_file key's line and the rule's line in that file.
void load_hba_file(Config& c, const KeyLines& kl, ErrorSink& sink);

/// What is wrong with a secret file, or "" when it is fine. `euid` is who
/// checks; `run_as_uid` the user the daemon will read it as when euid is 0
/// (nullopt when that user does not exist). Separate for testing.
std::string secret_file_problem(const std::string& path, uid_t euid,
                                std::optional<uid_t> run_as_uid, const std::string& run_as_name);
/// What is wrong with a non-secret file that must be readable (by run_as_uid
/// when euid is 0), or "".
std::string readable_file_problem(const std::string& path, uid_t euid,
                                  std::optional<uid_t> run_as_uid, const std::string& run_as_name);

}  // namespace pw::conf
