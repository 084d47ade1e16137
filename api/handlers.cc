// api/handlers.cc — see api_handlers.h: routing, the read endpoints,
// authentication. The health endpoints are in api_health.cc, the POST
// bodies in api_mutations.cc.
#include "api/handlers.h"
#include "api/ui.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

#include "api/metrics.h"
#include "api/routes.h"
#include "api/view.h"
#include "base/json_io.h"

namespace pw::node {

namespace {

ApiResponse json_response(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ApiResponse error_response(int status, const std::string& message) { return json_response(status, error_json(message)); }

// Paths that answer GET (and HEAD/OPTIONS, which HAProxy's httpchk sends).
bool is_read_path(const std::string& p) { return api_route_listed("GET", p); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_query(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string part = query.substr(start, end - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string::npos) out.emplace_back(url_decode(part), "");
      else out.emplace_back(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    }
    start = end + 1;
  }
  return out;
}

bool token_matches(const std::string& presented, const std::string& expected) {
  unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  unsigned int la = 0, lb = 0;
  if (!EVP_Digest(presented.data(), presented.size(), a, &la, EVP_sha256(), nullptr) ||
      !EVP_Digest(expected.data(), expected.size(), b, &lb, EVP_sha256(), nullptr) || la != lb)
    return false;
  return CRYPTO_memcmp(a, b, la) == 0;
}

ApiHandlers::ApiHandlers(ApiBackend* backend, std::optional<std::string> token)
    : backend_(backend), token_(std::move(token)) {}

bool ApiHandlers::is_mutation_path(const std::string& p) { return api_route_listed("POST", p); }

void ApiHandlers::handle(const ApiRequest& req, ApiReply reply) {
  // A trailing slash is tolerated ("/cluster/"), as Patroni does.
  std::string path = req.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string& m = req.method;
  bool read_method = m == "GET" || m == "HEAD" || m == "OPTIONS";

  if (is_mutation_path(path)) {
    if (m != "POST") {
      ApiResponse r = error_response(405, "method " + m + " not allowed on " + path + "; use POST");
      r.headers.emplace_back("Allow", "POST");
      return reply(std::move(r));
    }
    return mutation(path, req, std::move(reply));
  }
  if (!is_read_path(path)) return reply(error_response(404, "no such endpoint: " + path));
  if (!read_method) {
    ApiResponse r = error_response(405, "method " + m + " not allowed on " + path + "; use GET");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return reply(std::move(r));
  }
  if (path == "/" || path == "/primary" || path == "/leader" || path == "/master" || path == "/read-write")
    return reply(health(Health::primary, req));
  if (path == "/replica") return reply(health(Health::replica, req));
  if (path == "/read-only") return reply(health(Health::read_only, req));
  if (path == "/health") return reply(health(Health::health, req));
  if (path == "/liveness") return reply(health(Health::liveness, req));
  if (path == "/readiness") return reply(health(Health::readiness, req));
  if (path == "/patroni") return reply(health(Health::status, req));
  if (path == "/sync" || path == "/synchronous") return reply(health(Health::sync, req));
  if (path == "/async" || path == "/asynchronous") return reply(health(Health::async, req));
  if (path == "/cluster") return reply(cluster());
  if (path == "/history") return reply(history());
  if (path == "/proxy") return reply(proxy());
  if (path == "/membership") return reply(membership());
  if (path == "/ui") {
    ApiResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(ui_page());
    r.headers.emplace_back("Cache-Control", "no-store");
    return reply(std::move(r));
  }
  if (path == "/metrics") return reply(metrics());
  // A GET route in api/routes.h without a branch above: a bug, which
  // api_docs_test finds by calling every listed route.
  return reply(error_response(500, "no handler for listed endpoint " + path));
}

ApiResponse ApiHandlers::membership() {
  std::optional<MembershipFacts> f = backend_->membership();
  if (!f) return error_response(503, "the membership is not known yet (raft is not running)");
  JsonOut doc;
  doc["cluster"] = backend_->cluster().cluster_name;
  doc["epoch"] = f->committed.epoch;
  doc["next_id"] = f->committed.next_id;
  doc["pending"] = f->pending;
  JsonOut& members = doc["members"] = JsonOut::array();
  for (const auto& m : f->committed.members) {
    JsonOut& x = members.emplace_back();
    x["id"] = m.id;
    x["name"] = m.name;
    x["host"] = m.host;
    x["port"] = m.port;
    x["role"] = m.voter ? "voter" : "learner";
    x["stays_learner"] = m.stay_learner;
  }
  if (!f->drift.empty()) doc["config_drift"] = f->drift;
  return json_response(200, json_text(doc));
}

ApiResponse ApiHandlers::cluster() {
  ClusterFacts c = backend_->cluster();
  return json_response(200, cluster_json(c, member_rows(c)));
}

ApiResponse ApiHandlers::history() { return json_response(200, history_json(backend_->cluster().state)); }

ApiResponse ApiHandlers::proxy() {
  std::optional<proxy::Counters> c = backend_->proxy_counters();
  if (!c) return error_response(503, "this process runs no proxy");
  return json_response(200, proxy_json(*c));
}

ApiResponse ApiHandlers::metrics() {
  HealthFacts h = backend_->health();
  ClusterFacts c = backend_->cluster();
  RaftFacts r = backend_->raft();
  std::optional<proxy::Counters> p = backend_->proxy_counters();
  FencerFacts f = backend_->fencer();
  std::vector<MemberRow> rows = member_rows(c);
  MetricsInput in;
  in.health = &h;
  in.cluster = &c;
  in.rows = &rows;
  in.raft = &r;
  in.proxy = p ? &*p : nullptr;
  in.fencer = &f;
  ApiResponse resp = json_response(200, metrics_text(in));
  resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return resp;
}

std::optional<ApiResponse> ApiHandlers::check_auth(const ApiRequest& req) const {
  if (!token_)
    return error_response(403,
                          "changes through the API are disabled: no [api] token_file is configured; "
                          "put a secret token in a file (mode 0600), set [api] token_file and restart");
  const std::string& h = req.authorization;
  constexpr const char* kScheme = "bearer ";
  if (h.empty()) {
    ApiResponse r = error_response(401, "missing 'Authorization: Bearer <token>' header");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pgwarden\"");
    return r;
  }
  if (h.size() < strlen(kScheme) || strncasecmp(h.c_str(), kScheme, strlen(kScheme)) != 0) {
    ApiResponse r = error_response(401, "the Authorization header must be 'Bearer <token>'");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pgwarden\"");
    return r;
  }
  std::string presented = h.substr(strlen(kScheme));
  while (!presented.empty() && (presented.front() == ' ' || presented.front() == '\t')) presented.erase(0, 1);
  while (!presented.empty() && (presented.back() == ' ' || presented.back() == '\t')) presented.pop_back();
  if (!token_matches(presented, *token_)) return error_response(403, "wrong token");
  return std::nullopt;
}

}  // namespace pw::node
