// api/mutations.cc — the POST endpoints: authentication, the JSON
// body (strictly checked: a misspelt key is an error, not a silent
// default), then the operator request. Any node accepts them: the agent
// proposes through Raft, which forwards to the leader.
#include <algorithm>

#include "api/handlers.h"
#include "api/schedule_time.h"
#include "api/view.h"
#include "base/json_io.h"

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
  JsonOut doc;
  doc[res.http_status >= 400 ? "error" : "message"] = res.message;
  r.body = json_text(doc);
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
// Bounded like every network read (base/json_io.h): an abusive body (nested
// thousands deep within kApiMaxBody) is a 400 naming the limit.
Json parse_body(const std::string& body, const std::vector<std::string>& allowed, std::string* err) {
  if (blank(body)) return Json::object();
  std::string perr;
  JsonLimits limits;  // the default depth; the size was checked against kApiMaxBody already
  limits.max_size = kApiMaxBody;
  std::optional<Json> parsed = parse_json(body, &perr, limits);
  if (!parsed) {
    *err = "request body is not valid JSON: " + perr;
    return Json::object();
  }
  if (!parsed->is_object()) {
    *err = "request body must be a JSON object";
    return Json::object();
  }
  for (const auto& [k, val] : parsed->items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      *err = allowed.empty() ? "this endpoint takes no parameters (got '" + k + "')"
                             : "unknown key '" + k + "' (accepted: " + join(allowed) + ")";
      return Json::object();
    }
  }
  return std::move(*parsed);
}

// Member `name` unless absent or null (Patroni's clients send null for "not given").
const Json* given(const Json& v, const std::string& name) {
  const Json* m = json_member(v, name);
  return m && !m->is_null() ? m : nullptr;
}

// A string member (aliases tried in order); error when present with another type.
bool string_member(const Json& v, const std::vector<std::string>& names, std::string* out, std::string* err) {
  for (const std::string& n : names) {
    const Json* m = given(v, n);
    if (!m) continue;
    if (!m->is_string()) {
      *err = "'" + n + "' must be a string";
      return false;
    }
    const std::string& s = m->get_ref<const std::string&>();
    if (!out->empty() && *out != s) {
      *err = "'" + names[0] + "' and '" + n + "' name different members";
      return false;
    }
    *out = s;
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
  else if (path == "/failover") allowed = {"to", "candidate", "leader", "accept_data_loss", "confirm"};
  else if (path == "/reinit") allowed = {"member"};
  else if (path == "/reset-cluster") allowed = {"confirm"};
  else if (path == "/member/add") allowed = {"name", "host", "port", "learner"};
  else if (path == "/member/remove") allowed = {"name"};
  else if (path == "/raft/transfer-leadership") allowed = {"to"};
  else if (path == "/restart") allowed = {"members", "role", "pending", "scheduled_at"};
  else if (path == "/reload") allowed = {"members"};
  else if (path == "/flush") allowed = {"member", "what"};
  std::string err;
  Json body = parse_body(req.body, allowed, &err);
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
    if (const Json* p = given(body, "port")) {
      std::optional<uint64_t> n = json_as_uint(*p);
      if (!n || *n < 1 || *n > 65535)
        return reply(error_response(400, "'port' must be a whole number between 1 and 65535"));
      port = static_cast<uint16_t>(*n);
    }
    bool learner = false;
    if (const Json* l = given(body, "learner")) {
      if (!l->is_boolean()) return reply(error_response(400, "'learner' must be true or false"));
      learner = l->get<bool>();
    }
    return backend_->member_add(name, host, port, learner, done);
  }

  // The remaining endpoints name members: unknown names are a 404 here,
  // before anything is proposed.
  ClusterFacts c = backend_->cluster();
  auto known = [&c](const std::string& n) {
    return std::any_of(c.members.begin(), c.members.end(), [&n](const MemberFacts& m) { return m.name == n; });
  };
  if (path == "/raft/transfer-leadership") {
    std::string to;
    if (!string_member(body, {"to"}, &to, &err)) return reply(error_response(400, err));
    if (to.empty()) return reply(error_response(400, "raft/transfer-leadership needs {\"to\": \"<member>\"}"));
    if (!known(to)) return reply(error_response(404, "unknown member '" + to + "'"));
    return backend_->transfer_leadership(to, done);
  }
  // Day two: member lists (absent or [] = every member), a schedule.
  std::vector<std::string> members;
  if (const Json* ms = given(body, "members")) {
    if (!ms->is_array()) return reply(error_response(400, "'members' must be a list of member names"));
    for (const Json& m : *ms) {
      if (!m.is_string()) return reply(error_response(400, "'members' must be a list of member names"));
      if (!known(m.get<std::string>())) return reply(error_response(404, "unknown member '" + m.get<std::string>() + "'"));
      members.push_back(m.get<std::string>());
    }
  }
  int64_t at_ms = 0;
  if (const Json* at = given(body, "scheduled_at")) {
    if (!at->is_string()) return reply(error_response(400, "'scheduled_at' must be an ISO 8601 time string"));
    std::optional<int64_t> t = parse_schedule_time(at->get<std::string>(), &err);
    if (!t) return reply(error_response(400, "'scheduled_at': " + err));
    at_ms = *t;
  }
  if (path == "/restart") {
    std::string role;
    if (!string_member(body, {"role"}, &role, &err)) return reply(error_response(400, err));
    if (!role.empty() && role != "primary" && role != "replica" && role != "any")
      return reply(error_response(400, "'role' must be primary, replica or any"));
    const Json* pending = given(body, "pending");
    if (pending && !pending->is_boolean()) return reply(error_response(400, "'pending' must be true or false"));
    return backend_->restart(members, role, pending && pending->get<bool>(), at_ms, done);
  }
  if (path == "/reload") return backend_->reload(members, done);
  if (path == "/flush") {
    std::string member, what;
    if (!string_member(body, {"member"}, &member, &err) || !string_member(body, {"what"}, &what, &err))
      return reply(error_response(400, err));
    if (what != "restart" && what != "switchover")
      return reply(error_response(400, "flush needs {\"what\": \"restart\"} or {\"what\": \"switchover\"}"));
    if (!member.empty() && !known(member)) return reply(error_response(404, "unknown member '" + member + "'"));
    return backend_->flush(member, what, done);
  }
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
    const Json* loss = given(body, "accept_data_loss");
    if (loss && !loss->is_boolean()) return reply(error_response(400, "'accept_data_loss' must be true or false"));
    const bool accept = loss && loss->get<bool>();
    std::string confirm;
    if (!string_member(body, {"confirm"}, &confirm, &err)) return reply(error_response(400, err));
    // The override loses acknowledged writes: the cluster's name, typed by
    // the operator, says it is meant for this cluster (as reset-cluster).
    if (accept && confirm != c.cluster_name)
      return reply(error_response(400, "failover with accept_data_loss needs {\"confirm\": \"<cluster name>\"}" +
                                           std::string(confirm.empty() ? "" : " ('" + confirm + "' is not this cluster's name)")));
    if (!accept && !confirm.empty())
      return reply(error_response(400, "'confirm' goes with accept_data_loss"));
    return backend_->failover(to, accept, confirm, done);
  }
  if (path != "/switchover") {
    // A POST route in api/routes.h without a branch here: a bug, never a
    // switchover by default.
    return reply(error_response(500, "no handler for POST " + path));
  }
  const Json* force = given(body, "force");
  if (force && !force->is_boolean()) return reply(error_response(400, "'force' must be true or false"));
  if (at_ms != 0) return backend_->scheduled_switchover(to, force && force->get<bool>(), at_ms, done);
  backend_->switchover(to, force && force->get<bool>(), done);
}

}  // namespace pw::node
