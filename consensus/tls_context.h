// consensus/tls_context.h — OpenSSL setup for mutual TLS between raft peers.
// One SSL_CTX per node: it presents the node's certificate, requires one
// from the peer and verifies it against the cluster CA. Which member a
// certificate names is checked after the pgwarden handshake (the claimed
// member name is only known then) with cert_names_member().
#pragma once

#include <memory>
#include <string>

#include "consensus/raft_node.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pw::consensus {

class TlsContext {
 public:
  /// Loads CA, certificate and key. Throws std::runtime_error naming the file
  /// and OpenSSL's reason when one cannot be loaded or the key does not match.
  explicit TlsContext(const TlsOptions& opts);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// A new SSL object for one connection (owned by the caller / bufferevent).
  SSL* new_ssl() const;

  /// Empty when the verified peer certificate of `ssl` names `member`
  /// (subjectAltName DNS entry, or the subject CN when the certificate has
  /// no DNS names); otherwise the reason it does not, for the log.
  static std::string cert_names_member(SSL* ssl, const std::string& member);

  /// Text for a failed TLS connection: the certificate verification result
  /// when there is one, else OpenSSL's queued errors (drains the queue).
  static std::string describe_failure(SSL* ssl, unsigned long bev_err);

 private:
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace pw::consensus
