// consensus/recover.cc — see recover.h.
#include "consensus/recover.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "consensus/core.h"
#include "consensus/log_store.h"

namespace pw::consensus {
namespace {

LogStoreOptions store_options(const RaftOptions& opts) {
  LogStoreOptions so;
  so.dir = opts.state_dir;
  so.identity.cluster_name = opts.cluster_name;
  for (const Peer& p : opts.peers) so.identity.members.push_back(p.name);
  so.check_members = false;  // the log's own membership is what we rewrite
  return so;
}

Core core_for(const RaftOptions& opts, const InitialState& init) {
  CoreOptions co;
  co.id = opts.self_id;
  for (const Peer& p : opts.peers) co.peers.push_back(p.id);
  co.initial_members = seed_membership(seed_members(opts.peers));
  return Core(co, init);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

ForcedMembershipPlan plan_forced_membership(const RaftOptions& opts,
                                            const std::vector<std::string>& keep) {
  if (!std::filesystem::exists(opts.state_dir + "/identity"))
    throw std::runtime_error("state directory " + opts.state_dir +
                             " holds no Raft state: there is nothing to recover on this node");
  LogStore store(store_options(opts));
  const InitialState& init = store.initial_state();
  Core core = core_for(opts, init);
  ForcedMembershipPlan p;
  p.state_dir = opts.state_dir;
  p.in_force = core.membership();
  p.term = init.hard_state.term;
  p.commit = core.commit();
  p.last_index = core.last_index();
  p.new_term = p.term + 1;
  const MemberInfo* self = p.in_force.find(opts.self_id);
  std::string self_name = self ? self->name : std::string();
  if (keep.empty()) throw std::runtime_error("--force-members needs at least one member name");
  Membership f = p.in_force;
  f.members.clear();
  for (const std::string& name : keep) {
    const MemberInfo* m = p.in_force.find_name(name);
    if (!m)
      throw std::runtime_error("'" + name + "' is not a member (members in force: " +
                               p.in_force.describe() + ")");
    if (std::find_if(f.members.begin(), f.members.end(),
                     [&](const MemberInfo& x) { return x.name == name; }) != f.members.end())
      throw std::runtime_error("'" + name + "' is listed twice in --force-members");
    MemberInfo x = *m;
    x.voter = true;
    f.members.push_back(x);
  }
  if (!self || !f.find(opts.self_id))
    throw std::runtime_error("this node (" + (self_name.empty() ? std::string("id ") + std::to_string(opts.self_id) : self_name) +
                             ") must be one of --force-members: run the command on a survivor "
                             "that stays, with its daemon stopped");
  std::sort(f.members.begin(), f.members.end(),
            [](const MemberInfo& a, const MemberInfo& b) { return a.id < b.id; });
  for (const MemberInfo& m : p.in_force.members)
    if (!f.find(m.id)) p.dropped.push_back(m.name);
  if (p.dropped.empty())
    throw std::runtime_error("--force-members keeps every member (" + p.in_force.describe() +
                             "): nothing to recover; start the missing members instead");
  f.epoch = p.last_index + 1;
  p.forced = f;
  return p;
}

std::string ForcedMembershipPlan::describe() const {
  std::string s;
  s += "State directory: " + state_dir + "\n";
  s += "Membership now (epoch " + std::to_string(in_force.epoch) + "): " + in_force.describe() + "\n";
  s += "Membership after: " + forced.describe() + " (epoch " + std::to_string(forced.epoch) +
       ", term " + std::to_string(new_term) + ")\n";
  s += "Dropped for good: " + join(dropped) +
       " (their ids are never reused: if they come back with their old state they are refused; "
       "add them again with `pgwarden ctl member add` after moving their state directory aside)\n";
  s += "This log: committed up to index " + std::to_string(commit) + ", last index " +
       std::to_string(last_index) + ", term " + std::to_string(term) + "\n";
  if (last_index > commit)
    s += "Kept although not known to be committed: entries " + std::to_string(commit + 1) + ".." +
         std::to_string(last_index) + " (" + std::to_string(last_index - commit) +
         "); they become committed\n";
  s += "Lost: any entry that only the dropped members hold (beyond index " +
       std::to_string(last_index) + " or in a newer term); a change they committed without "
       "this node is not here.\n";
  return s;
}

void apply_forced_membership(const RaftOptions& opts, const ForcedMembershipPlan& plan,
                             const std::string& backup_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path backup = backup_dir;
  if (fs::exists(backup))
    throw std::runtime_error("backup directory " + backup_dir + " already exists: choose another");
  // Regular files and directories only: a state directory may also hold a
  // PostgreSQL socket, which cannot (and need not) be copied.
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("cannot copy " + opts.state_dir + " to " + backup_dir + ": " + what +
                             " (nothing was changed)");
  };
  fs::create_directories(backup_dir, ec);
  if (ec) fail(ec.message());
  fs::permissions(backup_dir, fs::perms::owner_all, ec);
  for (auto it = fs::recursive_directory_iterator(opts.state_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::path rel = fs::relative(it->path(), opts.state_dir);
    if (it->is_directory()) {
      fs::create_directories(backup / rel, ec);
    } else if (it->is_regular_file()) {
      fs::copy_file(it->path(), backup / rel, ec);
    }
    if (ec) fail(it->path().string() + ": " + ec.message());
  }
  if (ec) fail(ec.message());
  LogStore store(store_options(opts));
  if (store.last_index() != plan.last_index || store.hard_state().term != plan.term)
    throw std::runtime_error("the state directory changed since the plan was made (is the daemon "
                             "running?): nothing was changed");
  Entry e;
  e.term = plan.new_term;
  e.index = plan.last_index + 1;
  e.type = EntryType::config;
  e.data = encode_membership(plan.forced);
  store.append({e});
  // A vote for ourselves in the new term: this node never votes for
  // another candidate of that term, which no one else can have reached.
  store.save_hard_state(HardState{plan.new_term, opts.self_id, e.index});
}

}  // namespace pw::consensus
