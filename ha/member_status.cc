// ha/member_status.cc — encoding of the gossiped member status.
#include "ha/member_status.h"

#include "ha/bytes.h"

namespace pw::node {

const char* data_kind_name(DataKind k) {
  switch (k) {
    case DataKind::unknown: return "unknown";
    case DataKind::empty: return "empty";
    case DataKind::cluster: return "cluster";
    case DataKind::unusable: return "unusable";
  }
  return "?";
}

std::string MemberStatus::encode(uint8_t format) const {
  if (format < 1 || format > kStatusFormat) format = kStatusFormat;
  ByteWriter w;
  w.u8(format);
  w.str(name);
  w.u64(seq);
  w.u8(static_cast<uint8_t>(data));
  w.str(data_reason);
  w.u64(system_id);
  w.u32(timeline);
  w.u64(lsn);
  w.u64(replay_lsn);
  w.boolean(pg_running);
  w.boolean(in_recovery);
  w.boolean(streaming);
  w.str(upstream);
  w.boolean(nofailover);
  w.u32(static_cast<uint32_t>(priority));
  w.u64(acked_epoch);
  w.u64(final_lsn);
  w.str(agent_state);
  w.str(last_error);
  w.u32(static_cast<uint32_t>(decider_diags.size()));
  for (const auto& d : decider_diags) {
    w.str(d.code);
    w.str(d.message);
    w.str(d.action);
  }
  if (format >= 2) {
    w.u64(grant_epoch);
    w.i64(grant_ms);
  }
  if (format >= 3) w.boolean(serving);
  if (format >= 4) w.i64(probe_age_ms);
  if (format >= 5) w.str(version);
  if (format >= 6) w.u64(route_index);
  if (format >= 7) {
    w.u32(static_cast<uint32_t>(pending_restart.size()));
    for (const auto& p : pending_restart) w.str(p);
  }
  return w.take();
}

std::optional<MemberStatus> MemberStatus::decode(const std::string& bytes) {
  ByteReader r(bytes);
  uint8_t version = r.u8();
  if (version < 1) return std::nullopt;
  MemberStatus m;
  m.format = version;
  m.name = r.str();
  m.seq = r.u64();
  uint8_t d = r.u8();
  if (d > 3) return std::nullopt;
  m.data = static_cast<DataKind>(d);
  m.data_reason = r.str();
  m.system_id = r.u64();
  m.timeline = r.u32();
  m.lsn = r.u64();
  m.replay_lsn = r.u64();
  m.pg_running = r.boolean();
  m.in_recovery = r.boolean();
  m.streaming = r.boolean();
  m.upstream = r.str();
  m.nofailover = r.boolean();
  m.priority = static_cast<int32_t>(r.u32());
  m.acked_epoch = r.u64();
  m.final_lsn = r.u64();
  m.agent_state = r.str();
  m.last_error = r.str();
  for (uint32_t i = 0, n = r.count(64); i < n && r.ok(); ++i) {
    Diagnostic d;
    d.code = r.str();
    d.message = r.str();
    d.action = r.str();
    m.decider_diags.push_back(std::move(d));
  }
  if (version >= 2) {
    m.grant_epoch = r.u64();
    m.grant_ms = r.i64();
    if (m.grant_ms < 0) return std::nullopt;
  }
  if (version >= 3) {
    m.serving_known = true;
    m.serving = r.boolean();
  }
  if (version >= 4) {
    m.probe_age_ms = r.i64();
    if (m.probe_age_ms < -1) return std::nullopt;
  }
  if (version >= 5) m.version = r.str();
  if (version >= 6) m.route_index = r.u64();
  if (version >= 7) {
    m.pending_restart_known = true;
    // PostgreSQL has a few hundred settings: more names is a corrupt status.
    for (uint32_t i = 0, n = r.count(1024); i < n && r.ok(); ++i) m.pending_restart.push_back(r.str());
  }
  if (!r.ok()) return std::nullopt;
  // A known format ends here; a newer one may append what we do not know.
  if (version <= kStatusFormat && !r.at_end()) return std::nullopt;
  return m;
}

}  // namespace pw::node
