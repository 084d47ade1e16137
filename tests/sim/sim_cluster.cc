// tests/sim/sim_cluster.cc — see sim_cluster.h. The harness plays the role of
// RaftNode for every simulated node: it carries out each Ready in the
// documented order against a simulated disk, and checks the safety
// properties as it goes, so a violation is caught at the event that caused it.
#include "sim_cluster.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "consensus/log_store.h"

namespace pw::sim {
namespace {

// Every simulation links this file. Simulations are CPU-bound for their
// whole run; under `ctest -j2` they run beside the timing-sensitive HA and
// fault tests, which must get the CPU first: tests/CMakeLists.txt sets
// PW_TEST_NICE for every `sim` test, and the process lowers its own
// priority before main (a run by hand is not niced).
[[maybe_unused]] const int kNicedForCtest = [] {
  if (const char* n = getenv("PW_TEST_NICE"); n && *n) {
    errno = 0;
    if (nice(atoi(n)) == -1 && errno != 0) perror("PW_TEST_NICE: nice");
  }
  return 0;
}();

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 29);
}
uint64_t hash_bytes(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
uint64_t chain_next(uint64_t prev, const Entry& e) {
  return mix(mix(mix(prev, e.term), static_cast<uint64_t>(e.type) + 1), hash_bytes(e.data));
}
std::string key(uint64_t index, uint64_t term) {
  return std::to_string(index) + "/" + std::to_string(term);
}

}  // namespace

uint64_t SimRng::next() {
  uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void DigestStateMachine::apply(uint64_t index, const std::string& data) {
  index_ = index;
  digest_ = mix(digest_, hash_bytes(data));
}
std::string DigestStateMachine::snapshot() const {
  return std::to_string(index_) + ":" + std::to_string(digest_);
}
bool DigestStateMachine::restore(const std::string& data) {
  auto colon = data.find(':');
  if (colon == std::string::npos) return false;
  index_ = std::stoull(data.substr(0, colon));
  digest_ = std::stoull(data.substr(colon + 1));
  return true;
}

void SimStats::add(const SimStats& o) {
  delivered += o.delivered, lost += o.lost, duplicated += o.duplicated, cut += o.cut;
  crashes += o.crashes, torn_crashes += o.torn_crashes, restarts += o.restarts, pauses += o.pauses;
  elections += o.elections, proposals += o.proposals, committed += o.committed,
      dropped += o.dropped, unknown += o.unknown;
  snapshots_sent += o.snapshots_sent, snapshots_installed += o.snapshots_installed,
      compactions += o.compactions, transfers += o.transfers;
  partitions += o.partitions, asym_partitions += o.asym_partitions,
      leader_isolations += o.leader_isolations;
  config_proposals += o.config_proposals, config_committed += o.config_committed;
}

struct SimCluster::Node {
  uint64_t id = 0;
  bool up = false;
  std::unique_ptr<Core> core;
  std::unique_ptr<consensus::StateMachine> sm;
  Disk disk;
  std::unique_ptr<consensus::LogStore> store;  // real storage mirror (ClusterOptions::storage_dir)
  double rate = 1.0;
  int64_t tick_period = 0;
  int64_t next_tick_at = 0;
  uint64_t incarnation = 0;
  bool crash_armed = false;
  bool paused = false;  // SIGSTOP'ed: no ticks, messages wait in `backlog`
  std::vector<Message> backlog;
  bool in_ready = false;  // inside process_ready: re-entrant calls must not start another Ready
  CrashPoint crash_point = CrashPoint::before_persist;
  uint64_t applied = 0;
  uint64_t commit_seen = 0;
  std::map<uint64_t, size_t> proposals;  // proposal id (this incarnation) -> tracked_ slot
};

uint64_t SimCluster::Disk::chain_at(uint64_t i) const {
  if (i == snap.index) return snap_chain;
  return chain[i - snap.index - 1];
}
uint64_t SimCluster::Disk::term_at(uint64_t i) const {
  if (i == snap.index) return snap.term;
  return entries[i - snap.index - 1].term;
}

SimCluster::SimCluster(const ClusterOptions& opts, StateMachineFactory factory)
    : opts_(opts), factory_(std::move(factory)), rng_(opts.seed * 0x2545F4914F6CDD1Dull + 7) {
  if (!factory_) factory_ = [](uint64_t) { return std::make_unique<DigestStateMachine>(); };
  for (int i = 0; i < opts_.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->id = static_cast<uint64_t>(i + 1);
    n->rate = 1.0 + (rng_.unit() * 2 - 1) * opts_.max_drift;
    n->tick_period =
        std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(opts_.tick_us) / n->rate));
    nodes_.push_back(std::move(n));
  }
  for (auto& n : nodes_) start_core(*n);
}

SimCluster::~SimCluster() = default;

SimCluster::Node& SimCluster::node(uint64_t id) {
  if (id < 1 || id > nodes_.size()) throw std::out_of_range("sim: no node " + std::to_string(id));
  return *nodes_[id - 1];
}
const SimCluster::Node& SimCluster::node(uint64_t id) const {
  if (id < 1 || id > nodes_.size()) throw std::out_of_range("sim: no node " + std::to_string(id));
  return *nodes_[id - 1];
}

int64_t SimCluster::node_clock_us(uint64_t id) const {
  return static_cast<int64_t>(static_cast<double>(now_) * node(id).rate);
}

void SimCluster::fail(const std::string& what) const {
  std::ostringstream os;
  os << "t=" << now_ << "us: " << what;
  throw SimViolation(os.str());
}

void SimCluster::start_core(Node& n) {
  consensus::CoreOptions co;
  co.id = n.id;
  for (auto& m : nodes_)
    if (opts_.seed_members == 0 || m->id <= static_cast<uint64_t>(opts_.seed_members))
      co.peers.push_back(m->id);
  co.initial_members = opts_.seed_membership;
  co.election_ticks = opts_.election_ticks;
  co.heartbeat_ticks = opts_.heartbeat_ticks;
  co.proposal_timeout_ticks = opts_.proposal_timeout_ticks;
  co.seed = mix(mix(opts_.seed, n.id), ++n.incarnation);
  co.pre_vote = opts_.pre_vote;
  co.check_quorum = opts_.check_quorum;
  co.max_msg_bytes = opts_.max_msg_bytes;
  co.max_inflight = opts_.max_inflight;
  consensus::InitialState init;
  init.hard_state = n.disk.hard;
  init.snapshot = n.disk.snap;
  init.entries = n.disk.entries;
  if (!opts_.storage_dir.empty()) open_store(n);
  n.core = std::make_unique<Core>(co, init);
  n.sm = factory_(n.id);
  if (!n.disk.snap.empty() && !n.sm->restore(n.disk.snap.data))
    fail("state machine refused its own snapshot");
  n.applied = n.disk.snap.index;
  n.commit_seen = n.core->commit();
  n.up = true;
  n.crash_armed = false;
  n.proposals.clear();
  // Start each incarnation at a random phase of its tick.
  n.next_tick_at =
      now_ + 1 + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(n.tick_period)));
  process_ready(n);
}

void SimCluster::crash(uint64_t id) {
  Node& n = node(id);
  if (!n.up) return;
  n.up = false;
  n.paused = false;
  n.backlog.clear();
  n.store.reset();
  n.core.reset();
  n.sm.reset();
  n.proposals.clear();
  ++stats_.crashes;
  for (auto* o : observers_) o->on_crash(id);
}

void SimCluster::crash_during_next_ready(uint64_t id, CrashPoint p) {
  Node& n = node(id);
  if (!n.up) return;
  n.crash_armed = true;
  n.crash_point = p;
}

void SimCluster::pause(uint64_t id) {
  Node& n = node(id);
  if (n.up && !n.paused) {
    n.paused = true;
    ++stats_.pauses;
  }
}

void SimCluster::resume(uint64_t id) {
  Node& n = node(id);
  if (!n.up || !n.paused) return;
  n.paused = false;
  std::vector<Message> backlog;
  backlog.swap(n.backlog);
  for (Message& m : backlog) {
    if (!n.up) break;
    deliver(std::move(m));
  }
  // Timers that expired while stopped fire once, now.
  n.next_tick_at = now_ + 1;
}

bool SimCluster::paused(uint64_t id) const {
  return node(id).paused;
}

void SimCluster::disarm_crashes() {
  for (auto& n : nodes_) n->crash_armed = false;
}

void SimCluster::restart(uint64_t id) {
  Node& n = node(id);
  if (n.up) return;
  ++stats_.restarts;
  start_core(n);
  for (auto* o : observers_) o->on_restart(id);
}

void SimCluster::wipe(uint64_t id) {
  crash(id);
  Node& n = node(id);
  n.disk = Disk{};
  if (!opts_.storage_dir.empty())
    std::filesystem::remove_all(opts_.storage_dir + "/n" + std::to_string(n.id));
}

void SimCluster::cut(uint64_t from, uint64_t to) {
  cuts_.insert({from, to});
}
bool SimCluster::is_cut(uint64_t from, uint64_t to) const {
  return cuts_.count({from, to}) != 0;
}
void SimCluster::heal_network() {
  cuts_.clear();
}
void SimCluster::partition(const std::set<uint64_t>& group) {
  for (auto& a : nodes_)
    for (auto& b : nodes_)
      if (group.count(a->id) != group.count(b->id)) cut(a->id, b->id);
}
void SimCluster::isolate(uint64_t id) {
  partition({id});
}

bool SimCluster::up(uint64_t id) const {
  return node(id).up;
}
Core* SimCluster::core(uint64_t id) {
  return node(id).core.get();
}
consensus::StateMachine* SimCluster::state_machine(uint64_t id) {
  return node(id).sm.get();
}
const SimCluster::Disk& SimCluster::disk(uint64_t id) const {
  return node(id).disk;
}

uint64_t SimCluster::leader() const {
  uint64_t best = 0, best_term = 0;
  for (auto& n : nodes_)
    if (n->up && n->core->role() == Role::leader && n->core->term() >= best_term) {
      best = n->id;
      best_term = n->core->term();
    }
  return best;
}

uint64_t SimCluster::propose(uint64_t id, const std::string& data) {
  Node& n = node(id);
  if (!n.up) throw std::logic_error("sim: propose on a crashed node");
  uint64_t pid = n.core->propose(data);
  Tracked t;
  t.data = data;
  t.node = id;
  tracked_.push_back(t);
  n.proposals[pid] = tracked_.size() - 1;
  ++stats_.proposals;
  if (!n.in_ready) process_ready(n);  // else the running loop picks it up
  return pid;
}

uint64_t SimCluster::propose_config(uint64_t id, const consensus::Membership& to) {
  Node& n = node(id);
  if (!n.up) throw std::logic_error("sim: propose_config on a crashed node");
  uint64_t pid = n.core->propose_config(to);
  Tracked t;
  t.data = "config: " + to.describe();
  t.node = id;
  t.config = true;
  tracked_.push_back(t);
  n.proposals[pid] = tracked_.size() - 1;
  ++stats_.proposals;
  ++stats_.config_proposals;
  if (!n.in_ready) process_ready(n);
  return pid;
}

void SimCluster::transfer_leadership(uint64_t id, uint64_t to) {
  Node& n = node(id);
  if (!n.up) return;
  ++stats_.transfers;
  n.core->transfer_leadership(to);
  if (!n.in_ready) process_ready(n);
}

void SimCluster::send_app(uint64_t from, uint64_t to, const std::string& data) {
  if (!node(from).up) return;
  Message m;
  m.from = from;
  m.to = to;
  send(m, &data);
}

void SimCluster::send(const Message& m, const std::string* app_data) {
  if (!app_data && m.type == consensus::MsgType::snap) ++stats_.snapshots_sent;
  if (is_cut(m.from, m.to)) {
    ++stats_.cut;
    return;
  }
  if (faults_.loss > 0 && rng_.chance(faults_.loss)) {
    ++stats_.lost;
    return;
  }
  int copies = (faults_.dup > 0 && rng_.chance(faults_.dup)) ? 2 : 1;
  if (copies == 2) ++stats_.duplicated;
  for (int i = 0; i < copies; ++i) {
    int64_t d =
        rng_.range(faults_.min_delay_us, std::max(faults_.min_delay_us, faults_.max_delay_us));
    InFlight f{
        now_ + std::max<int64_t>(1, d),      seq_++, node(m.to).incarnation, m, app_data != nullptr,
        app_data ? *app_data : std::string()};
    net_.push(std::move(f));
  }
}

void SimCluster::deliver(Message m) {
  Node& n = node(m.to);
  if (!n.up || is_cut(m.from, m.to)) {  // a partition also eats messages already in flight
    ++stats_.cut;
    return;
  }
  if (n.paused) {
    n.backlog.push_back(std::move(m));
    return;
  }
  ++stats_.delivered;
  n.core->step(m);
  process_ready(n);
  for (auto* o : observers_) o->on_event(n.id);
}

int64_t SimCluster::next_event_time() const {
  int64_t t = INT64_MAX;
  if (!net_.empty()) t = net_.top().at;
  for (auto& n : nodes_)
    if (n->up && !n->paused) t = std::min(t, n->next_tick_at);
  return t;
}

void SimCluster::step_event() {
  int64_t t = next_event_time();
  if (t == INT64_MAX) return;
  now_ = std::max(now_, t);
  if (!net_.empty() && net_.top().at <= t) {
    InFlight f = net_.top();
    net_.pop();
    if (f.to_incarnation != node(f.msg.to).incarnation) {  // the connection died with the process
      ++stats_.cut;
      return;
    }
    if (f.app) {
      Node& n = node(f.msg.to);
      // Best effort, like the real app frames: a paused receiver loses them.
      if (!n.up || n.paused || is_cut(f.msg.from, f.msg.to)) return;
      for (auto* o : observers_) o->on_app_message(n.id, f.msg.from, f.app_data);
      return;
    }
    deliver(std::move(f.msg));
    return;
  }
  for (auto& n : nodes_) {
    if (n->up && !n->paused && n->next_tick_at <= t) {
      n->next_tick_at += n->tick_period;
      n->core->tick();
      process_ready(*n);
      for (auto* o : observers_)
        if (n->up) o->on_tick(n->id);
      for (auto* o : observers_) o->on_event(n->id);
      return;
    }
  }
}

void SimCluster::run_for(int64_t us) {
  int64_t end = now_ + us;
  while (next_event_time() <= end) step_event();
  now_ = end;
}

bool SimCluster::run_until(const std::function<bool()>& cond, int64_t max_us) {
  int64_t end = now_ + max_us;
  if (cond()) return true;
  while (next_event_time() <= end) {
    step_event();
    if (cond()) return true;
  }
  now_ = end;
  return cond();
}

void SimCluster::process_ready(Node& n) {
  if (n.in_ready) return;
  struct Guard {
    bool& flag;
    explicit Guard(bool& f) : flag(f) { flag = true; }
    ~Guard() { flag = false; }
  } guard(n.in_ready);
  while (n.up && n.core->has_ready()) {
    Ready rd = n.core->ready();
    bool armed = n.crash_armed;
    CrashPoint cp = n.crash_point;
    auto die = [&] {
      ++stats_.torn_crashes;
      crash(n.id);
    };
    if (armed && cp == CrashPoint::before_persist) return die();
    // 1. snapshot: persisted atomically; replaces the whole stored log.
    if (!rd.snapshot.empty()) {
      const Snapshot& s = rd.snapshot;
      if (s.index > committed_.size())
        fail("node " + std::to_string(n.id) + " got a snapshot at uncommitted index");
      if (committed_[s.index - 1].entry.term != s.term)
        fail("node " + std::to_string(n.id) +
             " got a snapshot whose term disagrees with the committed log");
      n.disk.snap = s;
      n.disk.snap_chain = committed_[s.index - 1].chain;
      n.disk.entries.clear();
      n.disk.chain.clear();
      if (n.store) n.store->apply_snapshot(s);
      if (!n.sm->restore(s.data)) fail("state machine refused a snapshot");
      n.applied = s.index;
      n.commit_seen = std::max(n.commit_seen, s.index);
      ++stats_.snapshots_installed;
    }
    if (armed && cp == CrashPoint::after_snapshot) return die();
    // 2. entries: replace the stored suffix from the first one.
    if (!rd.entries.empty()) {
      uint64_t first = rd.entries.front().index;
      if (first <= n.disk.snap.index || first > n.disk.last_index() + 1)
        fail("node " + std::to_string(n.id) + " asked to persist entries at " +
             std::to_string(first) + " not adjacent to its stored log");
      size_t keep = first - n.disk.snap.index - 1;
      size_t count = rd.entries.size();
      if (armed && cp == CrashPoint::mid_entries) count = rng_.below(count);
      if (count > 0) {  // a crash before the first write leaves the old suffix in place
        n.disk.entries.resize(keep);
        n.disk.chain.resize(keep);
      }
      for (size_t i = 0; i < count; ++i) {
        n.disk.chain.push_back(chain_next(n.disk.chain_at(n.disk.last_index()), rd.entries[i]));
        n.disk.entries.push_back(rd.entries[i]);
      }
      check_persisted(n, first);
      if (n.store) {
        n.store->append(std::vector<Entry>(rd.entries.begin(),
                                           rd.entries.begin() + static_cast<ptrdiff_t>(count)));
        if (armed && cp == CrashPoint::mid_entries) tear_store_tail(n);
      }
      if (armed && cp == CrashPoint::mid_entries) return die();
    }
    if (armed && cp == CrashPoint::after_entries) return die();
    // 3. hard state.
    if (rd.hard_state) {
      if (rd.hard_state->commit > n.disk.last_index())
        fail("node " + std::to_string(n.id) + " hard state commits beyond its persisted log");
      n.disk.hard = *rd.hard_state;
      if (n.store) n.store->save_hard_state(*rd.hard_state);
      if (rd.hard_state->commit > n.commit_seen) {
        check_commit(n, n.commit_seen, rd.hard_state->commit);
        n.commit_seen = rd.hard_state->commit;
      }
    }
    if (armed && cp == CrashPoint::after_hard_state) return die();
    // 4. messages, only now that everything they depend on is durable.
    for (const Message& m : rd.messages) {
      if (armed && cp == CrashPoint::mid_messages && rng_.chance(0.3)) return die();
      send(m);
    }
    if (armed && cp == CrashPoint::mid_messages) return die();
    // 5. soft state, applying, fates.
    if (rd.soft_state) check_soft_state(n, *rd.soft_state);
    for (const Entry& e : rd.committed_entries) {
      check_apply(n, e);
      if (e.type == consensus::EntryType::normal) n.sm->apply(e.index, e.data);
      for (auto* o : observers_) o->on_apply(n.id, e);
      if (!n.up) return;  // an observer crashed it
    }
    for (const ProposalFate& f : rd.proposals) check_fate(n, f);
    if (!n.up) return;  // an observer crashed it
    n.core->advance(rd);
    maybe_compact(n);
  }
}

void SimCluster::maybe_compact(Node& n) {
  if (opts_.compact_every == 0 || !n.up) return;
  uint64_t applied = n.core->applied();
  if (applied < n.disk.snap.index + opts_.compact_every) return;
  const Snapshot& s = n.core->compact(applied, n.sm->snapshot());
  uint64_t chain = n.disk.chain_at(applied);
  size_t drop = applied - n.disk.snap.index;
  n.disk.entries.erase(n.disk.entries.begin(),
                       n.disk.entries.begin() + static_cast<ptrdiff_t>(drop));
  n.disk.chain.erase(n.disk.chain.begin(), n.disk.chain.begin() + static_cast<ptrdiff_t>(drop));
  n.disk.snap = s;
  n.disk.snap_chain = chain;
  if (n.store) n.store->save_snapshot(s);
  ++stats_.compactions;
}

// ---- real storage mirror ----

void SimCluster::open_store(Node& n) {
  consensus::LogStoreOptions so;
  so.dir = opts_.storage_dir + "/n" + std::to_string(n.id);
  so.segment_bytes = 1 + rng_.below(2048);  // tiny segments: rolling and compaction get exercised
  try {
    n.store = std::make_unique<consensus::LogStore>(so);
  } catch (const std::exception& e) {
    fail("node " + std::to_string(n.id) + " LogStore refused to open: " + e.what());
  }
  const consensus::InitialState& got = n.store->initial_state();
  if (!(got.hard_state == n.disk.hard))
    fail("storage model mismatch on node " + std::to_string(n.id) + ": hard state differs");
  if (!(got.snapshot == n.disk.snap))
    fail("storage model mismatch on node " + std::to_string(n.id) + ": snapshot differs");
  if (got.entries != n.disk.entries)
    fail("storage model mismatch on node " + std::to_string(n.id) + ": stored entries differ (" +
         std::to_string(got.entries.size()) + " vs model " + std::to_string(n.disk.entries.size()) +
         ")");
}

void SimCluster::tear_store_tail(Node& n) {
  // A crash in the middle of the next append: a few bytes of a record header,
  // or a zero-filled extension, land at the end of the newest segment.
  namespace fs = std::filesystem;
  std::string dir = opts_.storage_dir + "/n" + std::to_string(n.id), newest;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".seg" && e.path().string() > newest) newest = e.path().string();
  if (newest.empty()) return;
  std::ofstream f(newest, std::ios::app | std::ios::binary);
  bool zeros = rng_.chance(0.5);
  size_t len = zeros ? 1 + rng_.below(64) : 1 + rng_.below(11);
  for (size_t i = 0; i < len; ++i) f.put(zeros ? '\0' : static_cast<char>(rng_.next()));
}

// ---- safety checks ----

void SimCluster::check_persisted(Node& n, uint64_t first_new) {
  // Log matching: (index, term) identifies the whole prefix, so its chain
  // hash must be the same in every log that ever held it.
  for (uint64_t i = first_new; i <= n.disk.last_index(); ++i) {
    uint64_t c = n.disk.chain_at(i);
    auto [it, inserted] = index_term_chain_.emplace(key(i, n.disk.term_at(i)), c);
    if (!inserted && it->second != c)
      fail("log matching violated: node " + std::to_string(n.id) + " holds index " +
           std::to_string(i) + " term " + std::to_string(n.disk.term_at(i)) +
           " with a different prefix than another log");
  }
}

void SimCluster::check_commit(Node& n, uint64_t old_commit, uint64_t new_commit) {
  for (uint64_t i = old_commit + 1; i <= new_commit; ++i) {
    if (i < n.disk.snap.index) continue;  // covered by a snapshot checked on install
    uint64_t c = n.disk.chain_at(i);
    if (i <= committed_.size()) {
      if (committed_[i - 1].chain != c)
        fail("commit safety violated: node " + std::to_string(n.id) +
             " committed a different entry at index " + std::to_string(i));
      continue;
    }
    if (i != committed_.size() + 1) fail("checker: commit gap at node " + std::to_string(n.id));
    if (i == n.disk.snap.index) fail("checker: snapshot beyond the committed log");
    const Entry& e = n.disk.entries[i - n.disk.snap.index - 1];
    uint64_t t = n.core->term();
    committed_.push_back(CommittedEntry{e, c, t});
    if (e.type == consensus::EntryType::normal && !e.data.empty()) {
      if (!data_index_.emplace(e.data, i).second && opts_.unique_payloads)
        fail("payload '" + e.data + "' committed twice (index " +
             std::to_string(data_index_[e.data]) + " and " + std::to_string(i) + ")");
    }
    // Leader completeness for entries committed after a later leader was
    // elected (delayed acknowledgements of an old leader).
    for (auto& m : nodes_) {
      if (!m->up || m->core->role() != Role::leader || m->core->term() <= t) continue;
      if (m->disk.last_index() < i || (i >= m->disk.snap.index && m->disk.chain_at(i) != c))
        fail("leader completeness violated: leader " + std::to_string(m->id) + " of term " +
             std::to_string(m->core->term()) + " lacks index " + std::to_string(i) +
             " committed in term " + std::to_string(t));
    }
  }
}

void SimCluster::check_apply(Node& n, const Entry& e) {
  if (e.index != n.applied + 1)
    fail("node " + std::to_string(n.id) + " applied index " + std::to_string(e.index) + " after " +
         std::to_string(n.applied));
  if (e.index > committed_.size() || !(committed_[e.index - 1].entry == e))
    fail("state machine safety violated: node " + std::to_string(n.id) +
         " applied an entry at index " + std::to_string(e.index) +
         " that differs from the committed one");
  n.applied = e.index;
}

void SimCluster::check_soft_state(Node& n, const SoftState& ss) {
  for (auto* o : observers_) o->on_soft_state(n.id, ss);
  if (ss.role != Role::leader) return;
  ++stats_.elections;
  auto [it, inserted] = leader_of_term_.emplace(ss.term, n.id);
  if (!inserted && it->second != n.id)
    fail("election safety violated: nodes " + std::to_string(it->second) + " and " +
         std::to_string(n.id) + " both leader in term " + std::to_string(ss.term));
  // Leader completeness: everything committed in an earlier term is in our log.
  uint64_t k = 0;
  for (uint64_t i = committed_.size(); i >= 1; --i)
    if (committed_[i - 1].commit_term < ss.term) {
      k = i;
      break;
    }
  if (k == 0) return;
  if (n.disk.last_index() < k ||
      (k >= n.disk.snap.index && n.disk.chain_at(k) != committed_[k - 1].chain) ||
      (k < n.disk.snap.index && committed_[n.disk.snap.index - 1].chain != n.disk.snap_chain))
    fail("leader completeness violated: new leader " + std::to_string(n.id) + " of term " +
         std::to_string(ss.term) + " lacks committed index " + std::to_string(k));
}

void SimCluster::check_fate(Node& n, const ProposalFate& f) {
  for (auto* o : observers_) o->on_fate(n.id, f);
  auto it = n.proposals.find(f.id);
  if (it == n.proposals.end()) fail("fate for unknown proposal id " + std::to_string(f.id));
  Tracked& t = tracked_[it->second];
  n.proposals.erase(it);
  if (t.decided) fail("proposal '" + t.data + "' got two fates");
  t.decided = true;
  t.outcome = f.outcome;
  t.index = f.index;
  t.reason = f.reason;
  switch (f.outcome) {
    case ProposalFate::Outcome::committed:
      ++stats_.committed;
      if (t.config) ++stats_.config_committed;
      if (f.index == 0 || f.index > committed_.size() ||
          (t.config ? committed_[f.index - 1].entry.type != consensus::EntryType::config
                    : committed_[f.index - 1].entry.data != t.data))
        fail("proposal '" + t.data + "' reported committed at " + std::to_string(f.index) +
             " but the committed log holds something else there");
      break;
    case ProposalFate::Outcome::dropped:
      ++stats_.dropped;
      if (opts_.unique_payloads && !t.config && data_index_.count(t.data))
        fail("proposal '" + t.data + "' reported dropped (" + f.reason +
             ") but it is committed at index " + std::to_string(data_index_[t.data]));
      break;
    case ProposalFate::Outcome::unknown:
      ++stats_.unknown;
      break;
  }
}

bool SimCluster::converged() const {
  uint64_t l = leader();
  if (l == 0) return false;
  consensus::Membership members = node(l).core->committed_membership();
  for (auto& n : nodes_) {
    if (!members.contains(n->id)) continue;
    if (!n->up) return false;
    if (n->core->commit() != committed_.size() || n->applied != committed_.size()) return false;
  }
  return leader() != 0;
}

void SimCluster::check_proposal_fates() const {
  for (const Tracked& t : tracked_) {
    if (!t.decided || t.config) continue;  // config fates were checked when reported
    if (t.outcome == ProposalFate::Outcome::dropped && data_index_.count(t.data))
      fail("dropped proposal '" + t.data + "' (" + t.reason + ") is in the final log at " +
           std::to_string(data_index_.at(t.data)));
    auto it = data_index_.find(t.data);
    if (t.outcome == ProposalFate::Outcome::committed &&
        (it == data_index_.end() || it->second != t.index))
      fail("committed proposal '" + t.data + "' lost from the final log");
    if (t.outcome == ProposalFate::Outcome::dropped && it != data_index_.end())
      fail("dropped proposal '" + t.data + "' is in the final log at " +
           std::to_string(it->second));
  }
}

std::string SimCluster::describe() const {
  std::ostringstream os;
  os << "t=" << now_ << "us committed_log=" << committed_.size() << "\n";
  for (auto& n : nodes_) {
    os << "  node " << n->id;
    if (!n->up) {
      os << " down disk_last=" << n->disk.last_index() << "\n";
      continue;
    }
    const Core& c = *n->core;
    os << " " << consensus::role_name(c.role()) << " term=" << c.term() << " lead=" << c.leader()
       << " commit=" << c.commit() << " applied=" << c.applied() << " last=" << c.last_index()
       << " snap=" << c.log().snapshot().index
       << " elapsed_timeout=" << c.randomized_election_timeout();
    for (auto& m : nodes_) {
      if (const consensus::Progress* p = c.progress(m->id))
        os << " [" << m->id << " match=" << p->match << " next=" << p->next << " "
           << consensus::progress_state_name(p->state) << (p->probe_sent ? " probe_sent" : "")
           << " inflight=" << p->inflight.size() << "]";
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace pw::sim
