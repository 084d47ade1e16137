// ctl/http_client.cc — http_request over libcurl (see http_client.h): the
// options that make one request safe to carry the API token (the node
// directly, never a proxy or a redirect; the cluster CA only; the host name
// verified before anything is sent) and curl's failures turned into
// messages that name the URL and the step that failed.
#include "ctl/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "conf/values.h"

namespace pw::node {

namespace {

constexpr size_t kMaxResponse = 64u << 20;  // far above any API answer; a bound against a runaway peer

struct CurlFree {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, CurlFree>;
using Headers = std::unique_ptr<curl_slist, CurlFree>;

// curl_global_init is not safe against a concurrent first use on every
// libcurl build; doing it once here keeps that off every caller's mind.
// It is never undone: the process may still use it until exit.
CURLcode global_init() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return rc;
}

// Characters that can stand unescaped as a URL host: member names (letters,
// digits, '.', '_', '-') and addresses (':' for IPv6). Anything else would
// make curl parse a different URL than the one meant.
bool url_safe_host(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != ':') return false;
  return true;
}

bool has_line_break(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

struct Sink {
  std::string body;
  bool too_big = false;
};

// Returning less than given makes curl stop with CURLE_WRITE_ERROR.
size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->body.size() + len > kMaxResponse) {
    sink->too_big = true;
    return 0;
  }
  try {
    sink->body.append(data, len);
  } catch (const std::bad_alloc&) {  // never unwind through curl's C frames
    sink->too_big = true;
    return 0;
  }
  return len;
}

// Sets options, remembering the first one libcurl refused: a refused
// security option (proxy, CA path, host check) must stop the request, not
// be silently skipped.
class Setter {
 public:
  explicit Setter(CURL* h) : h_(h) {}
  template <typename T>
  void operator()(CURLoption opt, T value, const char* name) {
    CURLcode rc = curl_easy_setopt(h_, opt, value);
    if (rc != CURLE_OK && failed_.empty()) failed_ = std::string(name) + ": " + curl_easy_strerror(rc);
  }
  const std::string& failed() const { return failed_; }

 private:
  CURL* h_;
  std::string failed_;
};

std::string duration(int ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

struct Failure {
  CURLcode rc;
  std::string detail;    // curl's error buffer, or its generic text
  long os_errno = 0;     // errno of the failed connect/send/recv, when known
  bool connected = false;
  bool tls_done = false;
};

std::string describe(const Failure& f, const HttpTarget& t, const std::string& where, const std::string& checked_name,
                     int timeout_ms, const Sink& sink) {
  const std::string os = f.os_errno ? std::string(strerror(static_cast<int>(f.os_errno))) : f.detail;
  switch (f.rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot connect to " + where + ": cannot resolve " + t.host + " (" + f.detail + ")";
    case CURLE_COULDNT_CONNECT:
      return "cannot connect to " + where + ": " + os;
    case CURLE_OPERATION_TIMEDOUT:
      if (!f.connected) return "cannot connect to " + where + ": timed out after " + duration(timeout_ms);
      if (t.tls && !f.tls_done) return "TLS handshake with " + where + " failed: timed out after " + duration(timeout_ms);
      return "reading the response from " + where + " failed: timed out after " + duration(timeout_ms);
    case CURLE_PEER_FAILED_VERIFICATION:
      // curl checks the name itself, after the chain, and says so in "...
      // target host name 'X'"; CURLINFO_SSL_VERIFYRESULT is not set then.
      if (f.detail.find("target host name") != std::string::npos)
        return "TLS handshake with " + where + " failed: certificate not trusted: it does not name '" +
               checked_name + "' (" + f.detail + ")" +
               (t.server_name.empty() ? "; with --api, give a host name or address the certificate carries, "
                                        "or use -c FILE without --api to check the member's name"
                                      : "");
      return "TLS handshake with " + where + " failed: certificate not trusted: " + f.detail + " (CA file " +
             t.ca_file + ")";
    case CURLE_SSL_CACERT_BADFILE:
      return "cannot load CA file " + t.ca_file + " to verify " + where + ": " + f.detail;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (sink.too_big || f.rc == CURLE_FILESIZE_EXCEEDED) return "the response from " + where + " exceeds 64 MiB";
      break;
    case CURLE_GOT_NOTHING:
      return where + " closed the connection without answering";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:  // curl refuses HTTP/0.9, i.e. bytes that are not an HTTP status line
      return where + " did not answer with HTTP (is it the pgwarden API port" + (t.tls ? "" : ", or an https one") +
             "?): " + f.detail;
    case CURLE_SEND_ERROR:
      return "sending the request to " + where + " failed: " + os;
    case CURLE_RECV_ERROR:
      return "reading the response from " + where + " failed: " + os;
    case CURLE_PARTIAL_FILE:
      return "the response from " + where + " was cut short";
    default:
      break;
  }
  if (t.tls && !f.tls_done && f.connected) return "TLS handshake with " + where + " failed: " + f.detail;
  return "request to " + where + " failed: " + f.detail;
}

HttpResult request(const HttpTarget& target, const std::string& method, const std::string& path,
                   const std::string& body, const std::string& token, int timeout_ms) {
  HttpResult r;
  const std::string where = target.url();
  if (target.tls && target.ca_file.empty()) {
    // Without it curl would fall back to the system's public CAs.
    r.error = where + " is HTTPS but no CA file is known to verify it (use -c FILE with [tls] ca_file, or --ca-file)";
    return r;
  }
  if (has_line_break(token) || has_line_break(method) || has_line_break(path) || path.empty() || path[0] != '/') {
    r.error = "refusing to send a malformed request to " + where + " (line break in the token, or a bad path '" +
              path + "')";
    return r;
  }
  // TLS with a server name: the URL carries that name, so curl sends it as
  // SNI and verifies the certificate against it, and CONNECT_TO sends the
  // connection to the real host. (CURLOPT_RESOLVE would need an address,
  // and the host may be a DNS name.) Plain HTTP has no name to check.
  const bool by_name = target.tls && !target.server_name.empty();
  const std::string checked_name = by_name ? target.server_name : target.host;
  if (!url_safe_host(checked_name)) {
    r.error = "cannot request " + where + ": '" + checked_name + "' is not a host name or address";
    return r;
  }
  const std::string url =
      std::string(target.tls ? "https://" : "http://") + conf::format_host_port(checked_name, target.port) + path;

  if (CURLcode rc = global_init(); rc != CURLE_OK) {
    r.error = "cannot request " + where + ": libcurl initialisation failed: " + curl_easy_strerror(rc);
    return r;
  }
  Easy h(curl_easy_init());
  if (!h) {
    r.error = "cannot request " + where + ": libcurl could not create a handle";
    return r;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  Sink sink;
  Setter set(h.get());
  set(CURLOPT_ERRORBUFFER, errbuf, "ERRORBUFFER");
  set(CURLOPT_URL, url.c_str(), "URL");
  set(CURLOPT_PATH_AS_IS, 1L, "PATH_AS_IS");
  set(CURLOPT_PROTOCOLS_STR, "http,https", "PROTOCOLS_STR");
  set(CURLOPT_NOSIGNAL, 1L, "NOSIGNAL");  // timeouts without SIGALRM: safe in a threaded process
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(std::max(1, timeout_ms)), "TIMEOUT_MS");
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max(1, timeout_ms)), "CONNECTTIMEOUT_MS");
  // The node itself, whatever http_proxy/https_proxy/all_proxy say: a proxy
  // would see the bearer token, and one cannot verify the node's certificate.
  set(CURLOPT_PROXY, "", "PROXY");
  set(CURLOPT_NOPROXY, "*", "NOPROXY");
  set(CURLOPT_FOLLOWLOCATION, 0L, "FOLLOWLOCATION");  // the API never redirects; a 3xx is reported as is
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1), "HTTP_VERSION");
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxResponse), "MAXFILESIZE_LARGE");
  set(CURLOPT_WRITEFUNCTION, on_data, "WRITEFUNCTION");
  set(CURLOPT_WRITEDATA, &sink, "WRITEDATA");
  std::string connect_to;
  Headers connect_list;
  if (target.tls) {
    set(CURLOPT_SSL_VERIFYPEER, 1L, "SSL_VERIFYPEER");
    set(CURLOPT_SSL_VERIFYHOST, 2L, "SSL_VERIFYHOST");
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2), "SSLVERSION");
    set(CURLOPT_CAINFO, target.ca_file.c_str(), "CAINFO");
    // Only the cluster CA: no directory of system CAs next to it (Debian's
    // libcurl defaults to /etc/ssl/certs), and no intermediate in the file
    // taken as a trust anchor.
    set(CURLOPT_CAPATH, static_cast<const char*>(nullptr), "CAPATH");
    set(CURLOPT_SSL_OPTIONS, static_cast<long>(CURLSSLOPT_NO_PARTIALCHAIN), "SSL_OPTIONS");
    if (by_name) {
      connect_to = conf::format_host_port(target.server_name, target.port) + ":" + conf::format_host_port(target.host, target.port);
      connect_list.reset(curl_slist_append(nullptr, connect_to.c_str()));
      if (!connect_list) throw std::bad_alloc();
      set(CURLOPT_CONNECT_TO, connect_list.get(), "CONNECT_TO");
    }
  }

  Headers headers;
  auto add = [&](const std::string& line) {
    curl_slist* l = curl_slist_append(headers.get(), line.c_str());
    if (!l) throw std::bad_alloc();
    headers.release();
    headers.reset(l);
  };
  add("User-Agent: pgwarden-ctl");
  add("Accept: application/json");
  add("Expect:");  // no 100-continue round trip before a large body
  if (!token.empty()) add("Authorization: Bearer " + token);
  const bool has_body = method == "POST" || method == "PUT" || !body.empty();
  if (method == "HEAD") {
    set(CURLOPT_NOBODY, 1L, "NOBODY");  // headers only, whatever Content-Length says
  } else if (has_body) {
    add("Content-Type: application/json");
    set(CURLOPT_POSTFIELDS, body.data(), "POSTFIELDS");
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()), "POSTFIELDSIZE_LARGE");
    if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str(), "CUSTOMREQUEST");
  } else if (method != "GET") {
    set(CURLOPT_CUSTOMREQUEST, method.c_str(), "CUSTOMREQUEST");
  }
  set(CURLOPT_HTTPHEADER, headers.get(), "HTTPHEADER");
  if (!set.failed().empty()) {
    r.error = "cannot request " + where + ": libcurl refused the option " + set.failed();
    return r;
  }

  CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) {
    Failure f{rc, errbuf[0] ? errbuf : curl_easy_strerror(rc)};
    curl_easy_getinfo(h.get(), CURLINFO_OS_ERRNO, &f.os_errno);
    curl_off_t connect_us = 0, tls_us = 0;
    curl_easy_getinfo(h.get(), CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(h.get(), CURLINFO_APPCONNECT_TIME_T, &tls_us);
    f.connected = connect_us > 0;
    f.tls_done = tls_us > 0;
    r.error = describe(f, target, where, checked_name, timeout_ms, sink);
    return r;
  }
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  r.status = static_cast<int>(status);
  r.body = std::move(sink.body);
  r.ok = true;
  return r;
}

}  // namespace

HttpResult http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                        const std::string& body, const std::string& token, int timeout_ms) {
  try {
    return request(target, method, path, body, token, timeout_ms);
  } catch (const std::exception& e) {  // out of memory building the request: still an answer, not a throw
    HttpResult r;
    r.error = "cannot request " + target.url() + ": " + e.what();
    return r;
  }
}

}  // namespace pw::node
