// bench/raft/bench_raft_main.cc — `bench_raft`: commit latency and
// throughput of a three-node RaftNode cluster on loopback (127.0.3.91-93)
// with fsync on, printed beside the fsync latency of the same filesystem
// measured in the same run (the floor: a commit needs the leader's append
// fsync'ed before it sends, then a follower's, one after the other).
//
// Usage: bench_raft [--dir DIR] [--proposals N] [--window W] [--size BYTES]
//                   [--fsync-samples N] [--commit-persist-ms MS]
// DIR defaults to $TMPDIR (or /tmp); it must be on the disk to measure.
// Not a test: it prints figures and never fails on a threshold.
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "consensus/raft_node.h"
#include "consensus/state_machine.h"

using namespace pw::consensus;

namespace {

// An event_base on its own thread; run() executes a function there.
class Loop {
 public:
  Loop()
      : base_(event_base_new()),
        thread_([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); }) {}
  ~Loop() {
    event_base_loopbreak(base_);
    thread_.join();
    event_base_free(base_);
  }
  event_base* base() const { return base_; }
  template <class F>
  auto run(F f) -> decltype(f()) {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    auto fut = task->get_future();
    auto* fn = new std::function<void()>([task] { (*task)(); });
    timeval zero{0, 0};
    event_base_once(
        base_, -1, EV_TIMEOUT,
        [](int, short, void* a) {
          auto* f = static_cast<std::function<void()>*>(a);
          (*f)();
          delete f;
        },
        fn, &zero);
    return fut.get();
  }

 private:
  event_base* base_;
  std::thread thread_;
};

class CountingSM : public StateMachine {
 public:
  void apply(uint64_t, const std::string& d) override { bytes += d.size(); }
  std::string snapshot() const override { return std::to_string(bytes); }
  bool restore(const std::string& s) override {
    bytes = strtoull(s.c_str(), nullptr, 10);
    return true;
  }
  uint64_t bytes = 0;
};

struct Percentiles {
  double p10, p50, p99, max;
};
Percentiles percentiles(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return static_cast<double>(v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]);
  };
  return {at(0.10), at(0.50), at(0.99), static_cast<double>(v.back())};
}

// The floor: append `size` bytes to a file and fsync it, `n` times.
Percentiles measure_fsync(const std::string& dir, int n, size_t size) {
  std::string path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    perror(path.c_str());
    exit(1);
  }
  std::string buf(size + 12, 'f');  // a log record: payload plus its header
  std::vector<int64_t> us;
  for (int i = 0; i < n; ++i) {
    int64_t t0 = pw::mono_us();
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) ||
        ::fsync(fd) != 0) {
      perror("write/fsync");
      exit(1);
    }
    us.push_back(pw::mono_us() - t0);
  }
  ::close(fd);
  ::unlink(path.c_str());
  return percentiles(us);
}

struct Node {
  Loop loop;
  CountingSM sm;
  std::unique_ptr<RaftNode> raft;
};

// Keeps `window` proposals in flight on the leader until `total` committed;
// returns per-proposal latencies (µs) and the elapsed time.
struct RunResult {
  std::vector<int64_t> latency_us;
  int64_t elapsed_us = 0;
  uint64_t failed = 0;
};
RunResult run_load(Node& leader, int total, int window, size_t size) {
  struct State {
    RaftNode* raft;
    int total, issued = 0, done = 0;
    std::string payload;
    RunResult res;
    std::promise<void> finished;
    std::function<void()> issue;
  };
  auto st = std::make_shared<State>();
  st->raft = leader.raft.get();
  st->total = total;
  st->payload.assign(size, 'p');
  st->res.latency_us.reserve(total);
  st->issue = [s = st.get()] {
    int64_t t0 = pw::mono_us();
    ++s->issued;
    s->raft->propose(s->payload, [s, t0](const ProposalResult& r) {
      s->res.latency_us.push_back(pw::mono_us() - t0);
      if (!r.committed) ++s->res.failed;
      if (++s->done == s->total) {
        s->finished.set_value();
      } else if (s->issued < s->total) {
        s->issue();
      }
    });
  };
  auto fut = st->finished.get_future();
  int64_t start = pw::mono_us();
  leader.loop.run([&] {
    for (int i = 0; i < window && st->issued < total; ++i) st->issue();
    return 0;
  });
  fut.wait();
  st->res.elapsed_us = pw::mono_us() - start;
  return st->res;
}

void print_run(const char* name, const RunResult& r, int window) {
  Percentiles p = percentiles(r.latency_us);
  double per_s = r.latency_us.size() * 1e6 / static_cast<double>(r.elapsed_us);
  printf(
      "raft %-10s window=%-3d proposals=%zu  commit latency p10=%.0f us p50=%.0f us p99=%.0f us "
      "max=%.0f us  throughput=%.0f proposals/s  failed=%llu\n",
      name, window, r.latency_us.size(), p.p10, p.p50, p.p99, p.max, per_s,
      static_cast<unsigned long long>(r.failed));
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = getenv("TMPDIR");
  std::string base_dir = tmp && *tmp ? tmp : "/tmp";
  int proposals = 20000, window = 64, size = 128, fsync_samples = 1000;
  int64_t commit_persist_ms = RaftOptions{}.commit_persist_interval_ms;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir")
      base_dir = argv[i + 1];
    else if (a == "--proposals")
      proposals = atoi(argv[i + 1]);
    else if (a == "--window")
      window = atoi(argv[i + 1]);
    else if (a == "--size")
      size = atoi(argv[i + 1]);
    else if (a == "--fsync-samples")
      fsync_samples = atoi(argv[i + 1]);
    else if (a == "--commit-persist-ms")
      commit_persist_ms = atoll(argv[i + 1]);
    else {
      fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::string dir = base_dir + "/bench-raft-XXXXXX";
  if (!mkdtemp(dir.data())) {
    perror("mkdtemp");
    return 1;
  }
  pw::log_set_level(pw::LogLevel::warn);
  evthread_use_pthreads();

  printf(
      "bench_raft: 3 nodes on 127.0.3.91-93, state in %s, payload %d bytes, fsync on, "
      "commit_persist_interval_ms=%lld\n",
      dir.c_str(), size, static_cast<long long>(commit_persist_ms));
  Percentiles f = measure_fsync(dir, fsync_samples, static_cast<size_t>(size));
  printf(
      "disk fsync (append %d B + fsync, same filesystem, %d samples): p10=%.0f us p50=%.0f us "
      "p99=%.0f us max=%.0f us\n",
      size + 12, fsync_samples, f.p10, f.p50, f.p99, f.max);
  printf(
      "floor for one commit: the leader's fsync, then the faster follower's fsync (~2 x p50 = %.0f "
      "us)\n",
      2 * f.p50);

  std::vector<Peer> peers = {{1, "b91", "127.0.3.91", 5010},
                             {2, "b92", "127.0.3.92", 5010},
                             {3, "b93", "127.0.3.93", 5010}};
  std::vector<std::unique_ptr<Node>> nodes;
  for (const Peer& p : peers) {
    auto n = std::make_unique<Node>();
    RaftOptions o;
    o.cluster_name = "bench";
    o.self_id = p.id;
    o.peers = peers;
    o.state_dir = dir + "/" + p.name;
    o.tick_ms = 50;
    o.election_ticks = 20;
    o.snapshot_entries = 10000;
    o.commit_persist_interval_ms = commit_persist_ms;
    n->loop.run([&] {
      n->raft = RaftNode::open(n->loop.base(), o, &n->sm);
      n->raft->start();
      return 0;
    });
    nodes.push_back(std::move(n));
  }
  Node* leader = nullptr;
  for (int i = 0; i < 3000 && !leader; ++i) {
    for (auto& n : nodes)
      if (n->loop.run([&] { return n->raft->is_leader(); })) leader = n.get();
    if (!leader) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!leader) {
    fprintf(stderr, "no leader elected within 30 s\n");
    return 1;
  }
  run_load(*leader, 500, 1, static_cast<size_t>(size));  // warm-up
  int seq = std::max(1, proposals / 10);
  print_run("sequential", run_load(*leader, seq, 1, static_cast<size_t>(size)), 1);
  print_run("pipelined", run_load(*leader, proposals, window, static_cast<size_t>(size)), window);

  Percentiles f2 = measure_fsync(dir, fsync_samples, static_cast<size_t>(size));
  printf("disk fsync again after the raft runs: p10=%.0f us p50=%.0f us p99=%.0f us max=%.0f us\n",
         f2.p10, f2.p50, f2.p99, f2.max);

  for (auto& n : nodes)
    n->loop.run([&] {
      n->raft.reset();
      return 0;
    });
  nodes.clear();
  std::filesystem::remove_all(dir);
  return 0;
}
