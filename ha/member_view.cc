// ha/member_view.cc — see member_view.h.
#include "ha/member_view.h"

#include <algorithm>

#include "base/log.h"

namespace pw::node {

MemberView::MemberView(std::string self, std::vector<std::string> members, int64_t fresh_window_ms,
                       int64_t started_ms, uint64_t seq_base)
    : self_(std::move(self)),
      members_(std::move(members)),
      window_ms_(fresh_window_ms),
      started_ms_(started_ms),
      seq_(seq_base) {
  own_.name = self_;
}

std::string MemberView::next_own_message(int64_t now) {
  own_sent_ms_ = now;
  own_.seq = ++seq_;
  return own_.encode(send_format());
}

uint8_t MemberView::send_format() const {
  uint8_t f = kStatusFormat;
  for (const auto& [name, p] : peers_)
    if (p.first.format != 0) f = std::min(f, p.first.format);
  return f;
}

bool MemberView::received(const std::string& from_name, const std::string& data, int64_t now, bool* acked_changed) {
  *acked_changed = false;
  auto st = MemberStatus::decode(data);
  if (!st) {
    PW_WARN("agent", "malformed status message from %s (ignored)", from_name.c_str());
    return false;
  }
  if (st->name != from_name) {
    PW_WARN("agent", "status names %s but came from %s (ignored)", st->name.c_str(), from_name.c_str());
    return false;
  }
  auto it = peers_.find(st->name);
  if (it != peers_.end() && st->seq != 0 && st->seq <= it->second.first.seq && st->seq + 1000 > it->second.first.seq)
    return false;  // reordered duplicate (a restarted sender starts above: see seq_base)
  uint64_t old_ack = it == peers_.end() ? 0 : it->second.first.acked_epoch;
  const std::string name = st->name;  // (the assignment below moves *st first)
  auto& slot = peers_[name];
  slot = {std::move(*st), now};
  *acked_changed = slot.first.acked_epoch != old_ack;
  return true;
}

std::map<std::string, SeenStatus> MemberView::seen(int64_t now) const {
  std::map<std::string, SeenStatus> out;
  for (const auto& [name, p] : peers_) out[name] = {p.first, now - p.second <= window_ms_, p.second};
  out[self_] = {own_, true, own_sent_ms_};
  return out;
}

const MemberStatus* MemberView::fresh(const std::string& name, int64_t now) const {
  if (name == self_) return &own_;
  auto it = peers_.find(name);
  if (it == peers_.end() || now - it->second.second > window_ms_) return nullptr;
  return &it->second.first;
}

const MemberStatus* MemberView::last(const std::string& name) const {
  if (name == self_) return &own_;
  auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : &it->second.first;
}

bool MemberView::all_acked(uint64_t epoch, int64_t now, int64_t silence_ms, int64_t silent_from_ms) const {
  for (const auto& m : members_) {
    if (m == self_) continue;
    auto it = peers_.find(m);
    int64_t last = it == peers_.end() ? started_ms_ : it->second.second;
    if (it != peers_.end() && it->second.first.acked_epoch >= epoch) continue;
    if (now - std::max(last, silent_from_ms) > silence_ms) continue;
    return false;
  }
  return true;
}

void MemberView::set_members(std::vector<std::string> members) {
  members_ = std::move(members);
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (std::find(members_.begin(), members_.end(), it->first) == members_.end())
      it = peers_.erase(it);
    else
      ++it;
  }
}

int64_t MemberView::last_heard(const std::string& name) const {
  auto it = peers_.find(name);
  return it == peers_.end() ? 0 : it->second.second;
}

}  // namespace pw::node
