// pgctl/hot_standby_params.cc — see hot_standby_params.h.
#include "pgctl/hot_standby_params.h"

namespace pw::pgctl {

std::string hot_standby_shortfall(const HotStandbyParams& running, const HotStandbyParams& primary) {
  std::string out;
  const auto r = running.items();
  const auto p = primary.items();
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].second == 0 || p[i].second == 0 || r[i].second >= p[i].second) continue;
    out += (out.empty() ? "" : ", ") + std::string(r[i].first) + " " + std::to_string(r[i].second) +
           " < " + std::to_string(p[i].second);
  }
  return out;
}

HotStandbyParams postgres_defaults() {
  HotStandbyParams d;
  d.max_connections = 100;
  d.max_worker_processes = 8;
  d.max_wal_senders = 10;
  d.max_prepared_transactions = 0;
  d.max_locks_per_transaction = 64;
  return d;
}

}  // namespace pw::pgctl
