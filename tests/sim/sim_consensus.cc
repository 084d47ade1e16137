// tests/sim/sim_consensus.cc — the seeded chaos simulation of the Raft core.
//
//   sim_consensus                      PW_SIM_SEEDS seeds (default 10000) from a random
//                                      base seed (printed); odd seeds 3 nodes, even 5
//   sim_consensus --base B [--seeds N] the same from base seed B (PW_SIM_FIRST_SEED=B too)
//   sim_consensus --seed S --nodes N   replay one seed exactly (add -v for a trace)
//
// Each seed draws its own fault mix (loss up to 30%, duplication, delays,
// partitions, one-way cuts, leader isolation, crashes incl. torn Ready
// handling, restarts, leadership transfers, compaction, clock drift, and
// membership changes: learners added, promoted, demoted, members removed —
// the leader too — and changes that must be refused), runs a
// chaos phase, heals everything, and then demands liveness: a leader within
// a bounded number of election timeouts, a new proposal committed, every node
// converged. Safety is checked after every event by SimCluster.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <set>
#include <string>

#include "base/log.h"
#include "sim_cluster.h"

namespace {

using pw::sim::ClusterOptions;
using pw::sim::CrashPoint;
using pw::sim::SimCluster;
using pw::sim::SimStats;
using pw::sim::SimViolation;

struct SeedResult {
  bool ok = true;
  std::string error;
  SimStats stats;
};

uint64_t random_up(SimCluster& c, int nodes) {
  for (int tries = 0; tries < 16; ++tries) {
    uint64_t id = 1 + c.rng().below(static_cast<uint64_t>(nodes));
    if (c.up(id)) return id;
  }
  return 0;
}

// "n<id>" without `literal + std::to_string()`, which g++ 12 -O2 flags
// with a false -Wrestrict warning.
std::string node_name(uint64_t id) {
  char buf[32];
  snprintf(buf, sizeof buf, "n%llu", static_cast<unsigned long long>(id));
  return buf;
}

// One random membership change proposed at `at` (the leader or a follower,
// which forwards it), built from the configuration `at` has in force: add a
// node never added (mostly as a learner), promote, demote, remove (the
// leader too), or an invalid change of two voters at once, which must be
// refused. Stale views are fine: the leader checks the change against its own.
void change_membership(SimCluster& c, pw::sim::SimRng& rng, uint64_t at, int nodes, bool verbose) {
  using pw::consensus::MemberInfo;
  using pw::consensus::Membership;
  Membership cur = c.core(at)->membership();
  Membership to = cur;
  int op = static_cast<int>(rng.below(5));
  auto pick = [&](bool voter) -> MemberInfo* {
    std::vector<MemberInfo*> v;
    for (auto& m : to.members)
      if (m.voter == voter) v.push_back(&m);
    return v.empty() ? nullptr : v[rng.below(v.size())];
  };
  if (op == 0) {  // add a node that was never a member
    std::vector<uint64_t> fresh;
    for (uint64_t id = cur.next_id; id <= static_cast<uint64_t>(nodes); ++id) fresh.push_back(id);
    if (fresh.empty()) return;
    uint64_t id = fresh[rng.below(fresh.size())];
    to.members.push_back(MemberInfo{id, node_name(id), "", 0, rng.chance(0.2), false});
    std::sort(to.members.begin(), to.members.end(),
              [](const MemberInfo& a, const MemberInfo& b) { return a.id < b.id; });
    to.next_id = id + 1;
  } else if (op == 1) {  // promote a learner
    MemberInfo* m = pick(false);
    if (!m) return;
    m->voter = true;
  } else if (op == 2) {  // demote a voter
    MemberInfo* m = pick(true);
    if (!m) return;
    m->voter = false;
  } else if (op == 3) {  // remove a member, the leader included
    if (to.members.size() <= 1) return;
    size_t i = rng.below(to.members.size());
    to.members.erase(to.members.begin() + static_cast<ptrdiff_t>(i));
  } else {  // invalid: two voters change at once
    int flipped = 0;
    for (auto& m : to.members)
      if (flipped < 2) {
        m.voter = !m.voter;
        ++flipped;
      }
    if (flipped < 2) return;
  }
  if (verbose)
    printf("t=%lld node %llu proposes membership %s (in force there: %s)\n", (long long)c.now_us(),
           (unsigned long long)at, to.describe().c_str(), cur.describe().c_str());
  c.propose_config(at, to);
}

// Where --storage puts its LogStore directories: tmpfs when there is one
// (fsync is free there, and the model check is about logic, not disks).
std::string storage_root() {
  const char* t = getenv("TMPDIR");
  std::string base =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : (t && *t ? t : "/tmp");
  std::string tmpl = base + "/pw-sim-storage-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    perror("mkdtemp");
    exit(2);
  }
  return tmpl;
}

SeedResult run_seed(uint64_t seed, int nodes, bool verbose, bool storage) {
  SeedResult res;
  pw::sim::SimRng cfg(seed ^ 0xC0FFEEull);
  ClusterOptions o;
  o.nodes = nodes;
  o.seed = seed;
  o.election_ticks = 10;
  o.heartbeat_ticks = 1 + static_cast<int>(cfg.below(3));
  o.tick_us = 10000;
  o.max_drift = cfg.unit() * 0.2;
  o.compact_every = cfg.chance(0.5) ? static_cast<uint64_t>(cfg.range(3, 40)) : 0;
  o.max_inflight = static_cast<size_t>(cfg.range(1, 16));
  o.max_msg_bytes = cfg.chance(0.3) ? 64 : (1 << 20);
  // Safety must not depend on the optional extensions: some seeds run without.
  o.pre_vote = !cfg.chance(0.1);
  o.check_quorum = !cfg.chance(0.1);
  // Membership changes in half of the seeds; with 5 nodes, half of those
  // start as a 3-member cluster that can grow (3 <-> 5).
  const bool changes = cfg.chance(0.5);
  if (changes && nodes == 5 && cfg.chance(0.5)) o.seed_members = 3;
  const double p_member = changes ? 0.01 + cfg.unit() * 0.04 : 0;
  // Proposals time out as "unknown" after three election timeouts by
  // default; half the seeds wait far longer, so the exact resolution of
  // proposals stranded by partitions (overwritten, superseded) stays
  // exercised too.
  if (cfg.chance(0.5)) o.proposal_timeout_ticks = 100 * o.election_ticks;
  const int64_t election_us = o.election_ticks * o.tick_us;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } cleanup;
  if (storage) o.storage_dir = cleanup.dir = storage_root();

  SimCluster c(o);
  auto& f = c.faults();
  auto draw_faults = [&] {
    f.loss = cfg.unit() * 0.3;
    f.dup = cfg.chance(0.5) ? cfg.unit() * 0.1 : 0;
    f.min_delay_us = 100;
    f.max_delay_us = cfg.range(500, 3 * o.tick_us);
  };
  draw_faults();
  const double p_crash = cfg.unit() * 0.02, p_restart = 0.05, p_partition = cfg.unit() * 0.02,
               p_prop = 0.2 + cfg.unit() * 0.5, p_transfer = cfg.unit() * 0.01;
  uint64_t payload = 0;
  auto next_payload = [&](uint64_t n) {
    char buf[80];  // snprintf: g++ 12 -O2 warns falsely (-Wrestrict) on chained std::string +
    snprintf(buf, sizeof buf, "s%llu-n%llu-p%llu", (unsigned long long)seed, (unsigned long long)n,
             (unsigned long long)++payload);
    return std::string(buf);
  };

  try {
    // ---- chaos ----
    const int slices = 400;  // 400 ticks = 40 nominal election timeouts
    for (int s = 0; s < slices; ++s) {
      if (cfg.chance(p_prop)) {
        if (uint64_t n = random_up(c, nodes)) c.propose(n, next_payload(n));
      }
      if (cfg.chance(p_crash)) {
        if (uint64_t n = random_up(c, nodes)) {
          if (cfg.chance(0.5)) {
            c.crash_during_next_ready(n, static_cast<CrashPoint>(cfg.below(6)));
          } else {
            c.crash(n);
          }
          if (verbose)
            printf("t=%lld crash node %llu\n", (long long)c.now_us(), (unsigned long long)n);
        }
      }
      if (cfg.chance(p_crash / 2)) {  // SIGSTOP: frozen, backlog handled on resume
        if (uint64_t n = random_up(c, nodes)) c.pause(n);
      }
      if (cfg.chance(p_restart)) {
        for (int i = 1; i <= nodes; ++i)
          if (c.up(i) && c.paused(i)) {
            c.resume(i);
            break;
          }
      }
      if (cfg.chance(p_restart)) {
        for (int i = 1; i <= nodes; ++i)
          if (!c.up(i)) {
            c.restart(i);
            if (verbose) printf("t=%lld restart node %d\n", (long long)c.now_us(), i);
            break;
          }
      }
      if (cfg.chance(p_partition)) {
        int kind = static_cast<int>(cfg.below(4));
        if (kind == 0) {
          std::set<uint64_t> g;
          for (int i = 1; i <= nodes; ++i)
            if (cfg.chance(0.5)) g.insert(i);
          c.partition(g);
          ++c.stats().partitions;
        } else if (kind == 1) {
          if (uint64_t l = c.leader()) {
            c.isolate(l);
            ++c.stats().leader_isolations;
          }
        } else if (kind == 2) {
          uint64_t a = 1 + cfg.below(nodes), b = 1 + cfg.below(nodes);
          if (a != b) {
            c.cut(a, b);
            ++c.stats().asym_partitions;
          }
        } else {
          c.heal_network();
        }
        if (verbose) printf("t=%lld network kind=%d\n", (long long)c.now_us(), kind);
      }
      if (cfg.chance(0.01)) draw_faults();
      if (cfg.chance(p_member)) {
        if (uint64_t n = random_up(c, nodes)) change_membership(c, cfg, n, nodes, verbose);
      }
      if (cfg.chance(p_transfer)) {
        if (uint64_t l = c.leader()) c.transfer_leadership(l, 1 + cfg.below(nodes));
      }
      c.run_for(o.tick_us);
    }

    // ---- heal: liveness must follow within bounded time ----
    c.heal_network();
    f.loss = 0;
    f.dup = 0;
    f.max_delay_us = 2000;
    c.disarm_crashes();
    for (int i = 1; i <= nodes; ++i) {
      c.resume(i);
      c.restart(i);
    }
    const int64_t bound = 10 * 2 * election_us;  // 10 worst-case randomized election timeouts
    if (!c.run_until([&] { return c.leader() != 0; }, bound))
      throw SimViolation("liveness: no leader within 10 election timeouts after healing");
    // A proposal at the current leader must commit; the leader may still
    // change once or twice while the healed cluster settles, so retry.
    bool committed = false;
    for (int attempt = 0; attempt < 5 && !committed; ++attempt) {
      uint64_t l = c.leader();
      if (l == 0) {
        c.run_until([&] { return c.leader() != 0; }, bound);
        continue;
      }
      std::string data = next_payload(l);
      c.propose(l, data);
      committed = c.run_until([&] { return c.committed_index_of(data) != 0; }, bound / 5);
    }
    if (!committed)
      throw SimViolation("liveness: a proposal at the leader did not commit after healing");
    if (!c.run_until([&] { return c.converged(); }, bound))
      throw SimViolation("liveness: nodes did not converge on the committed log after healing");
    c.check_proposal_fates();
  } catch (const SimViolation& e) {
    res.ok = false;
    res.error = e.what();
    if (verbose) printf("%s", c.describe().c_str());
  } catch (const std::exception& e) {  // e.g. LogStore refusing an operation
    res.ok = false;
    res.error = std::string("exception: ") + e.what();
    if (verbose) printf("%s", c.describe().c_str());
  }
  res.stats = c.stats();
  return res;
}

void print_stats(const SimStats& s) {
  printf(
      "faults exercised: messages delivered=%llu lost=%llu duplicated=%llu cut_by_partition=%llu; "
      "partitions=%llu one_way_cuts=%llu leader_isolations=%llu; crashes=%llu (mid-Ready=%llu) "
      "restarts=%llu pauses=%llu; "
      "leaders_elected=%llu transfers=%llu; snapshots sent=%llu installed=%llu compactions=%llu; "
      "proposals=%llu committed=%llu dropped=%llu unknown=%llu; "
      "membership changes proposed=%llu committed=%llu\n",
      (unsigned long long)s.delivered, (unsigned long long)s.lost, (unsigned long long)s.duplicated,
      (unsigned long long)s.cut, (unsigned long long)s.partitions,
      (unsigned long long)s.asym_partitions, (unsigned long long)s.leader_isolations,
      (unsigned long long)s.crashes, (unsigned long long)s.torn_crashes,
      (unsigned long long)s.restarts, (unsigned long long)s.pauses, (unsigned long long)s.elections,
      (unsigned long long)s.transfers, (unsigned long long)s.snapshots_sent,
      (unsigned long long)s.snapshots_installed, (unsigned long long)s.compactions,
      (unsigned long long)s.proposals, (unsigned long long)s.committed,
      (unsigned long long)s.dropped, (unsigned long long)s.unknown,
      (unsigned long long)s.config_proposals, (unsigned long long)s.config_committed);
}

}  // namespace

int main(int argc, char** argv) {
  long long one_seed = -1;
  int nodes = 0;
  bool verbose = false, storage = false;
  const char* env = getenv("PW_SIM_SEEDS");
  long long count = env && *env ? atoll(env) : 10000;
  // A new random base every run, as sim_ha: the CI explores new seeds
  // instead of rerunning the same ones; a failure prints its replay.
  uint64_t base =
      static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000000000ull;
  if (const char* first_env = getenv("PW_SIM_FIRST_SEED"); first_env && *first_env)
    base = strtoull(first_env, nullptr, 10);
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      one_seed = atoll(argv[++i]);
    } else if (!strcmp(argv[i], "--base") && i + 1 < argc) {
      base = strtoull(argv[++i], nullptr, 10);
    } else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
      count = atoll(argv[++i]);
    } else if (!strcmp(argv[i], "--nodes") && i + 1 < argc) {
      nodes = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "-v")) {
      verbose = true;
    } else if (!strcmp(argv[i], "--storage")) {
      storage = true;
    } else {
      fprintf(stderr,
              "usage: %s [--storage] [--base B] [--seeds N] | [--storage] --seed S --nodes N [-v]  "
              "(env PW_SIM_SEEDS=count, PW_SIM_FIRST_SEED=base)\n",
              argv[0]);
      return 2;
    }
  }
  pw::log_set_level(verbose ? pw::LogLevel::info : pw::LogLevel::error);
  if (one_seed >= 0) {
    int n = nodes ? nodes : 3;
    SeedResult r = run_seed(static_cast<uint64_t>(one_seed), n, verbose, storage);
    print_stats(r.stats);
    if (!r.ok) {
      printf("FAILED seed=%lld nodes=%d: %s\n", one_seed, n, r.error.c_str());
      printf("0 passed, 1 failed\n");
      return 1;
    }
    printf("seed=%lld nodes=%d ok\n1 passed, 0 failed\n", one_seed, n);
    return 0;
  }
  printf("sim_consensus: base seed %llu, %lld seeds (odd: 3 nodes, even: 5 nodes)%s\n",
         (unsigned long long)base, count, storage ? ", real LogStore mirrored and model-checked" : "");
  fflush(stdout);
  SimStats total;
  long long passed = 0, failed = 0;
  for (long long i = 0; i < count; ++i) {
    uint64_t s = base + static_cast<uint64_t>(i);
    int n = (s % 2) ? 3 : 5;
    SeedResult r = run_seed(s, n, false, storage);
    total.add(r.stats);
    if (r.ok) {
      ++passed;
    } else {
      ++failed;
      printf("FAILED seed=%llu nodes=%d: %s\n  replay: %s%s --seed %llu --nodes %d -v\n", (unsigned long long)s, n,
             r.error.c_str(), argv[0], storage ? " --storage" : "", (unsigned long long)s, n);
      fflush(stdout);
      if (failed >= 10) break;
    }
  }
  printf("sim_consensus: %lld seeds from base seed %llu (odd: 3 nodes, even: 5 nodes)%s\n", passed + failed,
         (unsigned long long)base, storage ? ", real LogStore mirrored and model-checked" : "");
  print_stats(total);
  printf("%lld passed, %lld failed\n", passed, failed);
  return failed ? 1 : 0;
}
