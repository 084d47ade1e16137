// pgctl/line_splitter.h — turns a child's output bytes into lines (split on
// '\n' or '\r', since progress meters redraw with '\r'), caps very long
// lines, and keeps the last N lines for error reports.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace pw::pgctl {

class LineSplitter {
 public:
  using LineFn = std::function<void(const std::string&)>;
  LineSplitter(size_t keep_lines, size_t max_line, LineFn on_line)
      : keep_(keep_lines), max_line_(max_line), on_line_(std::move(on_line)) {}

  /// Feeds bytes; calls on_line for each complete non-empty line.
  void feed(const char* data, size_t len);
  /// Emits a trailing partial line (at EOF).
  void flush();
  /// The last `keep_lines` lines, oldest first.
  std::vector<std::string> tail() const { return {tail_.begin(), tail_.end()}; }
  /// The tail joined with " | " — for one-line error messages.
  std::string tail_text() const;

 private:
  void emit();
  size_t keep_, max_line_;
  LineFn on_line_;
  std::string cur_;
  bool truncated_ = false;
  std::deque<std::string> tail_;
};

}  // namespace pw::pgctl
