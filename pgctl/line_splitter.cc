// pgctl/line_splitter.cc — see line_splitter.h.
#include "pgctl/line_splitter.h"

namespace pw::pgctl {

void LineSplitter::feed(const char* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    char c = data[i];
    if (c == '\n' || c == '\r') {
      emit();
    } else if (cur_.size() < max_line_) {
      cur_.push_back(c);
    } else {
      truncated_ = true;
    }
  }
}

void LineSplitter::flush() {
  emit();
}

void LineSplitter::emit() {
  if (cur_.empty()) {
    truncated_ = false;
    return;
  }
  std::string line;
  line.swap(cur_);
  if (truncated_) line += "...";
  truncated_ = false;
  if (keep_ > 0) {
    tail_.push_back(line);
    while (tail_.size() > keep_) tail_.pop_front();
  }
  if (on_line_) on_line_(line);
}

std::string LineSplitter::tail_text() const {
  std::string out;
  for (const auto& l : tail_) {
    if (!out.empty()) out += " | ";
    out += l;
  }
  return out;
}

}  // namespace pw::pgctl
