// api/prometheus.cc — see prometheus.h.
#include "api/prometheus.h"

#include <charconv>
#include <cmath>

namespace pw::node {

std::string prom_escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

namespace {
// HELP text escapes backslash and newline only.
std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}
}  // namespace

void PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_.append(name);
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_.append(name);
  out_ += ' ';
  out_.append(type);
  out_ += '\n';
}

void PromWriter::labels(const PromLabels& l) {
  if (l.empty()) return;
  out_ += '{';
  for (size_t i = 0; i < l.size(); ++i) {
    if (i) out_ += ',';
    out_ += l[i].first;
    out_ += "=\"";
    out_ += prom_escape_label(l[i].second);
    out_ += '"';
  }
  out_ += '}';
}

void PromWriter::sample(std::string_view name, double value, const PromLabels& l) {
  out_.append(name);
  labels(l);
  out_ += ' ';
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest text that reads back as the same double ("0.1", not 0.10000000000000001).
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
  }
  out_ += '\n';
}

void PromWriter::sample(std::string_view name, uint64_t value, const PromLabels& l) {
  out_.append(name);
  labels(l);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void PromWriter::sample(std::string_view name, int64_t value, const PromLabels& l) {
  out_.append(name);
  labels(l);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace pw::node
