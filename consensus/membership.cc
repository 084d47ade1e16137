// consensus/membership.cc — see membership.h.
#include "consensus/membership.h"

#include <algorithm>
#include <set>

#include "consensus/codec.h"

namespace pw::consensus {

const MemberInfo* Membership::find(uint64_t id) const {
  for (const auto& m : members)
    if (m.id == id) return &m;
  return nullptr;
}

const MemberInfo* Membership::find_name(std::string_view name) const {
  for (const auto& m : members)
    if (m.name == name) return &m;
  return nullptr;
}

bool Membership::is_voter(uint64_t id) const {
  const MemberInfo* m = find(id);
  return m && m->voter;
}

std::vector<uint64_t> Membership::voters() const {
  std::vector<uint64_t> v;
  for (const auto& m : members)
    if (m.voter) v.push_back(m.id);
  return v;
}

size_t Membership::voter_count() const {
  return static_cast<size_t>(
      std::count_if(members.begin(), members.end(), [](const MemberInfo& m) { return m.voter; }));
}

std::string Membership::describe() const {
  std::string s;
  for (const auto& m : members) {
    if (!s.empty()) s += ' ';
    s += m.name + "(" + std::to_string(m.id) + (m.voter ? "" : m.stay_learner ? ",learner,stays" : ",learner") + ")";
  }
  return s.empty() ? "(none)" : s;
}

Membership seed_membership(std::vector<MemberInfo> members) {
  Membership m;
  std::sort(members.begin(), members.end(),
            [](const MemberInfo& a, const MemberInfo& b) { return a.id < b.id; });
  for (auto& x : members) {
    x.voter = true;
    m.next_id = std::max(m.next_id, x.id + 1);
  }
  m.members = std::move(members);
  return m;
}

std::string encode_membership(const Membership& m) {
  Writer w;
  w.str() = "PWM1";
  w.u64(m.epoch);
  w.u64(m.next_id);
  w.u32(static_cast<uint32_t>(m.members.size()));
  for (const auto& x : m.members) {
    w.u64(x.id);
    w.bytes(x.name);
    w.bytes(x.host);
    w.u8(static_cast<uint8_t>(x.port >> 8));
    w.u8(static_cast<uint8_t>(x.port & 0xff));
    w.u8(static_cast<uint8_t>((x.voter ? 1 : 0) | (x.stay_learner ? 2 : 0)));
  }
  return w.take();
}

std::optional<Membership> decode_membership(std::string_view data, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Membership> {
    if (error) *error = "bad membership record: " + why;
    return std::nullopt;
  };
  if (data.size() < 4 || data.substr(0, 4) != "PWM1") return fail("missing PWM1 magic");
  Reader r(data.substr(4));
  Membership m;
  m.epoch = r.u64("epoch");
  m.next_id = r.u64("next_id");
  uint32_t n = r.u32("member count");
  // Each member needs at least 8 + 4 + 4 + 3 bytes: a hostile count cannot allocate.
  if (r.ok() && n > r.remaining() / 19) return fail("member count " + std::to_string(n) + " too large");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    MemberInfo x;
    x.id = r.u64("member id");
    x.name = r.bytes("member name");
    x.host = r.bytes("member host");
    uint16_t hi = r.u8("port"), lo = r.u8("port");
    x.port = static_cast<uint16_t>(hi << 8 | lo);
    uint8_t v = r.u8("member flags");
    if (r.ok() && v > 3) r.fail("member flags " + std::to_string(v));
    x.voter = v & 1;
    x.stay_learner = v & 2;
    m.members.push_back(std::move(x));
  }
  if (r.ok() && !r.at_end()) r.fail("trailing bytes");
  if (!r.ok()) return fail(r.error());
  std::set<uint64_t> ids;
  std::set<std::string> names;
  for (size_t i = 0; i < m.members.size(); ++i) {
    const auto& x = m.members[i];
    if (x.id == 0 || x.id >= m.next_id) return fail("member id " + std::to_string(x.id) + " out of range");
    if (i > 0 && m.members[i - 1].id >= x.id) return fail("member ids not increasing");
    if (x.name.empty() || !names.insert(x.name).second) return fail("empty or duplicate name");
  }
  return m;
}

std::string check_change(const Membership& from, const Membership& to) {
  std::set<std::string> names;
  for (size_t i = 0; i < to.members.size(); ++i) {
    const auto& x = to.members[i];
    if (x.id == 0 || x.id >= to.next_id)
      return "member '" + x.name + "' has id " + std::to_string(x.id) + " outside 1.." +
             std::to_string(to.next_id - 1);
    if (i > 0 && to.members[i - 1].id >= x.id) return "member ids must be unique and sorted";
    if (x.name.empty() || !names.insert(x.name).second)
      return "member name '" + x.name + "' is empty or used twice";
    if (from.removed(x.id))
      return "id " + std::to_string(x.id) + " belonged to a removed member and is never reused";
    const MemberInfo* old = from.find(x.id);
    if (!old && x.id < from.next_id)
      return "id " + std::to_string(x.id) + " was already given out";
    if (old && old->name != x.name)
      return "member " + std::to_string(x.id) + " cannot be renamed ('" + old->name + "' to '" +
             x.name + "')";
  }
  if (to.next_id < from.next_id) return "next_id cannot go back";
  if (to.voter_count() == 0) return "a configuration needs at least one voter";
  int changed = 0;
  for (const auto& x : from.members)
    if (x.voter && !to.is_voter(x.id)) ++changed;
  for (const auto& x : to.members)
    if (x.voter && !from.is_voter(x.id)) ++changed;
  if (changed > 1)
    return "only one voter may be added, removed, promoted or demoted per change (" +
           std::to_string(changed) + " here): make one change, wait for it to commit, then the next";
  return "";
}

}  // namespace pw::consensus
