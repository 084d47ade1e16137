// proxy/route.h — the immutable routing snapshot the control plane publishes
// to the proxy threads (DESIGN §1, I3). Swapped atomically; never mutated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pw::proxy {

struct Backend {
  std::string host;
  uint16_t port = 0;
  uint64_t lag_bytes = 0;  // replicas only
  bool operator==(const Backend&) const = default;
};

struct Route {
  uint64_t epoch = 0;           // fencing token; 0 = no primary
  bool has_primary = false;
  Backend primary;
  int64_t valid_until_ms = 0;   // monotonic (base/clock.h mono_ms); forward only before it
  std::vector<Backend> replicas;
  /// Planned switchover: sessions already on the primary keep running (so
  /// statements in flight finish), new read-write connections are held until
  /// a route without this flag arrives. Needs has_primary.
  bool hold_new = false;
  /// Why there is no usable route, for the 57P03 message held clients get:
  /// "no primary", "no quorum", "failover in progress", ...
  std::string unavailable_reason = "no primary";
};

}  // namespace pw::proxy
