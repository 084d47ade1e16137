// ctl/http_target.cc — the API address ctl talks to (see http_client.h):
// parsing "http[s]://host[:port]" from --api and printing it back for
// messages. Pure string work; the request itself is http_client.cc.
#include "ctl/http_client.h"

#include <cstdlib>

#include "conf/values.h"

namespace pw::node {

std::string HttpTarget::url() const {
  return std::string(tls ? "https://" : "http://") + conf::format_host_port(host, port);
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

}  // namespace pw::node
