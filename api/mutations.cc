// api/mutations.cc — the POST endpoints: authentication, the JSON
// body (strictly checked: a misspelt key is an error, not a silent
// default), then the operator request. Any node accepts them: the agent
// proposes through Raft, which forwards to the leader.
#include <algorithm>

#include "api/handlers.h"
#include "api/view.h"
#include "base/json.h"

namespace pw::node {

namespace {

ApiResponse error_response(int status, const std::string& message) {
  ApiResponse r;
  r.status = status;
  r.body = error_json(message);
  return r;
}

ApiResponse op_response(const OpResult& res) {
  ApiResponse r;
  r.status = res.http_status;
  JsonWriter w;
  if (res.http_status >= 400) w.begin_object().field("error", res.message).end_object();
  else w.begin_object().field("message", res.message).end_object();
  r.body = w.take();
  return r;
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The body as an object whose keys are all in `allowed`; "" in *err when ok.
JsonValue parse_body(const std::string& body, const std::vector<std::string>& allowed, std::string* err) {
  JsonValue v;
  v.type = JsonValue::Type::object;
  if (blank(body)) return v;
  std::string perr;
  std::optional<JsonValue> parsed = parse_json(body, &perr);
  if (!parsed) {
    *err = "request body is not valid JSON: " + perr;
    return v;
  }
  if (!parsed->is_object()) {
    *err = "request body must be a JSON object";
    return v;
  }
  for (const auto& [k, val] : parsed->members) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      *err = allowed.empty() ? "this endpoint takes no parameters (got '" + k + "')"
                             : "unknown key '" + k + "' (accepted: " + join(allowed) + ")";
      return v;
    }
  }
  return std::move(*parsed);
}

// A string member (aliases tried in order); error when present with another type.
bool string_member(const JsonValue& v, const std::vector<std::string>& names, std::string* out, std::string* err) {
  for (const std::string& n : names) {
    const JsonValue* m = v.get(n);
    if (!m || m->is_null()) continue;
    if (!m->is_string()) {
      *err = "'" + n + "' must be a string";
      return false;
    }
    if (!out->empty() && *out != m->s) {
      *err = "'" + names[0] + "' and '" + n + "' name different members";
      return false;
    }
    *out = m->s;
  }
  return true;
}

}  // namespace

void ApiHandlers::mutation(const std::string& path, const ApiRequest& req, ApiReply reply) {
  if (auto denied = check_auth(req)) return reply(std::move(*denied));
  if (req.body.size() > kApiMaxBody)
    return reply(error_response(413, "request body larger than " + std::to_string(kApiMaxBody) + " bytes"));

  std::vector<std::string> allowed;
  if (path == "/switchover") allowed = {"to", "candidate", "leader", "force", "scheduled_at"};
  else if (path == "/failover") allowed = {"to", "candidate", "leader"};
  else if (path == "/reinit") allowed = {"member"};
  else if (path == "/reset-cluster") allowed = {"confirm"};
  else if (path == "/member/add") allowed = {"name", "host", "port", "learner"};
  else if (path == "/member/remove") allowed = {"name"};
  std::string err;
  JsonValue body = parse_body(req.body, allowed, &err);
  if (!err.empty()) return reply(error_response(400, err));

  auto done = [reply](const OpResult& r) { reply(op_response(r)); };
  if (path == "/pause") return backend_->set_paused(true, done);
  if (path == "/resume") return backend_->set_paused(false, done);
  if (path == "/reset-cluster") {
    std::string confirm;
    if (!string_member(body, {"confirm"}, &confirm, &err)) return reply(error_response(400, err));
    if (confirm.empty())
      return reply(error_response(400, "reset-cluster needs {\"confirm\": \"<cluster name>\"}"));
    return backend_->reset_cluster(confirm, done);
  }

  if (path == "/member/add" || path == "/member/remove") {
    std::string name, host;
    if (!string_member(body, {"name"}, &name, &err)) return reply(error_response(400, err));
    if (name.empty()) return reply(error_response(400, path.substr(1) + " needs {\"name\": \"<member>\"}"));
    if (path == "/member/remove") return backend_->member_remove(name, done);
    if (!string_member(body, {"host"}, &host, &err)) return reply(error_response(400, err));
    if (host.empty()) return reply(error_response(400, "member/add needs {\"host\": \"<address>\"}"));
    uint16_t port = 0;
    if (const JsonValue* p = body.get("port"); p && !p->is_null()) {
      if (!p->is_number() || !p->integer || *p->integer < 1 || *p->integer > 65535)
        return reply(error_response(400, "'port' must be a whole number between 1 and 65535"));
      port = static_cast<uint16_t>(*p->integer);
    }
    bool learner = false;
    if (const JsonValue* l = body.get("learner"); l && !l->is_null()) {
      if (!l->is_bool()) return reply(error_response(400, "'learner' must be true or false"));
      learner = l->b;
    }
    return backend_->member_add(name, host, port, learner, done);
  }

  // The remaining endpoints name members: unknown names are a 404 here,
  // before anything is proposed.
  ClusterFacts c = backend_->cluster();
  auto known = [&c](const std::string& n) {
    return std::any_of(c.members.begin(), c.members.end(), [&n](const MemberFacts& m) { return m.name == n; });
  };
  if (path == "/reinit") {
    std::string member;
    if (!string_member(body, {"member"}, &member, &err)) return reply(error_response(400, err));
    if (member.empty()) return reply(error_response(400, "reinit needs {\"member\": \"<name>\"}"));
    if (!known(member)) return reply(error_response(404, "unknown member '" + member + "'"));
    return backend_->reinit(member, done);
  }

  std::string to, leader;
  if (!string_member(body, {"to", "candidate"}, &to, &err) || !string_member(body, {"leader"}, &leader, &err))
    return reply(error_response(400, err));
  if (!to.empty() && !known(to)) return reply(error_response(404, "unknown member '" + to + "'"));
  // Patroni's clients send the primary they believe in; a mismatch means
  // the cluster changed since they looked.
  if (!leader.empty() && leader != c.state.primary)
    return reply(error_response(412, "'leader' is " + leader + " but the primary is " +
                                         (c.state.primary.empty() ? "nobody" : c.state.primary)));
  if (path == "/failover") {
    if (to.empty()) return reply(error_response(400, "failover needs {\"to\": \"<member>\"}"));
    return backend_->failover(to, done);
  }
  // /switchover
  const JsonValue* sched = body.get("scheduled_at");
  if (sched && !sched->is_null()) return reply(error_response(400, "scheduled switchovers are not supported"));
  const JsonValue* force = body.get("force");
  if (force && !force->is_null() && !force->is_bool()) return reply(error_response(400, "'force' must be true or false"));
  backend_->switchover(to, force && force->is_bool() && force->b, done);
}

}  // namespace pw::node
