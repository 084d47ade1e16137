// base/pg_syntax.cc — see pg_syntax.h. The rules follow PostgreSQL's
// guc-file.l (postgresql.conf) and hba.c (pg_hba.conf) closely enough that
// what passes here is what the server accepts at start.
#include "base/pg_syntax.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace pw::pgsyntax {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The value without a trailing "# comment" (a '#' at the start or after
// whitespace, as postgresql.conf users write it after a bare value).
std::string_view strip_bare_comment(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '#' && (i == 0 || is_space(s[i - 1]))) return trim(s.substr(0, i));
  return s;
}

struct Field {
  std::string text;
  bool quoted = false;  // some of it was inside "..."
};

// pg_hba fields: separated by blanks, "..." groups (a "" inside is a quote),
// '#' outside quotes ends the line. Sets *unclosed on a missing '"'.
std::vector<Field> hba_fields(std::string_view line, bool* unclosed) {
  std::vector<Field> out;
  *unclosed = false;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size() || line[i] == '#') break;
    Field f;
    bool in_quotes = false;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (in_quotes) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          f.text += '"';
          ++i;
        } else if (c == '"') {
          in_quotes = false;
        } else {
          f.text += c;
        }
        continue;
      }
      if (is_space(c) || c == '#') break;
      if (c == '"') {
        in_quotes = f.quoted = true;
        continue;
      }
      f.text += c;
    }
    if (in_quotes) *unclosed = true;
    out.push_back(std::move(f));
  }
  return out;
}

int ip_family(const std::string& s) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return AF_INET;
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return AF_INET6;
  return 0;
}

bool valid_hostname(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

// "" or what is wrong with a CIDR address "ip/len".
std::string cidr_problem(const std::string& a) {
  size_t slash = a.find('/');
  std::string ip = a.substr(0, slash), len = a.substr(slash + 1);
  int fam = ip_family(ip);
  if (!fam) return "'" + a + "' is not an address: '" + ip + "' is not an IPv4 or IPv6 address";
  int max = fam == AF_INET ? 32 : 128;
  bool digits = !len.empty() && len.size() <= 3 && std::all_of(len.begin(), len.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (!digits || std::stoi(len) > max)
    return "'" + a + "': the prefix length must be 0.." + std::to_string(max);
  return "";
}

const char* const kTypes[] = {"local",     "host",       "hostssl",
                              "hostnossl", "hostgssenc", "hostnogssenc"};
const char* const kMethods[] = {"trust", "reject", "scram-sha-256", "md5",    "password", "gss",
                                "ident", "peer",   "ldap",          "radius", "cert",     "pam"};

}  // namespace

std::string quote_conf_value(std::string_view v) {
  std::string out = "'";
  for (char ch : v) {
    if (ch == '\'')
      out += "''";
    else if (ch == '\\')
      out += "\\\\";
    else if (ch == '\n' || ch == '\r')
      out += ' ';  // a value never spans lines
    else
      out += ch;
  }
  return out + "'";
}

ConfValue conf_value(std::string_view raw) {
  std::string_view v = trim(raw);
  if (v.empty() || v[0] != '\'') return {quote_conf_value(strip_bare_comment(v)), ""};
  // PostgreSQL's quoted string: '([^'\\\n]|\\.|'')*'
  size_t i = 1;
  bool closed = false;
  for (; i < v.size(); ++i) {
    if (v[i] == '\n' || v[i] == '\r') break;
    if (v[i] == '\\') {
      if (++i >= v.size()) break;  // a backslash escapes the next character
      continue;
    }
    if (v[i] == '\'') {
      if (i + 1 < v.size() && v[i + 1] == '\'') {
        ++i;
        continue;
      }
      closed = true;
      break;
    }
  }
  if (!closed)
    return {"", "the quoted value " + std::string(v) +
                    " has no closing quote; inside quotes write a quote as '' and a backslash as "
                    "\\\\"};
  std::string_view rest = trim(v.substr(i + 1));
  if (!rest.empty() && rest[0] != '#')
    return {"", "unexpected text after the closing quote: '" + std::string(rest) +
                    "'; quote the whole value, e.g. '\"$user\", public'"};
  return {std::string(v.substr(0, i + 1)), ""};
}

std::string hba_line_problem(std::string_view line) {
  bool unclosed = false;
  std::vector<Field> f = hba_fields(line, &unclosed);
  if (unclosed) return "a double quote is not closed";
  if (f.empty()) return "empty rule";
  const std::string& type = f[0].text;
  if (f[0].quoted || std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) {
    if (type == "include" || type == "include_if_exists" || type == "include_dir")
      return "'" + type + "' is not supported here: list the rules themselves";
    return "'" + type +
           "' is not a connection type; expected local, host, hostssl, hostnossl, hostgssenc or "
           "hostnogssenc";
  }
  bool local = type == "local";
  size_t need = local ? 4 : 5;
  if (f.size() < need)
    return local ? "expected 'local DATABASE USER METHOD [OPTIONS]'"
                 : "expected '" + type + " DATABASE USER ADDRESS METHOD [OPTIONS]'";
  if (f[1].text.empty()) return "empty database field";
  if (f[2].text.empty()) return "empty user field";
  size_t m = 3;
  if (!local) {
    const std::string& addr = f[3].text;
    m = 4;
    if (addr.find('/') != std::string::npos) {
      std::string p = cidr_problem(addr);
      if (!p.empty()) return p;
    } else if (int fam = ip_family(addr)) {
      // An address without a prefix length takes a netmask as the next field.
      if (f.size() < 6)
        return "'" + addr + "' needs a prefix length (" + addr + (fam == AF_INET ? "/32" : "/128") +
               ") or a netmask field after it";
      if (ip_family(f[4].text) != fam)
        return "'" + f[4].text + "' is not a netmask for " + addr +
               "; write the address as CIDR, e.g. " + addr + (fam == AF_INET ? "/32" : "/128");
      m = 5;
    } else if (addr != "all" && addr != "samehost" && addr != "samenet" &&
               !valid_hostname(addr[0] == '.' ? addr.substr(1) : addr)) {
      return "'" + addr +
             "' is not an address (CIDR like 10.0.0.0/16, a host name, all, samehost "
             "or samenet)";
    }
  }
  const std::string& method = f[m].text;
  if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods))
    return "'" + method +
           "' is not an authentication method; expected one of trust, reject, scram-sha-256, md5, "
           "password, gss, ident, peer, ldap, radius, cert, pam";
  if (method == "peer" && !local) return "peer authentication works only on 'local' lines";
  if (method == "gss" && local) return "gss authentication does not work on 'local' lines";
  if (method == "cert" && type != "hostssl") return "cert authentication needs a 'hostssl' line";
  for (size_t i = m + 1; i < f.size(); ++i) {
    size_t eq = f[i].text.find('=');
    if (eq == std::string::npos || eq == 0)
      return "'" + f[i].text + "' after the method is not an option of the form name=value";
  }
  return "";
}

}  // namespace pw::pgsyntax
