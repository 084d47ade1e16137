// tests/support/source_files.h — tests that read the source tree (docs,
// examples, README) find it through PW_SOURCE_DIR, which ctest sets for
// every test (tests/CMakeLists.txt). Header-only: uses Catch2's REQUIRE.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace pw::test {

/// The checkout's root directory.
inline std::string source_dir() {
  const char* d = getenv("PW_SOURCE_DIR");
  INFO("PW_SOURCE_DIR is not set (ctest sets it for every test)");
  REQUIRE(d);
  return d;
}

/// The whole content of `path`; fails the test when it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  INFO("cannot read " << path);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace pw::test
