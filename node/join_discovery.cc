// node/join_discovery.cc — see join_discovery.h.
#include "node/join_discovery.h"

#include <sys/stat.h>

#include "base/log.h"
#include "ctl/http_client.h"

namespace pw::node {

bool never_in_raft(const std::string& state_dir) {
  struct stat st;
  return stat((state_dir + "/hardstate").c_str(), &st) != 0;
}

std::optional<consensus::Membership> membership_from_json(const JsonValue& v, std::string* error) {
  const JsonValue* ms = v.get("members");
  if (!v.is_object() || !ms || !ms->is_array()) {
    *error = "no members array";
    return std::nullopt;
  }
  consensus::Membership m;
  m.epoch = v.uint_or("epoch");
  m.next_id = v.uint_or("next_id");
  for (const JsonValue& x : ms->items) {
    consensus::MemberInfo i;
    i.id = x.uint_or("id");
    i.name = x.str_or("name");
    i.host = x.str_or("host");
    uint64_t port = x.uint_or("port");
    i.voter = x.str_or("role") == "voter";
    i.stay_learner = x.bool_or("stays_learner");
    if (i.id == 0 || i.id >= m.next_id || i.name.empty() || i.host.empty() || port == 0 || port > 65535) {
      *error = "bad member entry";
      return std::nullopt;
    }
    i.port = static_cast<uint16_t>(port);
    m.members.push_back(i);
  }
  // Round-trip through the raft encoding: its checks (sorted ids, unique names) apply.
  return consensus::decode_membership(consensus::encode_membership(m), error);
}

std::optional<consensus::Membership> discover_membership(const conf::Config& cfg) {
  for (const auto& peer : cfg.members) {
    if (peer.name == cfg.node_name) continue;
    HttpTarget t;
    t.tls = cfg.api_tls;
    t.host = peer.host;
    t.port = cfg.api_port;
    t.ca_file = cfg.tls_ca_file;
    t.server_name = peer.name;
    HttpResult r = http_request(t, "GET", "/membership", "", "", 1000);
    if (!r.ok || r.status != 200) continue;
    std::string err;
    auto v = parse_json(r.body, &err);
    if (!v) continue;
    if (v->str_or("cluster") != cfg.cluster_name) {
      PW_WARN("node", "%s answers for cluster '%s', not '%s': ignored", t.url().c_str(),
              v->str_or("cluster").c_str(), cfg.cluster_name.c_str());
      continue;
    }
    auto m = membership_from_json(*v, &err);
    if (!m) {
      PW_WARN("node", "%s/membership: %s", t.url().c_str(), err.c_str());
      continue;
    }
    if (const consensus::MemberInfo* me = m->find_name(cfg.node_name)) {
      PW_INFO("node", "joining: %s lists this node as id %llu (membership epoch %llu: %s)", peer.name.c_str(),
              (unsigned long long)me->id, (unsigned long long)m->epoch, m->describe().c_str());
      return m;
    }
    PW_INFO("node", "%s does not list %s as a member (epoch %llu: %s): starting from [cluster] members; "
            "add this node with `pgwarden ctl member add %s=HOST`", peer.name.c_str(), cfg.node_name.c_str(),
            (unsigned long long)m->epoch, m->describe().c_str(), cfg.node_name.c_str());
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace pw::node
