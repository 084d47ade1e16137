// proxy/route_snapshot.cc — see route_snapshot.h.
#include "proxy/route_snapshot.h"

#include "base/log.h"

namespace pw::proxy {

HostTable resolve_hosts(const std::vector<std::string>& names) {
  HostTable t;
  for (const std::string& n : names) {
    SockAddr a;
    std::string err;
    if (t.count(n) || parse_numeric_address(n, 0, &a, &err)) continue;  // literals need no table entry
    if (!resolve_address(n, 0, &a, &err)) {
      PW_WARN("proxy", "backend host unresolvable at start host=%s error=\"%s\"", n.c_str(), err.c_str());
      continue;
    }
    std::string name = addr_name(a);  // "ip:0" or "[ip]:0"
    name = name.substr(0, name.rfind(':'));
    if (name.size() > 2 && name.front() == '[') name = name.substr(1, name.size() - 2);
    PW_INFO("proxy", "backend host resolved host=%s address=%s", n.c_str(), name.c_str());
    t[n] = name;
  }
  return t;
}

namespace {
ResolvedBackend resolve(const Backend& b, BackendTable& table, const HostTable& hosts) {
  ResolvedBackend rb;
  rb.stats = table.get(b);
  rb.resolved = parse_numeric_address(b.host, b.port, &rb.addr, &rb.error);
  if (!rb.resolved) {
    auto it = hosts.find(b.host);
    if (it != hosts.end()) {
      rb.resolved = parse_numeric_address(it->second, b.port, &rb.addr, &rb.error);
    } else {
      rb.error = "host name " + b.host + " was not resolved when the proxy started (names are never looked up "
                 "on the control loop; use an IP address or a member's host)";
    }
  }
  // Logged once per change: routes are re-published at every renewal.
  bool was_unresolvable = rb.stats->unresolvable.exchange(!rb.resolved, std::memory_order_relaxed);
  if (!rb.resolved && !was_unresolvable) PW_WARN("proxy", "backend unresolvable backend=%s:%u error=\"%s\"", b.host.c_str(), b.port,
                            rb.error.c_str());
  return rb;
}
}  // namespace

bool RouteSnapshot::same_topology(const RouteSnapshot& o) const {
  if (route.epoch != o.route.epoch || route.has_primary != o.route.has_primary) return false;
  if (route.has_primary && primary.stats != o.primary.stats) return false;
  if (replicas.size() != o.replicas.size()) return false;
  for (size_t i = 0; i < replicas.size(); ++i)
    if (replicas[i].stats != o.replicas[i].stats) return false;
  return true;
}

std::shared_ptr<const RouteSnapshot> make_snapshot(const Route& r, BackendTable& table, const HostTable& hosts) {
  auto s = std::make_shared<RouteSnapshot>();
  s->route = r;
  if (r.has_primary) s->primary = resolve(r.primary, table, hosts);
  for (const Backend& b : r.replicas) s->replicas.push_back(resolve(b, table, hosts));
  return s;
}

}  // namespace pw::proxy
