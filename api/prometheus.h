// api/prometheus.h — writes the Prometheus text exposition format
// (version 0.0.4) for GET /metrics: one HELP and TYPE line per family, then
// its samples. Metric and label names are fixed by the code; label values
// come from member names and diagnostic codes and are escaped here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pw::node {

using PromLabels = std::vector<std::pair<std::string, std::string>>;

class PromWriter {
 public:
  /// Starts a family: `type` is "gauge" or "counter" (counter names end in
  /// _total by convention; the caller names them).
  void family(std::string_view name, std::string_view type, std::string_view help);
  /// One sample of the current family (or of `name` with a suffix such as
  /// _sum); non-finite values are written as NaN/+Inf/-Inf as the format allows.
  void sample(std::string_view name, double value, const PromLabels& labels = {});
  void sample(std::string_view name, uint64_t value, const PromLabels& labels = {});
  void sample(std::string_view name, int64_t value, const PromLabels& labels = {});
  void sample(std::string_view name, bool value, const PromLabels& labels = {}) {
    sample(name, static_cast<uint64_t>(value ? 1 : 0), labels);
  }
  /// A family with a single unlabelled sample.
  template <typename T>
  void gauge(std::string_view name, std::string_view help, T value) {
    family(name, "gauge", help);
    sample(name, value);
  }
  template <typename T>
  void counter(std::string_view name, std::string_view help, T value) {
    family(name, "counter", help);
    sample(name, value);
  }
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void labels(const PromLabels& l);
  std::string out_;
};

/// Escapes a label value (backslash, double quote, newline).
std::string prom_escape_label(std::string_view v);

}  // namespace pw::node
