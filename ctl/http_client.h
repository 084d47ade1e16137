// ctl/http_client.h — the small blocking HTTP/1.1 client `pgwarden ctl`
// (and a joining node's discovery) uses to talk to the API: one request per
// call, over libcurl, optional TLS verified against the cluster CA and a
// host name. Blocking is right here: ctl is a short-lived command, not the
// daemon. Every failure says which URL and what failed ("cannot connect to
// http://10.0.0.1:8008: Connection refused").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pw::node {

struct HttpTarget {
  bool tls = false;
  std::string host;         // name or address (IPv6 without brackets)
  uint16_t port = 8008;
  std::string ca_file;      // tls: the CA the server's certificate must chain to (and only it)
  /// tls: the name the certificate must carry (DNS SAN, or CN without SANs);
  /// "" = `host` itself (a DNS name, or an address as an IP SAN). The
  /// connection still goes to `host`; the token is sent only once it matched.
  std::string server_name;
  /// "http://host:port" (brackets around IPv6), for messages.
  std::string url() const;
};

/// Parses "http://host[:port]" or "https://host[:port]" (a path is not
/// allowed). Without a scheme, http is assumed. nullopt + *error on failure.
std::optional<HttpTarget> parse_api_url(const std::string& url, std::string* error);

struct HttpResult {
  bool ok = false;      // a complete HTTP response was received
  std::string error;    // when !ok: what failed, naming the URL
  int status = 0;
  std::string body;
};

/// Sends one request and reads the whole response (at most 64 MiB).
/// `token` ("" = none) goes in an Authorization: Bearer header. Talks to the
/// target directly: no proxy from the environment, no redirect followed.
/// `timeout_ms` bounds the whole exchange. Never throws.
HttpResult http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                        const std::string& body, const std::string& token, int timeout_ms = 20000);

}  // namespace pw::node
