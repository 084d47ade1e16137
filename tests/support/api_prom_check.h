// tests/support/api_prom_check.h — an independent checker of the
// Prometheus text exposition format (0.0.4), written from the format's
// rules rather than from pgwarden's writer, so a bug in the writer cannot
// hide itself. Every line must be a comment (HELP/TYPE or free text) or a
// sample; it is stricter than Prometheus where strictness costs nothing:
// no empty lines, a family's lines are contiguous, TYPE comes before the
// family's samples, no series twice, counters are not negative.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace pw::test {

namespace prom_detail {

inline bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
inline bool label_start(char c) { return name_start(c) && c != ':'; }
inline bool label_char(char c) { return name_char(c) && c != ':'; }

inline bool valid_metric_name(const std::string& n) {
  if (n.empty() || !name_start(n[0])) return false;
  for (char c : n)
    if (!name_char(c)) return false;
  return true;
}

inline bool parse_value(const std::string& v, double* out) {
  if (v == "NaN" || v == "+Inf" || v == "Inf" || v == "-Inf") {
    *out = v == "NaN" ? NAN : v == "-Inf" ? -INFINITY : INFINITY;
    return true;
  }
  if (v.empty()) return false;
  for (char c : v)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return false;
  char* end = nullptr;
  *out = strtod(v.c_str(), &end);
  return end == v.c_str() + v.size();
}

}  // namespace prom_detail

/// "" when `text` is valid, else "line N: what is wrong: <line>".
inline std::string check_prometheus_text(const std::string& text) {
  using namespace prom_detail;
  if (text.empty()) return "empty exposition";
  if (text.back() != '\n') return "the last line does not end with a newline";
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helps, closed, series, sampled;
  std::string current;  // family whose lines we are in
  size_t lineno = 0;
  size_t pos = 0;
  auto family_of = [&types](const std::string& name) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s(suffix);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        std::string base = name.substr(0, name.size() - s.size());
        auto it = types.find(base);
        if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
      }
    }
    return name;
  };
  auto enter = [&](const std::string& fam, std::string* err) {
    if (fam == current) return true;
    if (closed.count(fam)) {
      *err = "lines of family " + fam + " are not contiguous";
      return false;
    }
    if (!current.empty()) closed.insert(current);
    current = fam;
    return true;
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    std::string err;
    auto fail = [&](const std::string& why) { return "line " + std::to_string(lineno) + ": " + why + ": " + line; };
    if (line.empty()) return fail("empty line");
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        bool is_type = line[2] == 'T';
        std::string rest = line.substr(7);
        size_t sp = rest.find(' ');
        std::string name = rest.substr(0, sp);
        if (!valid_metric_name(name)) return fail("invalid metric name in comment");
        if (!enter(name, &err)) return fail(err);
        if (is_type) {
          if (sp == std::string::npos) return fail("TYPE without a type");
          std::string type = rest.substr(sp + 1);
          if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped")
            return fail("unknown type '" + type + "'");
          if (types.count(name)) return fail("second TYPE for " + name);
          if (sampled.count(name)) return fail("TYPE after samples of " + name);
          types[name] = type;
        } else {
          if (helps.count(name)) return fail("second HELP for " + name);
          helps.insert(name);
          std::string h = sp == std::string::npos ? "" : rest.substr(sp + 1);
          for (size_t i = 0; i < h.size(); ++i)
            if (h[i] == '\\' && (i + 1 >= h.size() || (h[i + 1] != '\\' && h[i + 1] != 'n')))
              return fail("invalid escape in HELP");
            else if (h[i] == '\\')
              ++i;
        }
      }
      continue;  // any other comment is free text
    }
    // A sample: name [ '{' labels '}' ] ' ' value [ ' ' timestamp ]
    size_t i = 0;
    while (i < line.size() && name_char(line[i])) ++i;
    std::string name = line.substr(0, i);
    if (!valid_metric_name(name)) return fail("invalid metric name");
    std::string labels_key;
    std::set<std::string> label_names;
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t s = i;
        if (i >= line.size() || !label_start(line[i])) return fail("invalid label name");
        while (i < line.size() && label_char(line[i])) ++i;
        std::string lname = line.substr(s, i - s);
        if (!label_names.insert(lname).second) return fail("label " + lname + " repeated");
        if (line.compare(i, 2, "=\"") != 0) return fail("expected =\" after label " + lname);
        i += 2;
        std::string lval;
        for (;;) {
          if (i >= line.size()) return fail("unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return fail("unterminated escape");
            char e = line[i++];
            if (e != '\\' && e != '"' && e != 'n') return fail("invalid escape in label value");
            lval.push_back(e);
          } else {
            lval.push_back(c);
          }
        }
        labels_key += lname + "=" + lval + "\x1f";
        if (i < line.size() && line[i] == ',') ++i;
        else if (i < line.size() && line[i] == '}') continue;
        else return fail("expected ',' or '}' in labels");
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail("expected a space before the value");
    std::string rest = line.substr(i + 1);
    size_t sp = rest.find(' ');
    std::string value = rest.substr(0, sp);
    double v;
    if (!parse_value(value, &v)) return fail("invalid value '" + value + "'");
    if (sp != std::string::npos) {
      std::string ts = rest.substr(sp + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) return fail("invalid timestamp");
    }
    std::string fam = family_of(name);
    if (!enter(fam, &err)) return fail(err);
    if (!series.insert(name + "\x1e" + labels_key).second) return fail("series repeated");
    sampled.insert(fam);
    auto t = types.find(fam);
    if (t != types.end() && t->second == "counter" && !(v >= 0)) return fail("negative or NaN counter");
  }
  return "";
}

/// Every sample as {name, labels "k=v,k=v" in text order, value} (for
/// assertions on specific metrics; assumes the text passed the checker).
struct PromSample {
  std::string name, labels;
  double value = 0;
};
inline std::vector<PromSample> prometheus_samples(const std::string& text) {
  std::vector<PromSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    PromSample s;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      size_t close = line.rfind('}');
      std::string raw = line.substr(brace + 1, close - brace - 1);
      for (char c : raw)
        if (c != '"') s.labels.push_back(c);
    } else {
      s.name = line.substr(0, space);
    }
    prom_detail::parse_value(line.substr(space + 1), &s.value);
    out.push_back(s);
  }
  return out;
}

}  // namespace pw::test
