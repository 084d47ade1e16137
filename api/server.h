// api/server.h — the stats/API port (DESIGN §8): a libevent evhttp
// server on the control thread's event_base, optionally HTTPS with the
// node's [tls] certificate. It only moves requests and responses between
// evhttp and ApiHandlers; what each endpoint answers is decided there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "api/backend.h"
#include "api/handlers.h"
#include "conf/config.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct bufferevent;
struct ssl_ctx_st;

namespace pw::node {

struct ApiServerOptions {
  std::string address = "127.0.0.1";  // "*" or "" = every address
  uint16_t port = 8008;                // 0 = any free port (tests); see port()
  std::string token_file;              // "" = none: every mutation is refused (403)
  bool tls = false;
  std::string cert_file, key_file;     // used when tls
  int64_t op_timeout_ms = 15000;       // an operator request not committed by then → 504
  int idle_timeout_s = 10;             // per connection: read/write timeout
};

/// Options from the configuration: [api] port/listen_address/token_file/tls
/// and the [tls] certificate.
ApiServerOptions api_options_from_config(const conf::Config& cfg);

class ApiServer {
 public:
  /// `backend` must outlive the server: the daemon's reads the agent
  /// (node/api_agent_backend.h), tests use a fake.
  ApiServer(event_base* base, ApiServerOptions opts, ApiBackend* backend);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  /// Re-reads the token from `token_file` ("" = none, mutations refused)
  /// and uses it from the next request on. Throws std::runtime_error naming
  /// the file when it cannot be read; the old token then stays in force.
  void reload_token(const std::string& token_file);
  /// Reads the token file, loads the certificate, binds and starts serving.
  /// Throws std::runtime_error naming address:port (or the file) on failure.
  void start();
  /// Stops listening and drops every connection; pending operator requests
  /// get no answer (their results are ignored). Idempotent.
  void stop();
  /// The bound port (after start()).
  uint16_t port() const { return bound_port_; }

  struct Pending;  // an operator request waiting for its commit (api_server.cc)

 private:
  static void on_request(::evhttp_request* req, void* arg);
  static ::bufferevent* make_tls_bev(event_base* base, void* arg);
  static void on_op_timeout(int, short, void* arg);
  void request(::evhttp_request* req);
  void finish(const std::shared_ptr<Pending>& p, const ApiResponse& r);
  int listen_socket();

  event_base* base_;
  ApiServerOptions opts_;
  ApiBackend* backend_;
  std::unique_ptr<ApiHandlers> handlers_;
  evhttp* http_ = nullptr;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  uint16_t bound_port_ = 0;
  std::set<std::shared_ptr<Pending>> pending_;
};

}  // namespace pw::node
