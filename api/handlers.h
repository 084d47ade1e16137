// api/handlers.h — the HTTP API's request → response logic, with no
// sockets: routing, method checks, the Patroni-compatible health
// endpoints, /cluster, /history, /proxy, /metrics, and the authenticated
// POSTs that become operator requests. api/server.cc moves bytes
// between evhttp and this class; the unit tests call it directly.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/backend.h"

namespace pw::node {

struct ApiRequest {
  std::string method;         // as received, upper case: GET, HEAD, OPTIONS, POST, PUT, ...
  std::string path;           // without the query string
  std::string query;          // raw text after '?', "" when none
  std::string authorization;  // the Authorization header, "" when absent
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra: Allow, WWW-Authenticate
};
using ApiReply = std::function<void(ApiResponse)>;

/// Largest request body accepted (the server enforces it before reading).
constexpr size_t kApiMaxBody = 64 * 1024;

class ApiHandlers {
 public:
  /// `token`: the bearer token mutations require; nullopt when no
  /// [api] token_file is configured (every mutation is then refused, 403).
  ApiHandlers(ApiBackend* backend, std::optional<std::string> token);
  /// Replaces the token (SIGHUP re-reads [api] token_file); requests
  /// already answered are not affected.
  void set_token(std::optional<std::string> token) { token_ = std::move(token); }

  /// Answers `req` by calling `reply` exactly once: synchronously for reads
  /// and rejected requests, later (on the control thread) for operator
  /// requests that wait for a Raft commit. Never throws.
  void handle(const ApiRequest& req, ApiReply reply);

  /// True for the paths that change the cluster (POST endpoints).
  static bool is_mutation_path(const std::string& path);

 private:
  enum class Health { primary, replica, read_only, health, liveness, readiness, status, sync, async };
  ApiResponse health(Health kind, const ApiRequest& req);
  ApiResponse cluster();
  ApiResponse history();
  ApiResponse proxy();
  ApiResponse membership();
  ApiResponse metrics();
  void mutation(const std::string& path, const ApiRequest& req, ApiReply reply);
  /// nullopt when authorized, else the 401/403 response.
  std::optional<ApiResponse> check_auth(const ApiRequest& req) const;

  ApiBackend* backend_;
  std::optional<std::string> token_;
};

/// Splits "a=1&b=x%20y" into decoded pairs (a key without '=' has value "").
std::vector<std::pair<std::string, std::string>> parse_query(const std::string& query);
/// Constant-time comparison of a presented token with the configured one
/// (both hashed first, so neither content nor length leaks through timing).
bool token_matches(const std::string& presented, const std::string& expected);

}  // namespace pw::node
