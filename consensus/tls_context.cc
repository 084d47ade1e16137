// consensus/tls_context.cc — see tls_context.h.
#include "consensus/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace pw::consensus {
namespace {

std::string ssl_errors() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(const std::string& what, const std::string& file) {
  throw std::runtime_error("tls: " + what + " " + file + ": " + ssl_errors());
}

std::string subject_names(X509* cert) {
  std::string out;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_DNS) continue;
      const unsigned char* p = ASN1_STRING_get0_data(gn->d.dNSName);
      if (!out.empty()) out += ",";
      out += "DNS:" + std::string(reinterpret_cast<const char*>(p),
                                  static_cast<size_t>(ASN1_STRING_length(gn->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
  }
  char cn[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
    if (!out.empty()) out += ",";
    out += std::string("CN:") + cn;
  }
  return out.empty() ? "(no names)" : out;
}

}  // namespace

TlsContext::TlsContext(const TlsOptions& opts) {
  ctx_ = SSL_CTX_new(TLS_method());
  if (!ctx_) fail("cannot create context", "");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(ctx_, opts.ca_file.c_str(), nullptr) != 1) {
    SSL_CTX_free(ctx_);
    fail("cannot load CA file", opts.ca_file);
  }
  if (SSL_CTX_use_certificate_chain_file(ctx_, opts.cert_file.c_str()) != 1) {
    SSL_CTX_free(ctx_);
    fail("cannot load certificate file", opts.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx_, opts.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx_);
    fail("cannot load key file", opts.key_file);
  }
  if (SSL_CTX_check_private_key(ctx_) != 1) {
    SSL_CTX_free(ctx_);
    fail("key does not match certificate", opts.key_file);
  }
  // Both sides must present a certificate chaining to the cluster CA.
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

SSL* TlsContext::new_ssl() const {
  return SSL_new(ctx_);
}

std::string TlsContext::cert_names_member(SSL* ssl, const std::string& member) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "peer presented no certificate";
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    X509_free(cert);
    return "peer certificate not verified";
  }
  // X509_check_host matches subjectAltName DNS entries, and the CN only when
  // there are none. No wildcards: a certificate names exactly one member.
  int ok =
      X509_check_host(cert, member.c_str(), member.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr);
  std::string reason;
  if (ok != 1) reason = "certificate names " + subject_names(cert) + ", not member " + member;
  X509_free(cert);
  return reason;
}

std::string TlsContext::describe_failure(SSL* ssl, unsigned long bev_err) {
  if (ssl) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
      return std::string("peer certificate rejected: ") + X509_verify_cert_error_string(v) +
             " (not signed by the cluster CA in ca_file?)";
  }
  std::string out;
  char buf[256];
  if (bev_err) {
    ERR_error_string_n(bev_err, buf, sizeof buf);
    out = buf;
  }
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "TLS connection failed" : "TLS error: " + out;
}

}  // namespace pw::consensus
