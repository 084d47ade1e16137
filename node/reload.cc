// node/reload.cc — see reload.h. The comparison walks check-config's own
// rendering of both configurations, so every key the schema knows is
// compared without a list here that could fall behind it.
#include "node/reload.h"

#include <map>
#include <sstream>
#include <utility>

#include "base/log.h"

namespace pw::node {
namespace {

// "section\nkey" -> value, in rendering order (kept in `order`).
struct Rendered {
  std::map<std::string, std::string> values;
  std::vector<std::pair<std::string, std::string>> order;
};

Rendered parse_rendering(const std::string& text) {
  Rendered r;
  std::istringstream in(text);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    std::string value;
    size_t eq;
    if (line.front() == ';') {
      // An unset optional key is rendered as "; key =   (not set)".
      static const std::string kNotSet = "(not set)";
      eq = line.find(" = ");
      if (eq == std::string::npos || line.size() < kNotSet.size() ||
          line.compare(line.size() - kNotSet.size(), kNotSet.size(), kNotSet) != 0)
        continue;
      line = line.substr(2);
      eq -= 2;
    } else {
      eq = line.find(" = ");
      if (eq == std::string::npos) continue;
      value = line.substr(eq + 3);
    }
    std::string key = line.substr(0, eq);
    std::string id = section + "\n" + key;
    if (!r.values.count(id)) r.order.emplace_back(section, key);
    r.values[id] = value;
  }
  return r;
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    default: return "info";
  }
}

}  // namespace

std::vector<KeyChange> config_changes(const conf::Config& running, const conf::Config& file) {
  Rendered a = parse_rendering(conf::render_config(running));
  Rendered b = parse_rendering(conf::render_config(file));
  std::vector<KeyChange> out;
  auto consider = [&](const std::string& section, const std::string& key) {
    std::string id = section + "\n" + key;
    auto ia = a.values.find(id), ib = b.values.find(id);
    std::string va = ia == a.values.end() ? "" : ia->second;
    std::string vb = ib == b.values.end() ? "" : ib->second;
    if (va != vb) out.push_back({section, key, va, vb});
  };
  for (const auto& [section, key] : a.order) consider(section, key);
  // Keys only the file has (a new [postgresql.parameters] entry).
  for (const auto& [section, key] : b.order)
    if (!a.values.count(section + "\n" + key)) consider(section, key);
  return out;
}

bool applies_live(const KeyChange& c) {
  return (c.section == "node" && c.key == "log_level") || (c.section == "api" && c.key == "token_file");
}

void apply_log_level(const std::string& level) {
  if (level == "debug") log_set_level(LogLevel::debug);
  else if (level == "warn") log_set_level(LogLevel::warn);
  else if (level == "error") log_set_level(LogLevel::error);
  else log_set_level(LogLevel::info);
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
            c.file.empty() ? "(not set)" : c.file.c_str(), c.running.empty() ? "(not set)" : c.running.c_str());
  }
  for (const KeyChange& c : o.needs_restart)
    PW_WARN("node",
            "reload: [%s] %s = %s in %s, running with %s: needs a restart of pgwarden "
            "(systemctl restart pgwarden) to take effect",
            c.section.c_str(), c.key.c_str(), c.file.empty() ? "(not set)" : c.file.c_str(), path.c_str(),
            c.running.empty() ? "(not set)" : c.running.c_str());
  PW_INFO("node", "reload: re-read %s: %zu change(s) applied, %zu need a restart of pgwarden, token %s; log level %s",
          path.c_str(), o.applied.size(), o.needs_restart.size(), o.token_error.empty() ? "re-read" : "unchanged",
          level_name(log_level()));
  return o;
}

}  // namespace pw::node
