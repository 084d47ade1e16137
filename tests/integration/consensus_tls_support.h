// tests/integration/consensus_tls_support.h — makes test certificates with
// the openssl command line: a cluster CA, one certificate per member (SAN
// DNS = member name, CN = member name), and on request certificates from a
// foreign CA or naming another member.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "consensus/raft_node.h"

namespace pw::test {

class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {
    make_ca("ca");
    make_ca("foreign-ca");
  }
  /// Certificate `file` (dir/file.pem + .key) naming `name`, signed by `ca`.
  void make_cert(const std::string& file, const std::string& name, const std::string& ca = "ca") {
    write(file + ".ext", "subjectAltName=DNS:" + name +
                             "\nbasicConstraints=CA:FALSE\n"
                             "extendedKeyUsage=serverAuth,clientAuth\n");
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
       p(file + ".key") + " -out " + p(file + ".csr") + " -subj /CN=" + name);
    sh("openssl x509 -req -in " + p(file + ".csr") + " -CA " + p(ca + ".pem") + " -CAkey " +
       p(ca + ".key") + " -CAcreateserial -days 2 -out " + p(file + ".pem") + " -extfile " +
       p(file + ".ext"));
  }
  /// TLS options presenting certificate `file`, trusting the cluster CA.
  pw::consensus::TlsOptions tls(const std::string& file) const {
    return {p("ca.pem"), p(file + ".pem"), p(file + ".key")};
  }

 private:
  void make_ca(const std::string& name) {
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
       p(name + ".key") + " -out " + p(name + ".pem") + " -days 2 -subj /CN=" + name);
  }
  std::string p(const std::string& f) const { return dir_ + "/" + f; }
  void write(const std::string& f, const std::string& text) {
    FILE* fp = fopen(p(f).c_str(), "w");
    if (!fp) throw std::runtime_error("cannot write " + p(f));
    fputs(text.c_str(), fp);
    fclose(fp);
  }
  static void sh(const std::string& cmd) {
    std::string quiet = cmd + " >/dev/null 2>&1";
    if (std::system(quiet.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
  }
  std::string dir_;
};

}  // namespace pw::test
