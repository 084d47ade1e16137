// proxy/route_snapshot.h — a published Route plus what the proxy threads need
// to act on it without further lookups: resolved addresses and the shared
// counters of every backend. Built by publish() on the caller's thread;
// immutable once handed to the proxy threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/counters.h"
#include "proxy/net.h"
#include "proxy/route.h"

namespace pw::proxy {

struct ResolvedBackend {
  SockAddr addr;
  bool resolved = false;
  std::string error;              // why resolution failed
  BackendStats* stats = nullptr;  // identity (host, port) + counters
};

struct RouteSnapshot {
  Route route;
  ResolvedBackend primary;  // meaningful when route.has_primary
  std::vector<ResolvedBackend> replicas;
  /// Same epoch, primary and replica set as `o` (lags may differ): only
  /// freshness changed, so no session has to be re-judged for closing.
  bool same_topology(const RouteSnapshot& o) const;
};

/// Host name -> address text (an IP literal), filled once at start.
using HostTable = std::map<std::string, std::string>;

/// Resolves `names` with getaddrinfo (blocking: call it at start, off every
/// event loop). Unresolvable names are logged and left out.
HostTable resolve_hosts(const std::vector<std::string>& names);

/// Addresses every backend of `r` without blocking: IP literals are parsed,
/// names are looked up in `hosts` (resolve_hosts), never in DNS.
std::shared_ptr<const RouteSnapshot> make_snapshot(const Route& r, BackendTable& table, const HostTable& hosts);

}  // namespace pw::proxy
