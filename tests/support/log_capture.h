// tests/support/log_capture.h — routes pw::log to a file while a test runs,
// so the test can assert what was logged (and what never was), and how often.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>

#include "base/log.h"

namespace pw::test {

/// Sends pw::log output to a file for the lifetime of the object.
class LogCapture {
 public:
  /// replay: at the end, copy what was captured to stderr (where the log
  /// would have gone), so a failing test still shows it.
  enum class AtEnd { keep, replay };
  explicit LogCapture(const std::string& path, AtEnd at_end = AtEnd::keep) : path_(path), at_end_(at_end) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error("cannot open log capture " + path + ": " + strerror(errno));
    pw::log_set_fd(fd_);
  }
  ~LogCapture() {
    pw::log_set_fd(2);
    ::close(fd_);
    if (at_end_ == AtEnd::replay) fprintf(stderr, "%s", text().c_str());
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  /// Lines containing every one of `needles`.
  int count_lines(std::initializer_list<std::string> needles) const {
    std::istringstream in(text());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      bool all = true;
      for (const auto& s : needles) all = all && line.find(s) != std::string::npos;
      n += all;
    }
    return n;
  }
  /// Copies the captured log to stderr (for failing tests).
  void dump() const {
    fprintf(stderr, "---- captured log %s ----\n%s----\n", path_.c_str(), text().c_str());
  }

 private:
  std::string path_;
  AtEnd at_end_;
  int fd_ = -1;
};

}  // namespace pw::test
