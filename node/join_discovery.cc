// node/join_discovery.cc — see join_discovery.h.
#include "node/join_discovery.h"

#include <sys/stat.h>

#include "base/json_io.h"
#include "base/log.h"
#include "ctl/http_client.h"

namespace pw::node {

bool never_in_raft(const std::string& state_dir) {
  struct stat st;
  return stat((state_dir + "/hardstate").c_str(), &st) != 0;
}

std::optional<consensus::Membership> membership_from_json(const Json& v, std::string* error) {
  const Json* ms = json_member(v, "members");
  if (!ms || !ms->is_array()) {
    *error = "no members array";
    return std::nullopt;
  }
  consensus::Membership m;
  m.epoch = json_uint(v, "epoch");
  m.next_id = json_uint(v, "next_id");
  for (const Json& x : *ms) {
    consensus::MemberInfo i;
    i.id = json_uint(x, "id");
    i.name = json_str(x, "name");
    i.host = json_str(x, "host");
    uint64_t port = json_uint(x, "port");
    i.voter = json_str(x, "role") == "voter";
    i.stay_learner = json_bool(x, "stays_learner");
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
    if (json_str(*v, "cluster") != cfg.cluster_name) {
      PW_WARN("node", "%s answers for cluster '%s', not '%s': ignored", t.url().c_str(),
              json_str(*v, "cluster").c_str(), cfg.cluster_name.c_str());
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
