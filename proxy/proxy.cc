// proxy/proxy.cc — Proxy::start(): binds the listeners, creates one Worker
// per thread, and implements publish()/shutdown()/counters() on top of them.
#include "proxy/proxy.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include <mutex>
#include <stdexcept>

#include "base/log.h"
#include "proxy/net.h"
#include "proxy/worker.h"

namespace pw::proxy {

namespace {

/// Binds `threads` listeners on addr:port. With one thread, a plain socket.
/// With several, every thread gets its own SO_REUSEPORT socket so the kernel
/// spreads connections; a plain probe bind first makes sure nobody else
/// (e.g. another pgwarden) already listens there, since SO_REUSEPORT would
/// otherwise silently share the port with it.
std::vector<int> bind_listeners(const std::string& host, uint16_t port, uint32_t threads, uint16_t* bound) {
  SockAddr addr;
  std::string err;
  if (!resolve_address(host, port, &addr, &err)) throw std::runtime_error("proxy listener: " + err);
  int probe = listen_socket(addr, threads > 1, &err);
  if (probe < 0) throw std::runtime_error("proxy listener: " + err);
  *bound = local_port(probe);
  std::vector<int> fds{probe};
  if (threads > 1) {
    // The probe itself is a reuseport socket; it proves the port was free
    // only if nobody else had SO_REUSEPORT on it, so check with a plain one.
    SockAddr a2 = addr;
    if (a2.ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&a2.ss)->sin_port = htons(*bound);
    else reinterpret_cast<sockaddr_in6*>(&a2.ss)->sin6_port = htons(*bound);
    for (uint32_t i = 1; i < threads; ++i) {
      int fd = listen_socket(a2, true, &err);
      if (fd < 0) {
        for (int f : fds) close(f);
        throw std::runtime_error("proxy listener: " + err);
      }
      fds.push_back(fd);
    }
  }
  return fds;
}

/// CPUs this process may run on (its affinity mask, so a container or a
/// taskset limit counts), at least 1 and at most 64.
uint32_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return static_cast<uint32_t>(std::clamp(n, 1, 64));
}

class ProxyImpl final : public Proxy {
 public:
  explicit ProxyImpl(const ProxyOptions& opts) { shared_.opts = opts; }
  ~ProxyImpl() override { shutdown(); }

  void start() {
    if (shared_.opts.threads == 0) shared_.opts.threads = usable_cpus();
    const ProxyOptions& o = shared_.opts;
    if (o.io_chunk < 1024) throw std::runtime_error("proxy: io_chunk must be >= 1024");
    if (o.pause_timeout_ms < 1) throw std::runtime_error("proxy: pause_timeout_ms must be >= 1");
    if (o.threads > 1) check_port_free(o.listen_address, o.port);
    std::vector<int> rw = bind_listeners(o.listen_address, o.port, o.threads, &port_);
    std::vector<int> ro;
    if (o.readonly_port) {
      try {
        if (o.threads > 1) check_port_free(o.listen_address, o.readonly_port);
        ro = bind_listeners(o.listen_address, o.readonly_port, o.threads, &ro_port_);
      } catch (...) {
        for (int f : rw) close(f);
        throw;
      }
    }
    shared_.hosts = resolve_hosts(o.backend_hosts);
    auto initial = make_snapshot(Route{}, shared_.backends, shared_.hosts);
    for (uint32_t i = 0; i < o.threads; ++i) {
      workers_.push_back(std::make_unique<Worker>(shared_, static_cast<int>(i), rw[i], ro.empty() ? -1 : ro[i], initial));
      std::string err;
      if (!workers_.back()->init(&err)) {
        for (size_t j = i + 1; j < rw.size(); ++j) close(rw[j]);
        for (size_t j = i + 1; j < ro.size(); ++j) close(ro[j]);
        workers_.clear();
        throw std::runtime_error(err);
      }
    }
    for (auto& w : workers_) w->start();
    running_ = true;
    PW_INFO("proxy", "proxy started listen=%s port=%u readonly_port=%u threads=%u hold_timeout_ms=%lld",
            o.listen_address.c_str(), port_, ro_port_, o.threads, static_cast<long long>(o.hold_timeout_ms));
  }

  void publish(const Route& route) override {
    auto snap = make_snapshot(route, shared_.backends, shared_.hosts);
    std::lock_guard<std::mutex> lk(mu_);
    if (!running_) return;
    // A new epoch or backend set: a server that refused sessions may have a
    // new role, so it gets a fresh chance (refusal_backoff.h). A renewal
    // (same topology, every loop) keeps the pace.
    if (last_ && !snap->same_topology(*last_)) shared_.backends.reset_backoffs();
    last_ = snap;
    for (auto& w : workers_) w->post_route(snap);
  }

  void shutdown() override {
    std::lock_guard<std::mutex> lk(mu_);
    if (!running_) return;
    running_ = false;
    for (auto& w : workers_) w->post_stop();
    for (auto& w : workers_) w->join();
    PW_INFO("proxy", "proxy stopped");
  }

  Counters counters() const override {
    Counters c;
    for (const auto& w : workers_) {
      w->stats[0].add_to(c.readwrite);
      w->stats[1].add_to(c.readonly);
    }
    shared_.backends.snapshot(c.backends);
    return c;
  }

  uint16_t port() const override { return port_; }
  uint16_t readonly_port() const override { return ro_port_; }
  uint32_t threads() const override { return shared_.opts.threads; }

 private:
  static void check_port_free(const std::string& host, uint16_t port) {
    if (port == 0) return;
    SockAddr addr;
    std::string err;
    if (!resolve_address(host, port, &addr, &err)) throw std::runtime_error("proxy listener: " + err);
    int fd = listen_socket(addr, false, &err);
    if (fd < 0) throw std::runtime_error("proxy listener: " + err);
    close(fd);
  }

  SharedState shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mu_;
  std::shared_ptr<const RouteSnapshot> last_;  // last published (under mu_)
  bool running_ = false;
  uint16_t port_ = 0, ro_port_ = 0;
};

}  // namespace

std::unique_ptr<Proxy> Proxy::start(const ProxyOptions& opts) {
  auto p = std::make_unique<ProxyImpl>(opts);
  p->start();
  return p;
}

}  // namespace pw::proxy
