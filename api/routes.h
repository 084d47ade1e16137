// api/routes.h — the table of every HTTP API endpoint: {method, path}.
//
// ApiHandlers::handle() admits exactly these paths (anything else is 404),
// and tests/unit/api_docs_test.cc calls each one and looks for it in
// docs/api.md, so an endpoint cannot be added, dropped or left undocumented
// without a test noticing. A "GET" route also answers HEAD and OPTIONS.
#pragma once

#include <string_view>

namespace pw::node {

struct ApiRoute {
  std::string_view method;  // "GET" (with HEAD, OPTIONS) or "POST"
  std::string_view path;
};

inline constexpr ApiRoute kApiRoutes[] = {
    // Patroni-compatible health checks (api/health.cc).
    {"GET", "/"},
    {"GET", "/primary"},
    {"GET", "/leader"},
    {"GET", "/master"},
    {"GET", "/read-write"},
    {"GET", "/replica"},
    {"GET", "/read-only"},
    {"GET", "/health"},
    {"GET", "/liveness"},
    {"GET", "/readiness"},
    {"GET", "/patroni"},
    {"GET", "/sync"},
    {"GET", "/synchronous"},
    {"GET", "/async"},
    {"GET", "/asynchronous"},
    // Views (api/handlers.cc, api/view.cc, api/metrics.cc, api/ui.cc).
    {"GET", "/cluster"},
    {"GET", "/history"},
    {"GET", "/proxy"},
    {"GET", "/membership"},
    {"GET", "/metrics"},
    {"GET", "/ui"},
    // Changes, with the bearer token (api/mutations.cc).
    {"POST", "/switchover"},
    {"POST", "/failover"},
    {"POST", "/pause"},
    {"POST", "/resume"},
    {"POST", "/reinit"},
    {"POST", "/reset-cluster"},
    {"POST", "/member/add"},
    {"POST", "/member/remove"},
    {"POST", "/raft/transfer-leadership"},
    // Day two (docs/operations.md): restarts and reloads of PostgreSQL, and
    // cancelling scheduled operations.
    {"POST", "/restart"},
    {"POST", "/reload"},
    {"POST", "/flush"},
};

/// True when `path` is listed with `method` ("GET" or "POST").
constexpr bool api_route_listed(std::string_view method, std::string_view path) {
  for (const ApiRoute& r : kApiRoutes)
    if (r.method == method && r.path == path) return true;
  return false;
}

}  // namespace pw::node
