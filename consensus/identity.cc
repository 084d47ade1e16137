// consensus/identity.cc — see identity.h.
#include "consensus/identity.h"

#include <dirent.h>

#include <cstring>
#include <stdexcept>

#include "base/log.h"
#include "consensus/codec.h"
#include "consensus/crc32c.h"
#include "consensus/durable_file.h"

namespace pw::consensus {
namespace {

constexpr char kFile[] = "identity";
constexpr uint8_t kVersion = 2;  // 1: without cluster_id

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
  return s;
}

// True if the directory holds any Raft state file (log, hard state, snapshot).
bool has_raft_state(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "hardstate" || n == "snapshot" ||
        (n.rfind("log-", 0) == 0 && n.size() > 8 && n.compare(n.size() - 4, 4, ".seg") == 0)) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace

std::optional<ClusterIdentity> read_identity(const std::string& dir) {
  std::string path = dir + "/" + kFile, raw;
  if (!read_file(path, &raw)) return std::nullopt;
  auto corrupt = [&](const std::string& why) {
    return std::runtime_error(
        "cluster identity file " + path + " is corrupt (" + why +
        "). If this directory really belongs to this node, restore the file from a "
        "backup; otherwise move the state directory aside and restart so the node "
        "resyncs from its peers.");
  };
  if (raw.size() < 9 || raw.compare(0, 4, "PWID") != 0) throw corrupt("bad magic or too short");
  uint32_t stored_crc = 0;
  for (size_t i = raw.size() - 4; i < raw.size(); ++i)
    stored_crc = (stored_crc << 8) | static_cast<uint8_t>(raw[i]);
  if (crc32c(raw.data(), raw.size() - 4) != stored_crc) throw corrupt("checksum mismatch");
  Reader r(std::string_view(raw).substr(4, raw.size() - 8));
  uint8_t version = r.u8("version");
  if (r.ok() && version != kVersion && version != 1)
    throw corrupt("unknown version " + std::to_string(version));
  ClusterIdentity id;
  id.cluster_name = r.bytes("cluster name");
  uint32_t n = r.u32("member count");
  if (r.ok() && n > r.remaining() / 4) r.fail("member count too large");
  for (uint32_t i = 0; i < n && r.ok(); ++i) id.members.push_back(r.bytes("member"));
  if (r.ok() && version >= 2) id.cluster_id = r.u64("cluster id");
  if (r.ok() && !r.at_end()) r.fail("trailing bytes");
  if (!r.ok()) throw corrupt(r.error());
  return id;
}

void write_identity(const std::string& dir, const ClusterIdentity& id) {
  Writer w;
  w.str() = "PWID";
  w.u8(kVersion);
  w.bytes(id.cluster_name);
  w.u32(static_cast<uint32_t>(id.members.size()));
  for (const auto& m : id.members) w.bytes(m);
  w.u64(id.cluster_id);
  w.u32(crc32c(w.str()));
  write_file_atomic(dir, kFile, w.str());
}

std::string identity_diff(const ClusterIdentity& stored, const ClusterIdentity& config) {
  if (stored.cluster_name != config.cluster_name)
    return "cluster name differs: state dir has '" + stored.cluster_name + "', config has '" +
           config.cluster_name + "'";
  if (stored.members.size() != config.members.size())
    return "member count differs: state dir has " + std::to_string(stored.members.size()) + " [" +
           join(stored.members) + "], config has " + std::to_string(config.members.size()) + " [" +
           join(config.members) + "]";
  for (size_t i = 0; i < stored.members.size(); ++i)
    if (stored.members[i] != config.members[i])
      return "member " + std::to_string(i + 1) + " differs: state dir has '" + stored.members[i] +
             "', config has '" + config.members[i] + "' (state dir members [" +
             join(stored.members) + "], config members [" + join(config.members) + "])";
  return "";
}

void check_identity(const std::string& dir, const ClusterIdentity& want, bool compare_members) {
  auto stored = read_identity(dir);
  if (stored) {
    ClusterIdentity cmp = want;
    if (!compare_members) cmp.members = stored->members;
    std::string diff = identity_diff(*stored, cmp);
    if (!diff.empty())
      throw std::runtime_error(
          "state directory " + dir + " belongs to another cluster configuration: " + diff +
          ". Its Raft log must not be mixed with this cluster's. If the config is right, move the "
          "directory "
          "aside (mv " +
          dir + " " + dir +
          ".old) and restart: the node starts empty and resyncs from its peers. "
          "If the directory is right, fix the config.");
    return;
  }
  if (has_raft_state(dir))
    throw std::runtime_error(
        "state directory " + dir +
        " holds a Raft log but no identity file, so it cannot be proven to belong to "
        "cluster '" +
        want.cluster_name + "'. Move it aside (mv " + dir + " " + dir +
        ".old) and restart to resync from peers.");
  write_identity(dir, want);
  PW_INFO("raft", "state_dir=%s initialized for cluster=%s members=%s", dir.c_str(),
          want.cluster_name.c_str(), join(want.members).c_str());
}

void save_cluster_id(const std::string& dir, uint64_t cluster_id) {
  auto id = read_identity(dir);
  if (!id) throw std::runtime_error("cannot record the cluster id: " + dir + "/identity is missing");
  id->cluster_id = cluster_id;
  write_identity(dir, *id);
}

}  // namespace pw::consensus
