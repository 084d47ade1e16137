// api/server.cc — see api_server.h. Every evhttp callback catches
// everything: a bug in a handler answers 500, it never unwinds into libevent.
#include "api/server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/view.h"
#include "base/log.h"

namespace pw::node {

struct ApiServer::Pending : std::enable_shared_from_this<ApiServer::Pending> {
  evhttp_request* req = nullptr;
  ApiServer* server = nullptr;
  event* timer = nullptr;
  bool head = false;
  bool mutation = false;  // a POST to a mutation endpoint: logged at info
  bool done = false;   // answered (or timed out)
  bool dead = false;   // the server stopped: req and server are gone
  std::string what;    // "POST /switchover", for the log
  std::string peer;
};

ApiServerOptions api_options_from_config(const conf::Config& cfg) {
  ApiServerOptions o;
  o.address = cfg.api_listen_address.empty() ? cfg.self().host : cfg.api_listen_address;
  o.port = cfg.api_port;
  o.token_file = cfg.api_token_file;
  o.tls = cfg.api_tls;
  o.cert_file = cfg.tls_cert_file;
  o.key_file = cfg.tls_key_file;
  return o;
}

ApiServer::ApiServer(event_base* base, ApiServerOptions opts, ApiBackend* backend)
    : base_(base), opts_(std::move(opts)), backend_(backend) {}

ApiServer::~ApiServer() { stop(); }

namespace {

std::string endpoint(const ApiServerOptions& o) {
  bool v6 = o.address.find(':') != std::string::npos;
  return (v6 ? "[" + o.address + "]" : o.address) + ":" + std::to_string(o.port);
}

std::optional<std::string> read_token(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read [api] token_file " + path + ": " + strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
  if (t.empty()) throw std::runtime_error("[api] token_file " + path + " is empty: put a secret token in it");
  if (t.find_first_of("\r\n") != std::string::npos)
    throw std::runtime_error("[api] token_file " + path + " holds more than one line: the token is one line");
  return t;
}

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string method_name(evhttp_cmd_type t) {
  switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
  }
  return "UNKNOWN";
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
  }
}

}  // namespace

int ApiServer::listen_socket() {
  std::string addr = opts_.address;
  const char* node = (addr.empty() || addr == "*") ? nullptr : addr.c_str();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(opts_.port);
  int rc = getaddrinfo(node, port.c_str(), &hints, &res);
  if (rc != 0)
    throw std::runtime_error("cannot listen on " + endpoint(opts_) + " for the API: " + gai_strerror(rc));
  int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
  int err = errno;
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
      err = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) throw std::runtime_error("cannot listen on " + endpoint(opts_) + " for the API: " + strerror(err));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  bound_port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

void ApiServer::reload_token(const std::string& token_file) {
  std::optional<std::string> token = read_token(token_file);  // throws: nothing changed
  opts_.token_file = token_file;
  if (handlers_) handlers_->set_token(std::move(token));
}

void ApiServer::start() {
  if (http_) return;
  handlers_ = std::make_unique<ApiHandlers>(backend_, read_token(opts_.token_file));
  if (opts_.tls) {
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ssl_ctx_) throw std::runtime_error("API TLS: " + ssl_error());
    SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, opts_.cert_file.c_str()) != 1)
      throw std::runtime_error("API TLS: cannot load certificate " + opts_.cert_file + ": " + ssl_error());
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx_, opts_.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("API TLS: cannot load key " + opts_.key_file + ": " + ssl_error());
    if (SSL_CTX_check_private_key(ssl_ctx_) != 1)
      throw std::runtime_error("API TLS: key " + opts_.key_file + " does not match certificate " + opts_.cert_file);
  }
  int fd = listen_socket();
  http_ = evhttp_new(base_);
  if (!http_) {
    close(fd);
    throw std::runtime_error("cannot create the HTTP server for " + endpoint(opts_));
  }
  // Every method reaches the handlers, which answer 405 with a JSON body
  // (libevent would answer 501 to a method not in this set).
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                        EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  // Bodies over the limit are refused by libevent (413) before being read.
  evhttp_set_max_body_size(http_, static_cast<ev_ssize_t>(kApiMaxBody));
  evhttp_set_max_headers_size(http_, 16 * 1024);
  evhttp_set_timeout(http_, opts_.idle_timeout_s);
  evhttp_set_gencb(http_, &ApiServer::on_request, this);
  if (ssl_ctx_) evhttp_set_bevcb(http_, &ApiServer::make_tls_bev, this);
  if (!evhttp_accept_socket_with_handle(http_, fd)) {
    close(fd);
    evhttp_free(http_);
    http_ = nullptr;
    throw std::runtime_error("cannot accept on " + endpoint(opts_) + " for the API");
  }
  PW_INFO("api", "listening address=%s port=%u tls=%s mutations=%s", opts_.address.c_str(), bound_port_,
          ssl_ctx_ ? "on" : "off", opts_.token_file.empty() ? "disabled (no token_file)" : "token");
}

void ApiServer::stop() {
  // Operator requests still waiting for a commit: their evhttp requests
  // die with the server, so their answers must not be sent.
  for (const auto& p : pending_) {
    p->dead = true;
    if (p->timer) {
      event_free(p->timer);
      p->timer = nullptr;
    }
  }
  pending_.clear();
  if (http_) {
    evhttp_free(http_);  // closes the listener and every connection
    http_ = nullptr;
    PW_INFO("api", "stopped port=%u", bound_port_);
  }
  if (ssl_ctx_) {
    SSL_CTX_free(ssl_ctx_);
    ssl_ctx_ = nullptr;
  }
}

bufferevent* ApiServer::make_tls_bev(event_base* base, void* arg) {
  auto* self = static_cast<ApiServer*>(arg);
  SSL* ssl = SSL_new(self->ssl_ctx_);
  if (!ssl) return nullptr;
  bufferevent* bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  // Clients (curl, HAProxy checks) often close without close_notify.
  if (bev) bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

void ApiServer::on_request(evhttp_request* req, void* arg) {
  auto* self = static_cast<ApiServer*>(arg);
  try {
    self->request(req);
  } catch (const std::exception& e) {
    PW_ERROR("api", "request failed: %s", e.what());
    evhttp_send_error(req, 500, "Internal Server Error");
  } catch (...) {
    PW_ERROR("api", "request failed: unknown exception");
    evhttp_send_error(req, 500, "Internal Server Error");
  }
}

void ApiServer::request(evhttp_request* req) {
  ApiRequest r;
  r.method = method_name(evhttp_request_get_command(req));
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
  const char* query = uri ? evhttp_uri_get_query(uri) : nullptr;
  r.path = path && *path ? path : "/";
  r.query = query ? query : "";
  const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  r.authorization = auth ? auth : "";
  evbuffer* in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  r.body.resize(n);
  if (n) evbuffer_copyout(in, r.body.data(), n);

  auto p = std::make_shared<Pending>();
  p->req = req;
  p->server = this;
  p->head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
  p->what = r.method + " " + r.path;
  if (evhttp_connection* conn = evhttp_request_get_connection(req)) {
    char* host = nullptr;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(conn, &host, &port);
    if (host) p->peer = host;
  }
  p->mutation = ApiHandlers::is_mutation_path(r.path) && r.method == "POST";
  handlers_->handle(r, [p](ApiResponse resp) {
    if (p->done || p->dead) return;  // timed out already, or the server is gone
    p->server->finish(p, resp);
  });
  if (p->done) return;
  // Waiting for a Raft commit: bound the wait so a cluster without quorum
  // answers the operator instead of hanging the connection.
  pending_.insert(p);
  p->timer = evtimer_new(base_, &ApiServer::on_op_timeout, p.get());  // freed before p (finish/stop)
  timeval tv{static_cast<time_t>(opts_.op_timeout_ms / 1000), static_cast<suseconds_t>((opts_.op_timeout_ms % 1000) * 1000)};
  evtimer_add(p->timer, &tv);
}

void ApiServer::on_op_timeout(int, short, void* arg) {
  std::shared_ptr<Pending> p = static_cast<Pending*>(arg)->shared_from_this();
  if (p->done || p->dead) return;
  ApiResponse r;
  r.status = 504;
  r.body = error_json("the cluster did not commit the request within " + std::to_string(p->server->opts_.op_timeout_ms) +
                      " ms (no quorum?); it may still take effect: check GET /cluster");
  p->server->finish(p, r);
}

void ApiServer::finish(const std::shared_ptr<Pending>& p, const ApiResponse& r) {
  p->done = true;
  if (p->timer) {
    event_free(p->timer);  // also from inside its own callback: allowed by libevent
    p->timer = nullptr;
  }
  pending_.erase(p);
  evhttp_request* req = p->req;
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "Content-Type", r.content_type.c_str());
  evhttp_add_header(out, "Cache-Control", "no-store");
  for (const auto& [k, v] : r.headers) evhttp_add_header(out, k.c_str(), v.c_str());
  evbuffer* body = evbuffer_new();
  if (!p->head) evbuffer_add(body, r.body.data(), r.body.size());
  if (p->mutation) {
    PW_INFO("api", "request=\"%s\" peer=%s status=%d", p->what.c_str(), p->peer.c_str(), r.status);
  } else {
    PW_DEBUG("api", "request=\"%s\" peer=%s status=%d", p->what.c_str(), p->peer.c_str(), r.status);
  }
  evhttp_send_reply(req, r.status, reason_phrase(r.status), body);
  evbuffer_free(body);
}

}  // namespace pw::node
