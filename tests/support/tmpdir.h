// tests/support/tmpdir.h — a temporary directory removed (recursively) when
// the object dies, optionally owned by the postgres user.
#pragma once

#include <string>

namespace pw::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pgwarden-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pw::test
