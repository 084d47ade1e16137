// ctl/cmd_ctl.cc — `pgwarden ctl`: parses the command line, finds the API
// (this host's, from the config, or --api URL), sends one request and
// prints the answer. Any node's API accepts every command: changes are
// proposed through Raft, which forwards them to the leader.
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/json_io.h"
#include "conf/config.h"
#include "ctl/command_line.h"
#include "ctl/ctl.h"
#include "ctl/http_client.h"

namespace pw::node {

namespace {

const char* kUsage =
    "Usage: pgwarden ctl [-c FILE | --api URL] [options] COMMAND [arguments]\n"
    "\n"
    "Talks to a pgwarden node's HTTP API. Any node will do: changes are\n"
    "forwarded to the cluster's leader through Raft.\n"
    "\n"
    "Commands:\n"
    "  list [--watch [SECONDS]]      members, roles, lag, and the cluster's state; --watch\n"
    "                                redraws it in place every SECONDS (default 2) until\n"
    "                                interrupted, or --count N times\n"
    "  status --json                 the raw GET /cluster document\n"
    "  history                       every change of primary\n"
    "  switchover [--to N] [--force] [--scheduled TIME]\n"
    "                                planned switchover (to the best standby without --to);\n"
    "                                --scheduled: at TIME (ISO 8601 with offset, e.g.\n"
    "                                2026-12-08T04:00:00Z), kept until then in the cluster state\n"
    "  failover --to N               make N the primary (also when the primary is gone)\n"
    "  failover --to N --accept-data-loss --confirm NAME\n"
    "                                the override when no member may be promoted without\n"
    "                                losing acknowledged writes (synchronous mode: the\n"
    "                                members that hold them are gone for good); recorded\n"
    "                                in the history\n"
    "  pause                         maintenance mode: no automatic failover\n"
    "  resume                        leave maintenance mode\n"
    "  reinit MEMBER                 MEMBER moves its data directory aside and clones again\n"
    "  reset-cluster --confirm NAME  forget the bootstrap (a cluster whose data is gone)\n"
    "  restart [MEMBER...] [--role primary|replica|any] [--pending] [--scheduled TIME]\n"
    "                                restart PostgreSQL (not pgwarden) on the members (all\n"
    "                                without MEMBER): replicas first, one at a time, each back\n"
    "                                to streaming before the next; the primary last, in place\n"
    "                                (same lease and epoch, no failover, clients held);\n"
    "                                --pending: only members with a pending restart\n"
    "  reload [MEMBER...]            PostgreSQL re-reads its configuration (pg_reload_conf) on\n"
    "                                the members (all without MEMBER); pgwarden's own INI is\n"
    "                                re-read by SIGHUP / systemctl reload on its host\n"
    "  flush [MEMBER] restart|switchover\n"
    "                                cancel a scheduled restart (of MEMBER, or all) or the\n"
    "                                scheduled switchover\n"
    "  member list                   the committed membership: ids, addresses, voter/learner\n"
    "  member add NAME=HOST[:PORT] [--learner]\n"
    "                                add a member (a learner until its PostgreSQL streams;\n"
    "                                --learner: it stays one, e.g. a DR replica)\n"
    "  member remove NAME            remove a member for good (switch over first if it is\n"
    "                                the primary)\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   this host's config: the API address, token file and TLS CA\n"
    "                      (default /etc/pgwarden/pgwarden.ini)\n"
    "  --api URL           http://host:port or https://host:port instead of the config\n"
    "  --token-file FILE   bearer token for changes (default: [api] token_file)\n"
    "  --ca-file FILE      CA to verify an https API (default: [tls] ca_file)\n"
    "  --timeout SECONDS   per request (default 20)\n"
    "\n"
    "Exit status: 0 success, 1 the API was unreachable or refused, 2 bad usage.\n";

struct Options {
  std::string config, api, token_file, ca_file;
  bool token_file_set = false;
  int timeout_s = 20;
  std::string command;
  std::vector<std::string> args;  // the command's own words
};

int usage(FILE* err, const std::string& msg) {
  fprintf(err, "pgwarden ctl: %s\nTry 'pgwarden ctl --help'.\n", msg.c_str());
  return kExitUsage;
}

// Parses global options anywhere on the line; everything else belongs to
// the command (the first bare word).
bool parse(const std::vector<std::string>& in, Options* o, std::string* err, bool* help) {
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& a = in[i];
    auto value = [&](const char* name, std::string* out) {
      std::string n(name);
      if (a.rfind(n + "=", 0) == 0) {
        *out = a.substr(n.size() + 1);
        return true;
      }
      if (a != n && !(n == "--config" && a == "-c")) return false;
      if (i + 1 >= in.size()) {
        *err = "option " + a + " needs a value";
        return true;
      }
      *out = in[++i];
      return true;
    };
    std::string timeout;
    if (a == "-h" || a == "--help") {
      *help = true;
      return true;
    }
    if (value("--config", &o->config) || value("--api", &o->api) || value("--ca-file", &o->ca_file)) {
      if (!err->empty()) return false;
      continue;
    }
    if (value("--token-file", &o->token_file)) {
      if (!err->empty()) return false;
      o->token_file_set = true;
      continue;
    }
    if (value("--timeout", &timeout)) {
      if (!err->empty()) return false;
      char* end = nullptr;
      long t = strtol(timeout.c_str(), &end, 10);
      if (timeout.empty() || *end || t < 1 || t > 3600) {
        *err = "--timeout takes whole seconds between 1 and 3600, not '" + timeout + "'";
        return false;
      }
      o->timeout_s = static_cast<int>(t);
      continue;
    }
    if (o->command.empty() && !a.empty() && a[0] != '-') {
      o->command = a;
      continue;
    }
    if (o->command.empty()) {
      *err = "unknown option '" + a + "'";
      return false;
    }
    o->args.push_back(a);
  }
  return true;
}

bool read_token(const std::string& path, std::string* token, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = "cannot read token file " + path + ": " + strerror(errno);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
  *token = t;
  return true;
}

// The command's arguments: "--to N", "--force", "--confirm NAME", "--json".
struct CmdArgs {
  std::string to, confirm, member;
  std::string role, scheduled;      // restart --role, restart/switchover --scheduled
  bool pending = false;             // restart --pending
  std::vector<std::string> words;  // member: list | add NAME=HOST[:PORT] | remove NAME
  bool force = false, json = false, learner = false, accept_data_loss = false;
  double watch_s = 0;  // list --watch: redraw period (0 = once)
  long count = 0;      // list --watch --count N: stop after N redraws (0 = until interrupted)
};

bool parse_cmd_args(const Options& o, CmdArgs* c, std::string* err) {
  const auto& a = o.args;
  for (size_t i = 0; i < a.size(); ++i) {
    auto take = [&](const char* name, std::string* out) {
      std::string n(name);
      if (a[i].rfind(n + "=", 0) == 0) {
        *out = a[i].substr(n.size() + 1);
        return true;
      }
      if (a[i] != n) return false;
      if (i + 1 >= a.size()) *err = n + " needs a value";
      else *out = a[++i];
      return true;
    };
    bool takes_to = o.command == "switchover" || o.command == "failover";
    if (takes_to && (take("--to", &c->to) || take("--candidate", &c->to))) {
      if (!err->empty()) return false;
    } else if (o.command == "switchover" && a[i] == "--force") {
      c->force = true;
    } else if ((o.command == "switchover" || o.command == "restart") && take("--scheduled", &c->scheduled)) {
      if (!err->empty()) return false;
    } else if (o.command == "restart" && take("--role", &c->role)) {
      if (!err->empty()) return false;
      if (c->role != "primary" && c->role != "replica" && c->role != "any") {
        *err = "--role takes primary, replica or any, not '" + c->role + "'";
        return false;
      }
    } else if (o.command == "restart" && a[i] == "--pending") {
      c->pending = true;
    } else if ((o.command == "restart" || o.command == "reload" || o.command == "flush") && !a[i].empty() &&
               a[i][0] != '-') {
      c->words.push_back(a[i]);
    } else if ((o.command == "reset-cluster" || o.command == "failover") && take("--confirm", &c->confirm)) {
      if (!err->empty()) return false;
    } else if (o.command == "failover" && a[i] == "--accept-data-loss") {
      c->accept_data_loss = true;
    } else if (o.command == "list" && a[i] == "--watch") {
      c->watch_s = 2;
      if (i + 1 < a.size() && !a[i + 1].empty() && a[i + 1][0] != '-') {
        char* end = nullptr;
        double v = strtod(a[i + 1].c_str(), &end);
        if (!end || *end || v < 0.05 || v > 86400) {
          *err = "--watch takes a period in seconds between 0.05 and 86400, not '" + a[i + 1] + "'";
          return false;
        }
        c->watch_s = v;
        ++i;
      }
    } else if (o.command == "list" && (a[i] == "--count" || a[i].rfind("--count=", 0) == 0)) {
      std::string v;
      if (a[i] == "--count") {
        if (i + 1 >= a.size()) {
          *err = "--count needs a number";
          return false;
        }
        v = a[++i];
      } else {
        v = a[i].substr(8);
      }
      char* end = nullptr;
      c->count = strtol(v.c_str(), &end, 10);
      if (!end || *end || c->count < 1) {
        *err = "--count takes a positive number, not '" + v + "'";
        return false;
      }
    } else if (o.command == "status" && a[i] == "--json") {
      c->json = true;
    } else if (o.command == "member" && a[i] == "--learner") {
      c->learner = true;
    } else if (o.command == "member" && !a[i].empty() && a[i][0] != '-') {
      c->words.push_back(a[i]);
    } else if (o.command == "reinit" && c->member.empty() && !a[i].empty() && a[i][0] != '-') {
      c->member = a[i];
    } else {
      *err = "unexpected argument '" + a[i] + "' for " + o.command;
      return false;
    }
  }
  if (c->count > 0 && c->watch_s == 0) *err = "--count goes with --watch";
  if (o.command == "failover" && c->to.empty()) *err = "failover needs --to MEMBER";
  else if (o.command == "failover" && c->accept_data_loss && c->confirm.empty())
    *err = "failover --accept-data-loss needs --confirm <cluster name>";
  else if (o.command == "failover" && !c->accept_data_loss && !c->confirm.empty())
    *err = "--confirm goes with failover --accept-data-loss";
  if (o.command == "reinit" && c->member.empty()) *err = "reinit needs the MEMBER to re-clone";
  if (o.command == "flush") {
    const auto& w = c->words;
    if (w.empty() || w.size() > 2 || (w.back() != "restart" && w.back() != "switchover"))
      *err = "flush needs [MEMBER] restart|switchover";
    else if (w.size() == 2 && w.back() == "switchover")
      *err = "flush switchover takes no MEMBER (there is one scheduled switchover at most)";
  }
  if (o.command == "reset-cluster" && c->confirm.empty()) *err = "reset-cluster needs --confirm <cluster name>";
  if (o.command == "member") {
    const auto& w = c->words;
    std::string sub = w.empty() ? "" : w[0];
    if (sub != "list" && sub != "add" && sub != "remove")
      *err = "member needs list, add NAME=HOST[:PORT] or remove NAME";
    else if (sub == "list" && w.size() != 1)
      *err = "member list takes no arguments";
    else if (sub != "list" && w.size() != 2)
      *err = "member " + sub + " needs exactly one " + (sub == "add" ? "NAME=HOST[:PORT]" : "NAME");
    else if (c->learner && sub != "add")
      *err = "--learner goes with member add";
  }
  return err->empty();
}

// Where the API is, from --api or the config.
bool resolve_target(Options& o, HttpTarget* t, FILE* err) {
  conf::Config cfg;
  bool have_cfg = false;
  if (o.api.empty() || !o.config.empty()) {
    std::string path = o.config.empty() ? kDefaultConfigPath : o.config;
    if (!load_config_or_report("ctl", path, &cfg)) return false;
    have_cfg = true;
  }
  if (!o.api.empty()) {
    std::string e;
    auto parsed = parse_api_url(o.api, &e);
    if (!parsed) {
      usage(err, e);
      return false;
    }
    *t = *parsed;
  } else {
    t->tls = cfg.api_tls;
    t->host = cfg.api_listen_address;
    // A wildcard listen address is not somewhere to connect to: use the member's own address.
    if (t->host.empty() || t->host == "*" || t->host == "0.0.0.0" || t->host == "::") t->host = cfg.self().host;
    t->port = cfg.api_port;
    t->server_name = cfg.node_name;  // the node certificate names its member
  }
  if (have_cfg) {
    if (t->ca_file.empty()) t->ca_file = cfg.tls_ca_file;
    if (!o.token_file_set) o.token_file = cfg.api_token_file;
  }
  if (!o.ca_file.empty()) t->ca_file = o.ca_file;
  return true;
}

std::string error_text(const HttpResult& r) {
  std::string e;
  auto v = parse_json(r.body, &e);
  if (v && json_member(*v, "error")) return json_str(*v, "error");
  std::string body = r.body.size() > 200 ? r.body.substr(0, 200) + "..." : r.body;
  return body.empty() ? "no details" : body;
}

}  // namespace

int run_ctl(const std::vector<std::string>& argv, FILE* out, FILE* err) {
  Options o;
  std::string perr;
  bool help = false;
  if (!parse(argv, &o, &perr, &help)) return usage(err, perr);
  if (help) {
    fputs(kUsage, out);
    return kExitOk;
  }
  if (o.command.empty()) return usage(err, "no command given");
  static const char* kCommands[] = {"list", "status", "history", "switchover", "failover",
                                    "pause", "resume", "reinit", "reset-cluster", "member",
                                    "restart", "reload", "flush"};
  if (std::find(std::begin(kCommands), std::end(kCommands), o.command) == std::end(kCommands))
    return usage(err, "unknown command '" + o.command + "'");
  CmdArgs c;
  if (!parse_cmd_args(o, &c, &perr)) return usage(err, perr);

  HttpTarget target;
  if (!resolve_target(o, &target, err)) return kExitUsage;
  const int timeout_ms = o.timeout_s * 1000;

  if (o.command == "list" && c.watch_s > 0) {
    // Like watch(1): clear, a header line, the table (or the error), wait.
    for (long n = 0; c.count == 0 || n < c.count; ++n) {
      if (n > 0) usleep(static_cast<useconds_t>(c.watch_s * 1e6));
      HttpResult r = http_request(target, "GET", "/cluster", "", "", timeout_ms);
      std::string body, e;
      if (!r.ok) body = "pgwarden ctl list: " + r.error + "\n";
      else if (r.status != 200) body = "pgwarden ctl list: " + target.url() + "/cluster answered " + std::to_string(r.status) + ": " + error_text(r) + "\n";
      else if (auto v = parse_json(r.body, &e)) body = render_list(*v);
      else body = "pgwarden ctl list: invalid JSON: " + e + "\n";
      time_t now = time(nullptr);
      char stamp[64];
      strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime(&now));
      fprintf(out, "\033[H\033[2JEvery %gs: pgwarden ctl list (%s)    %s\n\n%s", c.watch_s, target.url().c_str(),
              stamp, body.c_str());
      fflush(out);
    }
    return kExitOk;
  }
  if (o.command == "member" && c.words[0] == "list") {
    HttpResult r = http_request(target, "GET", "/membership", "", "", timeout_ms);
    if (!r.ok) {
      fprintf(err, "pgwarden ctl member list: %s\n", r.error.c_str());
      return kExitFailure;
    }
    std::string e;
    auto v = r.status == 200 ? parse_json(r.body, &e) : std::nullopt;
    if (!v) {
      fprintf(err, "pgwarden ctl member list: %s/membership answered %d: %s\n", target.url().c_str(), r.status,
              r.status == 200 ? e.c_str() : error_text(r).c_str());
      return kExitFailure;
    }
    fputs(render_members(*v).c_str(), out);
    return kExitOk;
  }
  bool read = o.command == "list" || o.command == "status" || o.command == "history";
  if (read) {
    std::string path = o.command == "history" ? "/history" : "/cluster";
    HttpResult r = http_request(target, "GET", path, "", "", timeout_ms);
    if (!r.ok) {
      fprintf(err, "pgwarden ctl %s: %s\n", o.command.c_str(), r.error.c_str());
      return kExitFailure;
    }
    if (r.status != 200) {
      fprintf(err, "pgwarden ctl %s: %s answered %d: %s\n", o.command.c_str(), (target.url() + path).c_str(), r.status,
              error_text(r).c_str());
      return kExitFailure;
    }
    if (o.command == "status") {
      fprintf(out, "%s\n", r.body.c_str());
      return kExitOk;
    }
    std::string e;
    auto v = parse_json(r.body, &e);
    if (!v) {
      fprintf(err, "pgwarden ctl %s: %s answered invalid JSON: %s\n", o.command.c_str(), (target.url() + path).c_str(),
              e.c_str());
      return kExitFailure;
    }
    fputs((o.command == "list" ? render_list(*v) : render_history(*v)).c_str(), out);
    return kExitOk;
  }

  std::string token;
  if (!o.token_file.empty() && !read_token(o.token_file, &token, &perr)) {
    fprintf(err, "pgwarden ctl %s: %s\n", o.command.c_str(), perr.c_str());
    return kExitFailure;
  }
  JsonOut body = JsonOut::object();
  if (o.command == "switchover") {
    if (!c.to.empty()) body["to"] = c.to;
    if (c.force) body["force"] = true;
    if (!c.scheduled.empty()) body["scheduled_at"] = c.scheduled;
  } else if (o.command == "restart" || o.command == "reload") {
    if (!c.words.empty()) body["members"] = c.words;
    if (!c.role.empty()) body["role"] = c.role;
    if (c.pending) body["pending"] = true;
    if (!c.scheduled.empty()) body["scheduled_at"] = c.scheduled;
  } else if (o.command == "flush") {
    body["what"] = c.words.back();
    if (c.words.size() == 2) body["member"] = c.words[0];
  } else if (o.command == "failover") {
    body["to"] = c.to;
    if (c.accept_data_loss) {
      body["accept_data_loss"] = true;
      body["confirm"] = c.confirm;
    }
  } else if (o.command == "reinit") {
    body["member"] = c.member;
  } else if (o.command == "reset-cluster") {
    body["confirm"] = c.confirm;
  } else if (o.command == "member" && c.words[0] == "remove") {
    body["name"] = c.words[1];
  } else if (o.command == "member") {  // add NAME=HOST[:PORT]
    const std::string& spec = c.words[1];
    size_t eq = spec.find('=');
    std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
    std::string addr = eq == std::string::npos ? "" : spec.substr(eq + 1);
    std::string host = addr;
    long port = 0;
    size_t colon = addr.rfind(':');
    if (colon != std::string::npos && addr.find(':') == colon) {  // host:port (IPv6 needs [..])
      host = addr.substr(0, colon);
      char* end = nullptr;
      port = strtol(addr.c_str() + colon + 1, &end, 10);
      if (!end || *end || port < 1 || port > 65535) return usage(err, "bad port in '" + spec + "'");
    } else if (!addr.empty() && addr.front() == '[') {
      size_t close = addr.find(']');
      if (close == std::string::npos) return usage(err, "bad address in '" + spec + "'");
      host = addr.substr(1, close - 1);
      if (close + 1 < addr.size()) {
        if (addr[close + 1] != ':') return usage(err, "bad address in '" + spec + "'");
        char* end = nullptr;
        port = strtol(addr.c_str() + close + 2, &end, 10);
        if (!end || *end || port < 1 || port > 65535) return usage(err, "bad port in '" + spec + "'");
      }
    }
    if (name.empty() || host.empty()) return usage(err, "member add needs NAME=HOST[:PORT], not '" + spec + "'");
    body["name"] = name;
    body["host"] = host;
    if (port) body["port"] = port;
    if (c.learner) body["learner"] = true;
  }
  std::string path = o.command == "member" ? "/member/" + c.words[0] : "/" + o.command;
  HttpResult r = http_request(target, "POST", path, json_text(body), token, timeout_ms);
  if (!r.ok) {
    fprintf(err, "pgwarden ctl %s: %s\n", o.command.c_str(), r.error.c_str());
    return kExitFailure;
  }
  if (r.status < 200 || r.status >= 300) {
    fprintf(err, "pgwarden ctl %s: refused (HTTP %d from %s): %s\n", o.command.c_str(), r.status,
            (target.url() + path).c_str(), error_text(r).c_str());
    if (r.status == 401 && token.empty())
      fprintf(err, "hint: give the API token with --token-file FILE or [api] token_file in the config\n");
    return kExitFailure;
  }
  std::string e;
  auto v = parse_json(r.body, &e);
  fprintf(out, "%s\n", v && json_member(*v, "message") ? json_str(*v, "message").c_str() : r.body.c_str());
  return kExitOk;
}

int cmd_ctl(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);  // argv[0] is "ctl"
  return run_ctl(args, stdout, stderr);
}

}  // namespace pw::node
