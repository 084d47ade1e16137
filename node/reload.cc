// node/reload.cc — see reload.h. The comparison walks conf's schema (the
// same table check-config prints), so every key is compared without a list
// here that could fall behind it.
#include "node/reload.h"

#include <utility>

#include "base/log.h"
#include "conf/schema.h"

namespace pw::node {
namespace {

// A repeatable key shows one value per line; a log event is one line.
std::string one_line(std::string v) {
  if (v.empty()) return "(not set)";
  for (size_t i; (i = v.find('\n')) != std::string::npos;) v.replace(i, 1, ", ");
  return v;
}

}  // namespace

std::vector<KeyChange> config_changes(const conf::Config& running, const conf::Config& file) {
  std::vector<KeyChange> out;
  for (const std::string& section : conf::section_names()) {
    if (section == conf::kParametersSection) {
      // Both maps are sorted by name: walk their union in order.
      auto a = running.pg_parameters.begin(), b = file.pg_parameters.begin();
      while (a != running.pg_parameters.end() || b != file.pg_parameters.end()) {
        bool take_a = b == file.pg_parameters.end() || (a != running.pg_parameters.end() && a->first <= b->first);
        bool take_b = a == running.pg_parameters.end() || (b != file.pg_parameters.end() && b->first <= a->first);
        const std::string& key = take_a ? a->first : b->first;
        std::string va = take_a ? a->second : "", vb = take_b ? b->second : "";
        if (va != vb) out.push_back({section, key, va, vb});
        if (take_a) ++a;
        if (take_b) ++b;
      }
      continue;
    }
    for (const conf::KeySpec& k : conf::schema()) {
      if (section != k.section) continue;
      std::string va = k.show(running), vb = k.show(file);
      if (va != vb) out.push_back({section, k.key, std::move(va), std::move(vb)});
    }
  }
  return out;
}

bool applies_live(const KeyChange& c) {
  return (c.section == "node" && c.key == "log_level") || (c.section == "api" && c.key == "token_file");
}

void apply_log_level(const std::string& level) {
  log_set_level(log_level_named(level).value_or(LogLevel::info));  // conf validated it
}

Reloader::Outcome Reloader::reload() {
  Outcome o;
  const std::string& path = running_.source_file;
  conf::LoadResult r = conf::load_config(path);
  if (!r.ok()) {
    for (const conf::ConfigError& e : r.errors) o.errors.push_back(e.to_string());
    PW_ERROR("node", "reload: %zu error(s) in %s, the running configuration stays in force; first: %s",
             o.errors.size(), path.c_str(), o.errors.front().c_str());
    for (size_t i = 1; i < o.errors.size(); ++i) PW_ERROR("node", "reload: %s", o.errors[i].c_str());
    return o;
  }
  o.loaded = true;
  r.config.source_file = path;
  for (KeyChange& c : config_changes(running_, r.config))
    (applies_live(c) ? o.applied : o.needs_restart).push_back(std::move(c));
  // The token is re-read on every reload: its file's content may have
  // changed under the same path (a rotated secret).
  try {
    reload_token_(r.config.api_token_file);
    running_.api_token_file = r.config.api_token_file;
  } catch (const std::exception& e) {
    o.token_error = e.what();
    PW_ERROR("node", "reload: the API token was not changed: %s", e.what());
  }
  running_.log_level = r.config.log_level;
  apply_log_level(running_.log_level);
  for (const KeyChange& c : o.applied) {
    if (c.key == "token_file" && !o.token_error.empty()) continue;
    PW_INFO("node", "reload: [%s] %s = %s (was %s): applied", c.section.c_str(), c.key.c_str(),
            one_line(c.file).c_str(), one_line(c.running).c_str());
  }
  for (const KeyChange& c : o.needs_restart)
    PW_WARN("node",
            "reload: [%s] %s = %s in %s, running with %s: needs a restart of pgwarden "
            "(systemctl restart pgwarden) to take effect",
            c.section.c_str(), c.key.c_str(), one_line(c.file).c_str(), path.c_str(), one_line(c.running).c_str());
  PW_INFO("node", "reload: re-read %s: %zu change(s) applied, %zu need a restart of pgwarden, token %s; log level %s",
          path.c_str(), o.applied.size(), o.needs_restart.size(), o.token_error.empty() ? "re-read" : "unchanged",
          log_level_word(log_level()));
  return o;
}

}  // namespace pw::node
