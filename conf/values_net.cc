// conf/values_net.cc — see values.h: host names, host:port and the member
// list "name=host[:raft_port], ...".
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "conf/values.h"

namespace pw::conf {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_ipv4(std::string_view s) {
  in_addr a;
  return inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}
bool valid_ipv6(std::string_view s) {
  in6_addr a;
  return inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

// RFC 1123 host name (underscores tolerated: they occur in internal names).
bool valid_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return s.back() != '-';
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.find(':') != std::string_view::npos) return valid_ipv6(host);
  // All digits and dots: must be a real IPv4 address, not a name like 10.0.0.300.
  if (std::all_of(host.begin(), host.end(),
                  [](char c) { return (c >= '0' && c <= '9') || c == '.'; }))
    return valid_ipv4(host);
  return valid_dns_name(host);
}

Parsed<HostPort> parse_host_port(std::string_view text, bool port_optional) {
  const std::string forms = port_optional ? "expected host, host:port or [ipv6]:port"
                                          : "expected host:port or [ipv6]:port";
  std::string_view host, port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos)
      return Parsed<HostPort>::fail(quoted(text) + " lacks ']'; " + forms);
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return Parsed<HostPort>::fail(quoted(text) + " has junk after ']'; " + forms);
      port = rest.substr(1);
      has_port = true;
    }
    if (!valid_ipv6(host))
      return Parsed<HostPort>::fail(quoted(host) + " is not an IPv6 address; " + forms);
  } else {
    size_t colons = std::count(text.begin(), text.end(), ':');
    if (colons > 1) {
      if (port_optional && valid_ipv6(text))
        return Parsed<HostPort>::ok(HostPort{std::string(text), 0});
      return Parsed<HostPort>::fail(quoted(text) + ": write IPv6 addresses in brackets; " + forms);
    }
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
    if (!valid_host(host))
      return Parsed<HostPort>::fail(quoted(host) + " is not a valid host name or address; " +
                                    forms);
  }
  HostPort hp{std::string(host), 0};
  if (has_port) {
    auto p = parse_port(port);
    if (!p.value) return Parsed<HostPort>::fail(p.error);
    hp.port = *p.value;
  } else if (!port_optional) {
    return Parsed<HostPort>::fail(quoted(text) + " has no port; " + forms);
  }
  return Parsed<HostPort>::ok(hp);
}

bool valid_member_name(std::string_view name) {
  return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Parsed<std::vector<Member>> parse_members(std::string_view text) {
  const std::string forms = "expected name=host[:raft_port], name=host[:raft_port], ...";
  std::vector<Member> out;
  std::vector<std::string> problems;
  if (trim(text).empty()) return Parsed<std::vector<Member>>::fail("empty member list; " + forms);
  size_t pos = 0;
  int index = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    ++index;
    if (item.empty()) {
      problems.push_back("entry " + std::to_string(index) + " is empty");
      continue;
    }
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      problems.push_back(quoted(item) + " lacks '=' (name=host)");
      continue;
    }
    std::string_view name = trim(item.substr(0, eq));
    std::string_view addr = trim(item.substr(eq + 1));
    if (!valid_member_name(name)) {
      problems.push_back(quoted(name) +
                         " is not a valid member name (letters, digits, '.', '_', '-')");
      continue;
    }
    auto hp = parse_host_port(addr, /*port_optional=*/true);
    if (!hp.value) {
      problems.push_back("member " + std::string(name) + ": " + hp.error);
      continue;
    }
    out.push_back(Member{std::string(name), hp.value->host, hp.value->port});
  }
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) msg += (msg.empty() ? "" : "; ") + p;
    return Parsed<std::vector<Member>>::fail(msg + "; " + forms);
  }
  return Parsed<std::vector<Member>>::ok(std::move(out));
}

std::string format_host_port(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  return port ? h + ":" + std::to_string(port) : h;
}

std::string format_members(const std::vector<Member>& members) {
  std::string out;
  for (const Member& m : members) {
    if (!out.empty()) out += ", ";
    out += m.name + "=" + format_host_port(m.host, m.raft_port);
  }
  return out;
}

}  // namespace pw::conf
