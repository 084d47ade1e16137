// ctl/ctl.h — `pgwarden ctl`: the operator's command line over the HTTP
// API (list, switchover, failover, pause, resume, reinit, history,
// reset-cluster, status --json). run_ctl() is the whole command with its
// output streams as parameters, so tests run it in-process; the rendering
// of the tables is split out as pure functions of the API's JSON (parsed
// by base/json_io.h's parse_json: bounded, no exceptions).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pw::node {

/// Runs `pgwarden ctl` with `args` (the words after "ctl"). Returns the exit
/// code: 0 success, 1 the API was unreachable or refused, 2 bad usage or
/// configuration.
int run_ctl(const std::vector<std::string>& args, FILE* out, FILE* err);

/// `ctl list`: the cluster summary, diagnostics and the member table, from
/// a GET /cluster document.
std::string render_list(const nlohmann::json& cluster);
/// `ctl history`: a table from a GET /history document.
std::string render_history(const nlohmann::json& history);
/// The GET /membership document as a table (`ctl member list`).
std::string render_members(const nlohmann::json& membership);

/// A bordered text table like patronictl's; `right` marks right-aligned columns.
std::string render_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right = {});

}  // namespace pw::node
