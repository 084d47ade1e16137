// proxy/route_snapshot.cc — see route_snapshot.h.
#include "proxy/route_snapshot.h"

#include "base/log.h"

namespace pw::proxy {

namespace {
ResolvedBackend resolve(const Backend& b, BackendTable& table) {
  ResolvedBackend rb;
  rb.stats = table.get(b);
  rb.resolved = resolve_address(b.host, b.port, &rb.addr, &rb.error);
  if (!rb.resolved) PW_WARN("proxy", "backend unresolvable backend=%s:%u error=\"%s\"", b.host.c_str(), b.port,
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

std::shared_ptr<const RouteSnapshot> make_snapshot(const Route& r, BackendTable& table) {
  auto s = std::make_shared<RouteSnapshot>();
  s->route = r;
  if (r.has_primary) s->primary = resolve(r.primary, table);
  for (const Backend& b : r.replicas) s->replicas.push_back(resolve(b, table));
  return s;
}

}  // namespace pw::proxy
