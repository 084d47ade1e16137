// proxy/counters.cc — see counters.h.
#include "proxy/counters.h"

#include <algorithm>

namespace pw::proxy {

namespace {
uint64_t val(const Counter& c) { return c.load(std::memory_order_relaxed); }
}  // namespace

void ListenerStats::add_to(ListenerCounters& o) const {
  o.sessions_now += val(sessions_now);
  o.sessions_total += val(sessions_total);
  o.held_now += val(held_now);
  o.held_total += val(held_total);
  o.bytes_client_to_server += val(bytes_c2s);
  o.bytes_server_to_client += val(bytes_s2c);
  o.refused += val(refused);
  o.hold_timeouts += val(hold_timeouts);
  o.closed_epoch_change += val(closed_epoch_change);
  o.backend_connect_errors += val(connect_errors);
  o.backend_connect_total += val(connect_total);
  o.backend_connect_us_sum += val(connect_us_sum);
  o.paused_now += val(paused_now);
  o.paused_total += val(paused_total);
  o.closed_backend_removed += val(closed_backend_removed);
  o.client_errors += val(client_errors);
  o.cancel_requests += val(cancel_requests);
  o.queued_bytes_now += val(queued_bytes_now);
  o.closed_pause_timeout += val(closed_pause_timeout);
  o.startup_retries += val(startup_retries);
}

bool BackendStats::cooling(int64_t now_ms) {
  if (!backing_off_.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lk(backoff_mu_);
  return backoff_.cooling(now_ms);
}

int64_t BackendStats::admit(int64_t now_ms) {
  if (!backing_off_.load(std::memory_order_relaxed)) return 0;
  std::lock_guard<std::mutex> lk(backoff_mu_);
  return backoff_.admit(now_ms) ? 0 : std::max<int64_t>(backoff_.wait_ms(now_ms), 1);
}

void BackendStats::refused(int64_t started_ms, int64_t now_ms, const BackoffPolicy& p, const std::string& message) {
  std::lock_guard<std::mutex> lk(backoff_mu_);
  backoff_.refused(started_ms, now_ms, p);
  refusal_message_ = message;
  backing_off_.store(true, std::memory_order_relaxed);
}

void BackendStats::backoff_reset() {
  if (!backing_off_.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lk(backoff_mu_);
  backoff_.reset();
  backing_off_.store(false, std::memory_order_relaxed);
}

std::string BackendStats::refusal_message() {
  std::lock_guard<std::mutex> lk(backoff_mu_);
  return refusal_message_;
}

void BackendTable::reset_backoffs() {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [key, s] : map_) s->backoff_reset();
}

BackendStats* BackendTable::get(const Backend& b) {
  std::string key = b.host + ":" + std::to_string(b.port);
  std::lock_guard<std::mutex> lk(mu_);
  auto& slot = map_[key];
  if (!slot) slot = std::make_unique<BackendStats>(b);
  return slot.get();
}

void BackendTable::snapshot(std::vector<BackendCounters>& out) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [key, s] : map_) {
    BackendCounters c;
    c.host = s->id.host;
    c.port = s->id.port;
    c.sessions_now = val(s->sessions_now);
    c.sessions_total = val(s->sessions_total);
    c.bytes_client_to_server = val(s->bytes_c2s);
    c.bytes_server_to_client = val(s->bytes_s2c);
    c.connect_errors = val(s->connect_errors);
    c.connect_total = val(s->connect_total);
    c.connect_us_sum = val(s->connect_us_sum);
    out.push_back(std::move(c));
  }
}

}  // namespace pw::proxy
