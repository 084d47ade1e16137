// ctl/http_client.cc — see ctl_http.h.
#include "ctl/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/clock.h"

namespace pw::node {

std::string HttpTarget::url() const {
  bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<HttpTarget> parse_api_url(const std::string& url, std::string* error) {
  HttpTarget t;
  std::string rest = url;
  if (rest.rfind("https://", 0) == 0) {
    t.tls = true;
    t.port = 8008;
    rest = rest.substr(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    *error = "unsupported scheme in '" + url + "' (use http:// or https://)";
    return std::nullopt;
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    *error = "the API URL '" + url + "' must not have a path (e.g. http://10.0.0.1:8008)";
    return std::nullopt;
  }
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) {
      *error = "unterminated '[' in '" + url + "'";
      return std::nullopt;
    }
    t.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        *error = "expected ':' after ']' in '" + url + "'";
        return std::nullopt;
      }
      port = rest.substr(close + 2);
    }
  } else {
    size_t colon = rest.find(':');
    t.host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (t.host.empty()) {
    *error = "no host in '" + url + "'";
    return std::nullopt;
  }
  if (!port.empty() || rest.find(':') != std::string::npos) {
    char* end = nullptr;
    long p = strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535) {
      *error = "bad port '" + port + "' in '" + url + "'";
      return std::nullopt;
    }
    t.port = static_cast<uint16_t>(p);
  }
  return t;
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

// Connects within the deadline; returns a blocking socket or -1 with *err.
int connect_to(const HttpTarget& t, int64_t deadline, std::string* err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(t.host.c_str(), std::to_string(t.port).c_str(), &hints, &res);
  if (rc != 0) {
    *err = "cannot resolve " + t.host + ": " + gai_strerror(rc);
    return -1;
  }
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
    int s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (s < 0) {
      last = strerror(errno);
      continue;
    }
    if (connect(s, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = strerror(errno);
      close(s);
      continue;
    }
    pollfd p{s, POLLOUT, 0};
    int64_t left = deadline - mono_ms();
    int n = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (n <= 0) {
      last = n == 0 ? "connection timed out" : strerror(errno);
    } else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      last = strerror(soerr ? soerr : errno);
    } else {
      fd = s;
      break;
    }
    close(s);
  }
  freeaddrinfo(res);
  if (fd < 0) {
    *err = last;
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int64_t left = std::max<int64_t>(1, deadline - mono_ms());
  timeval tv{static_cast<time_t>(left / 1000), static_cast<suseconds_t>((left % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Decodes a chunked body; false if malformed.
bool dechunk(const std::string& in, std::string* out) {
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    char* end = nullptr;
    std::string sz = in.substr(pos, eol - pos);
    unsigned long n = strtoul(sz.c_str(), &end, 16);
    if (end == sz.c_str()) return false;
    pos = eol + 2;
    if (n == 0) return true;
    if (in.size() - pos < n) return false;
    out->append(in, pos, n);
    pos += n + 2;
  }
}

}  // namespace

HttpResult http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                        const std::string& body, const std::string& token, int timeout_ms) {
  HttpResult r;
  const std::string where = target.url();
  int64_t deadline = mono_ms() + timeout_ms;
  Fd sock;
  std::string err;
  sock.fd = connect_to(target, deadline, &err);
  if (sock.fd < 0) {
    r.error = "cannot connect to " + where + ": " + err;
    return r;
  }

  std::unique_ptr<SSL_CTX, SslFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  if (target.tls) {
    ERR_clear_error();
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
      r.error = "TLS setup for " + where + ": " + ssl_errors();
      return r;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (target.ca_file.empty()) {
      r.error = where + " is HTTPS but no CA file is known to verify it (use -c FILE with [tls] ca_file, or --ca-file)";
      return r;
    }
    if (SSL_CTX_load_verify_locations(ctx.get(), target.ca_file.c_str(), nullptr) != 1) {
      r.error = "cannot load CA file " + target.ca_file + ": " + ssl_errors();
      return r;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    ssl.reset(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), sock.fd);
    if (!is_ip(target.host)) SSL_set_tlsext_host_name(ssl.get(), target.host.c_str());
    if (!target.server_name.empty()) SSL_set1_host(ssl.get(), target.server_name.c_str());
    if (SSL_connect(ssl.get()) != 1) {
      long v = SSL_get_verify_result(ssl.get());
      r.error = "TLS handshake with " + where + " failed: " +
                (v != X509_V_OK ? std::string("certificate not trusted: ") + X509_verify_cert_error_string(v)
                                : ssl_errors());
      return r;
    }
  }

  std::string host_header = target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_header + ":" + std::to_string(target.port) +
                    "\r\nUser-Agent: pgwarden-ctl\r\nAccept: application/json\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST" || method == "PUT" || !body.empty())
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;

  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ssl ? SSL_write(ssl.get(), req.data() + off, static_cast<int>(req.size() - off))
                    : send(sock.fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      r.error = "sending the request to " + where + " failed: " +
                (ssl ? ssl_errors() : std::string(errno == EAGAIN ? "timed out" : strerror(errno)));
      return r;
    }
    off += static_cast<size_t>(n);
  }

  std::string resp;
  char buf[16384];
  constexpr size_t kMaxResponse = 64u << 20;
  for (;;) {
    ssize_t n = ssl ? SSL_read(ssl.get(), buf, sizeof buf) : recv(sock.fd, buf, sizeof buf, 0);
    if (n > 0) {
      resp.append(buf, static_cast<size_t>(n));
      if (resp.size() > kMaxResponse) {
        r.error = "the response from " + where + " exceeds 64 MiB";
        return r;
      }
      continue;
    }
    if (n == 0) break;
    if (ssl) {
      int e = SSL_get_error(ssl.get(), static_cast<int>(n));
      if (e == SSL_ERROR_ZERO_RETURN) break;
      if (e == SSL_ERROR_SYSCALL && errno == 0) break;  // closed without close_notify
    }
    if (errno == EINTR) continue;
    r.error = std::string("reading the response from ") + where + " failed: " +
              (errno == EAGAIN || errno == EWOULDBLOCK ? "timed out after " + std::to_string(timeout_ms / 1000) + " s"
                                                       : std::string(strerror(errno)));
    return r;
  }

  size_t hdr_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || hdr_end == std::string::npos || resp.size() < 12) {
    r.error = resp.empty() ? where + " closed the connection without answering"
                           : where + " did not answer with HTTP (is it the pgwarden API port?)";
    return r;
  }
  r.status = atoi(resp.c_str() + 9);
  if (method == "HEAD") {  // headers only, whatever Content-Length says
    r.ok = true;
    return r;
  }
  std::string headers = resp.substr(0, hdr_end);
  std::string raw = resp.substr(hdr_end + 4);
  std::string lower;
  for (char c : headers) lower.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
  if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    if (!dechunk(raw, &r.body)) {
      r.error = "malformed chunked response from " + where;
      return r;
    }
  } else if (size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
    size_t len = strtoul(lower.c_str() + cl + 17, nullptr, 10);
    if (raw.size() < len) {
      r.error = "the response from " + where + " was cut short";
      return r;
    }
    r.body = raw.substr(0, len);
  } else {
    r.body = raw;
  }
  r.ok = true;
  return r;
}

}  // namespace pw::node
