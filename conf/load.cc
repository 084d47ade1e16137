// conf/load.cc — load_config(): INI text (conf/ini_file) → typed Config via
// the key table (conf/schema), then the cross-key and file checks
// (conf/validate), collecting every error with its file, line and key.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>

#include "base/log.h"
#include "base/pg_syntax.h"
#include "conf/config.h"
#include "conf/ini_file.h"
#include "conf/schema.h"
#include "conf/validate.h"

namespace pw::conf {
namespace {

std::string dotted(const std::string& section, const std::string& key) {
  return section + "." + key;
}

std::vector<std::string> keys_of(const std::string& section) {
  std::vector<std::string> out;
  for (const KeySpec& k : schema())
    if (section == k.section) out.push_back(k.key);
  return out;
}

// "did you mean" for a key: first within its section, then the same key in
// another section ("lease" under [raft] belongs to [ha]).
std::string key_hint(const std::string& section, const std::string& key) {
  std::string near = closest(key, keys_of(section));
  if (!near.empty()) return "; did you mean '" + near + "'?";
  for (const KeySpec& k : schema())
    if (key == k.key) return "; did you mean '" + key + "' in [" + k.section + "]?";
  return "; known keys in [" + section + "]: " + [&] {
    std::string list;
    for (const auto& k : keys_of(section)) list += (list.empty() ? "" : ", ") + k;
    return list;
  }();
}

void check_parameter(const IniEntry& e, ErrorSink& sink, Config& c) {
  bool ok =
      !e.key.empty() && (std::isalpha(static_cast<unsigned char>(e.key[0])) || e.key[0] == '_');
  for (char ch : e.key)
    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.');
  if (!ok) {
    sink.add(e.line, e.section, e.key,
             "not a PostgreSQL parameter name (letters, digits, '_', '.')");
    return;
  }
  if (const char* instead = managed_parameter(e.key)) {
    sink.add(e.line, e.section, e.key, std::string("is set by pgwarden; ") + instead);
    return;
  }
  // Bare or quoted the PostgreSQL way ('...' with '' or \' inside): both are
  // written as PostgreSQL reads them; a broken quote fails here, not at the
  // server's first start.
  if (pgsyntax::ConfValue v = pgsyntax::conf_value(e.value); !v.ok()) {
    sink.add(e.line, e.section, e.key, "bad value: " + v.error);
    return;
  }
  c.pg_parameters[e.key] = e.value;
}

// Derived defaults: only meaningful once the config is valid (self exists).
void fill_defaults(Config& c) {
  for (Member& m : c.members)
    if (m.raft_port == 0) m.raft_port = c.raft_port;
  const Member& self = c.self();
  if (c.pg_listen_address.empty()) c.pg_listen_address = self.host;
  if (c.proxy_listen_address.empty()) c.proxy_listen_address = self.host;
  if (c.api_listen_address.empty()) c.api_listen_address = self.host;
  if (c.pg_socket_dir.empty()) c.pg_socket_dir = c.state_dir;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file + ":" + std::to_string(line) + ": ";
  if (!section.empty()) out += "[" + section + "]" + (key.empty() ? "" : " " + key) + ": ";
  return out + message;
}

const Member& Config::self() const {
  for (const Member& m : members)
    if (m.name == node_name) return m;
  // load_config() refuses a config without it; reaching here is a bug.
  PW_ERROR("conf", "self() called but node=%s is not in members", node_name.c_str());
  std::abort();
}

std::vector<std::string> Config::hba_rules() const {
  std::vector<std::string> out = pg_hba_extra;
  out.insert(out.end(), pg_hba_file_rules.begin(), pg_hba_file_rules.end());
  return out;
}

LoadResult load_config(const std::string& path) {
  LoadResult r;
  r.config.source_file = path;
  ErrorSink sink(path, &r.errors);
  IniFile ini = read_ini_file(path);
  if (!ini.open_error.empty()) {
    sink.add(0, "", "", ini.open_error);
    return r;
  }
  for (const IniSyntaxError& e : ini.syntax_errors) sink.add(e.line, "", "", e.message);

  KeyLines kl;
  for (const IniSection& s : ini.sections) {
    if (is_known_section(s.name)) {
      kl.section_line.emplace(s.name, s.line);
      continue;
    }
    std::string near = closest(s.name, section_names());
    sink.add(s.line, s.name, "",
             "unknown section" + (near.empty() ? "" : "; did you mean [" + near + "]?"));
  }

  for (const IniEntry& e : ini.entries) {
    if (e.section.empty()) {
      std::string owner;
      for (const KeySpec& k : schema())
        if (e.key == k.key) owner = k.section;
      sink.add(e.line, "", e.key,
               "key before any [section]" +
                   (owner.empty() ? "" : "; did you mean it under [" + owner + "]?"));
      continue;
    }
    if (!is_known_section(e.section)) continue;  // reported once, at the header
    const std::string id = dotted(e.section, e.key);
    if (auto it = kl.key_line.find(id);
        it != kl.key_line.end() && !repeatable_key(e.section, e.key)) {
      sink.add(e.line, e.section, e.key,
               "set twice; first set at line " + std::to_string(it->second) + " (remove one)");
      continue;
    }
    kl.key_line.emplace(id, e.line);  // the first line, for a repeated key
    if (e.section == kParametersSection) {
      check_parameter(e, sink, r.config);
      continue;
    }
    const KeySpec* spec = find_key(e.section, e.key);
    if (!spec) {
      sink.add(e.line, e.section, e.key, "unknown key" + key_hint(e.section, e.key));
      kl.bad.insert(id);
      continue;
    }
    std::string why = spec->apply(r.config, e.value);
    if (!why.empty()) {
      sink.add(e.line, e.section, e.key, "bad value: " + why);
      kl.bad.insert(id);
    }
  }

  for (const KeySpec& k : schema()) {
    if (!k.required || kl.present(k.section, k.key)) continue;
    sink.at(kl, k.section, k.key,
            std::string("required key missing; add '") + k.key + " = ...' under [" + k.section +
                "] (" + k.meaning + ")");
    kl.bad.insert(dotted(k.section, k.key));
  }

  validate_cluster(r.config, kl, sink);
  validate_files(r.config, kl, sink);
  load_hba_file(r.config, kl, sink);

  // File order; errors without a line (a missing key or file) go last.
  std::stable_sort(r.errors.begin(), r.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return (a.line == 0 ? INT_MAX : a.line) < (b.line == 0 ? INT_MAX : b.line);
                   });
  if (r.ok()) fill_defaults(r.config);
  return r;
}

}  // namespace pw::conf
